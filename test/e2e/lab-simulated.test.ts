import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../lab/lab.ts';
import { createMemoryDirectory, readDirectoryFile } from '../../sim/memory-directory.ts';
import type { DirectoryUser } from '../../src/domain/ports/directory.ts';
import { isAppError } from '../../src/domain/errors.ts';
import { allText, approvalOutcome, cardsOf, disableAction, freePort, lookupInPersonalChat, playgroundInstalled, threadOf, type PlaygroundConfig, type PlaygroundStream, type StreamEvent } from '../../sim/teams/playground.ts';

/**
 * `LAB_DIRECTORY=simulated`: the lab on a machine without Samba. The bot process
 * (lab/bot-entry.ts) acts on the in-memory directory seeded with the lab's people, so the
 * whole containment flow works there too: the first card offers "Disable AD account", Approve
 * disables the account in that directory (read back from the file the bot writes, and from the
 * bot's own `lookup`), the result is threaded and the card updated. Needs no Samba and no
 * browser: it runs in CI everywhere, in well under a minute.
 */

const CI = Boolean(process.env.CI);
const STEP_MS = 20_000;
const suite = !playgroundInstalled() && !CI ? describe.skip : describe;

suite('npm run lab with LAB_DIRECTORY=simulated: the bot acts on the in-memory directory', () => {
  let lab: Lab;
  let stream: PlaygroundStream;
  let config: PlaygroundConfig;
  let workDir = '';
  let startedAt = 0;
  let firstCard: StreamEvent | undefined;
  const isBot = (e: StreamEvent) => e.message.from?.id === config.bot.id;

  beforeAll(async () => {
    if (!playgroundInstalled()) throw new Error('the Agents Playground is not installed (npm install)');
    workDir = mkdtempSync(join(tmpdir(), 'incident-bot-lab-simulated-'));
    startedAt = Date.now();
    lab = await startLab({
      dir: workDir,
      playgroundPort: await freePort(),
      botPort: await freePort(),
      directory: 'simulated',
      attack: false,
      // One detection, at once: the first card is one that offers "Disable AD account".
      attackPlan: [{ at: 0, kind: 'passTheHash', who: 'victim', what: 'pass-the-hash with the victim account' }],
      pollIntervalSeconds: 5,
    });
    config = await lab.playground.client.config();
    stream = await lab.playground.client.stream();
    lab.startAttack();
  }, 60_000);

  afterAll(async () => {
    stream?.close();
    const stopping = Date.now();
    await lab?.stop();
    console.info(`[e2e-simulated] lab stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 30_000);

  it('runs the bot on the simulated directory (lab/bot-entry.ts), seeded with the people of the tenant', async () => {
    expect(lab.directory.kind).toBe('simulated');
    if (lab.directory.kind !== 'simulated') return;
    expect(lab.directory.botEntry).toMatch(/lab\/bot-entry\.ts$/);
    expect(lab.directory.botEnv.LAB_DIRECTORY_FILE).toBe(lab.directory.file);
    const victim = lab.tenant.victim;
    const before = await lab.directory.directory.getUser({ samAccountName: victim.onPremisesSamAccountName as string });
    expect(before.sid).toBe(victim.onPremisesSecurityIdentifier);
    expect(before.enabled).toBe(true);
    expect(readDirectoryFile(lab.directory.file).users).toHaveLength(lab.tenant.bySam.size);
  });

  it('posts a first card in the SOC channel that offers "Disable AD account", with the simulated-directory footer', async () => {
    firstCard = await stream.waitFor(
      'the first alert card from the bot in the SOC channel',
      (e) => e.action === 'createMessage' && isBot(e) && e.actionConversationId === lab.socChannelId && cardsOf(e.message).length > 0,
      STEP_MS,
    );
    console.info(`[e2e-simulated] first card ${((firstCard.receivedAt - startedAt) / 1000).toFixed(1)} s after the lab started`);
    const action = disableAction(firstCard);
    expect(action?.title).toMatch(/disable ad account/i);
    const text = allText(firstCard);
    expect(text).toContain(lab.tenant.victim.onPremisesSamAccountName as string);
    expect(text).toContain('lab: simulated directory');
  }, STEP_MS + 5_000);

  it('Approve disables the account in the in-memory directory, threads the result and updates the card', async () => {
    if (!firstCard) throw new Error('no first card (see the previous test)');
    const sam = lab.tenant.victim.onPremisesSamAccountName as string;
    const thread = threadOf(firstCard);
    const clickedAt = Date.now();
    const response = await lab.playground.client.invoke({ conversationId: thread, replyToId: firstCard.message.messageId, verb: 'approve', data: disableAction(firstCard)?.data ?? {} });
    expect(JSON.stringify(response)).not.toMatch(/application\/vnd\.microsoft\.error/);

    const { result, updated } = await approvalOutcome({ stream, card: firstCard, sam, botId: config.bot.id, clickedAt, stepMs: STEP_MS });
    expect(allText(result)).toContain(config.currentUser.name);
    expect(allText(updated)).toMatch(/approved|disabled/i);

    // Read back what the bot process holds (it writes every change to the lab's file).
    const user = await lab.directory.directory.getUser({ samAccountName: sam });
    expect(user.enabled).toBe(false);
    expect(user.userAccountControl & 0x2).toBe(0x2);
    // Nobody else was touched.
    const others = (await Promise.all(lab.directory.users.map((u) => lab.directory.directory.getUser({ sid: u.sid })))).filter((u) => u.samAccountName !== sam);
    expect(others.map((u) => [u.samAccountName, u.enabled])).toEqual(lab.directory.users.filter((u) => u.samAccountName !== sam).map((u) => [u.samAccountName, u.enabled]));
  }, 2 * STEP_MS + 5_000);

  it('`lookup` in personal chat reads the account back from the bot\'s directory: disabled', async () => {
    const sam = lab.tenant.victim.onPremisesSamAccountName as string;
    const answer = await lookupInPersonalChat({ client: lab.playground.client, stream, config, who: sam, stepMs: STEP_MS });
    const text = allText(answer);
    expect(text).toContain(lab.tenant.victim.displayName);
    expect(text).toMatch(/disabled/i);
    console.info(`[e2e-simulated] done ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the lab started`);
  }, STEP_MS + 5_000);
});

describe('the in-memory directory (sim/memory-directory.ts) answers like the LDAP adapter', () => {
  const base = 'DC=corp,DC=example,DC=test';
  const person = (sam: string, displayName: string, rid: number, extra: Partial<DirectoryUser> = {}): DirectoryUser => ({
    dn: `CN=${displayName.replace(',', '\\,')},OU=Staff,${base}`,
    sid: `S-1-5-21-1-2-3-${rid}`,
    objectGuid: `00000000-0000-0000-0000-${String(rid).padStart(12, '0')}`,
    samAccountName: sam,
    userPrincipalName: `${sam}@corp.example.test`,
    displayName,
    mail: `${sam}@corp.example.test`,
    enabled: true,
    locked: false,
    pwdLastSet: '2026-01-05T08:00:00.000Z',
    mustChangePassword: false,
    lastLogon: null,
    ou: `OU=Staff,${base}`,
    userAccountControl: 0x200 | 0x10000, // normal account, password never expires
    adminCount: 0,
    privilegedGroups: [],
    memberOf: [],
    ...extra,
  });
  const seed = () => [person('jdoe', 'John Doe', 1103), person('jdoering', 'John Doering', 1104), person('jadoe', 'Doe, Jane', 1105, { locked: true })];
  const code = async (p: Promise<unknown>) => p.then(() => 'resolved', (error: unknown) => (isAppError(error) ? error.code : String(error)));

  it('finds by sam, DOMAIN\\sam, UPN, SID and part of the name; another domain finds nothing', async () => {
    const dir = createMemoryDirectory({ users: seed(), baseDn: base, netbiosDomain: 'CORP' });
    expect((await dir.findUsers('JDOE')).map((u) => u.samAccountName)).toEqual(['jdoe']);
    expect((await dir.findUsers('corp\\jdoering')).map((u) => u.samAccountName)).toEqual(['jdoering']);
    expect((await dir.findUsers('OTHER\\jdoe')).length).toBe(0);
    expect((await dir.findUsers('jdoe@corp.example.test')).map((u) => u.samAccountName)).toEqual(['jdoe']);
    expect((await dir.findUsers('S-1-5-21-1-2-3-1105')).map((u) => u.samAccountName)).toEqual(['jadoe']);
    expect((await dir.findUsers('doe')).map((u) => u.samAccountName)).toEqual(['jdoe', 'jdoering', 'jadoe']);
    expect((await dir.findUsers('doe', 2)).length).toBe(2);
    expect((await dir.findUsers('*')).length).toBe(0); // a literal, never a wildcard
    expect(await code(dir.findUsers('  '))).toBe('INPUT_INVALID');
  });

  it('refuses bad references and names the missing or ambiguous account as the adapter does', async () => {
    const dir = createMemoryDirectory({ users: [...seed(), person('jdoe2', 'John Doe', 1106, { userPrincipalName: 'jdoe@corp.example.test' })], baseDn: base, netbiosDomain: 'CORP' });
    expect(await code(dir.getUser({}))).toBe('INPUT_INVALID');
    expect(await code(dir.getUser({ sid: 'S-1-x' }))).toBe('INPUT_INVALID');
    expect(await code(dir.getUser({ dn: 'CN=John Doe,OU=Staff,DC=other,DC=test' }))).toBe('INPUT_INVALID');
    expect(await code(dir.getUser({ samAccountName: 'nobody' }))).toBe('DIRECTORY_NO_SUCH_OBJECT');
    expect(await code(dir.getUser({ samAccountName: 'jdoe', sid: 'S-1-5-21-1-2-3-1104' }))).toBe('DIRECTORY_NO_SUCH_OBJECT');
    expect(await code(dir.getUser({ userPrincipalName: 'jdoe@corp.example.test' }))).toBe('CONFLICT');
    expect((await dir.getUser({ dn: 'CN=Doe\\, Jane, OU=Staff, DC=corp, DC=example, DC=test' })).samAccountName).toBe('jadoe');
  });

  it('disables and enables idempotently keeping the other flags, unlocks, resets passwords, and reports every change', async () => {
    const changes: DirectoryUser[][] = [];
    const dir = createMemoryDirectory({ users: seed(), baseDn: base, netbiosDomain: 'CORP', onChange: (users) => changes.push(users), now: () => new Date('2026-02-01T00:00:00Z') });
    const disabled = await dir.disableAccount({ samAccountName: 'jdoe' });
    expect([disabled.enabled, disabled.userAccountControl]).toEqual([false, 0x200 | 0x10000 | 0x2]);
    expect((await dir.disableAccount({ samAccountName: 'jdoe' })).userAccountControl).toBe(0x200 | 0x10000 | 0x2);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.find((u) => u.samAccountName === 'jdoe')?.enabled).toBe(false);
    expect((await dir.enableAccount({ samAccountName: 'jdoe' })).userAccountControl).toBe(0x200 | 0x10000);
    expect((await dir.unlockAccount({ samAccountName: 'jadoe' })).locked).toBe(false);
    const password = await dir.resetPassword({ samAccountName: 'jdoering' }, { mustChangeAtNextLogon: true });
    expect(password.reveal()).toMatch(/^.{24}$/);
    expect(password.reveal().toLowerCase()).not.toContain('jdoering');
    expect(await dir.getUser({ samAccountName: 'jdoering' })).toMatchObject({ mustChangePassword: true, pwdLastSet: null });
    expect(changes).toHaveLength(4);
    // Callers get copies: changing one changes nothing inside.
    (await dir.getUser({ samAccountName: 'jdoe' })).enabled = false;
    expect((await dir.getUser({ samAccountName: 'jdoe' })).enabled).toBe(true);
  });

  it('fails with DIRECTORY_UNAVAILABLE while "down", after checking the input', async () => {
    const dir = createMemoryDirectory({ users: seed(), baseDn: base, netbiosDomain: 'CORP' });
    dir.setAvailable(false);
    expect(await code(dir.ping())).toBe('DIRECTORY_UNAVAILABLE');
    expect(await code(dir.disableAccount({ samAccountName: 'jdoe' }))).toBe('DIRECTORY_UNAVAILABLE');
    expect(await code(dir.getUser({}))).toBe('INPUT_INVALID');
    dir.setAvailable(true);
    await expect(dir.ping()).resolves.toBeUndefined();
  });
});
