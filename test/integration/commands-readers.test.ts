import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { AuditRecord } from '../../src/domain/ports/audit-log.ts';
import { ALICE_USER, BOB_USER, channelMention, personalMessage, targetedSlashCommand, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import type { SentRecord } from '../../sim/teams/bot-connector-server.ts';
import { addGroup, addUser, type TenantGroup } from '../../sim/tenant.ts';
import { MALLORY_USER, type BotHarness, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 9, readers: the read commands (`lookup`, `alerts`, `pending`, `history`, `status`) are
 * for readers (READER_GROUP_IDS / READER_USER_IDS) and approvers only, every lookup is audited,
 * and lookups are rate-limited per person. Written as attacks, through the real bot
 * (startIncidentBot, /api/messages with Teams-shaped activities), the Samba AD DC, the local
 * Graph (group membership) and the local connector, which records everything the bot sent.
 */

let h: BotHarness;
let readers: TenantGroup;
/** In the reader group, not an approver. */
const DAVE_USER: TeamsUser = { id: '29:1dave-teams-user-id', name: 'Dave Reader', aadObjectId: '4d4d4d4d-1111-4222-8333-444455556666' };
/** In a group nested in the reader group. */
const ERIN_USER: TeamsUser = { id: '29:1erin-teams-user-id', name: 'Erin Nightshift', aadObjectId: '4e4e4e4e-1111-4222-8333-444455556666' };
const { bots, bot } = useBotE2e((harness) => {
  h = harness;
  const dave = addUser(h.demo.tenant, { name: 'dave.reader', id: DAVE_USER.aadObjectId, synced: false });
  const erin = addUser(h.demo.tenant, { name: 'erin.nightshift', id: ERIN_USER.aadObjectId, synced: false });
  // Erin is a reader through a nested group (membership is transitive).
  const nightShift = addGroup(h.demo.tenant, { displayName: 'Night Shift', members: [erin] });
  readers = addGroup(h.demo.tenant, { displayName: 'SOC Readers', members: [dave, nightShift] });
});

const READ_COMMANDS = ['lookup', 'pending', 'history', 'alerts', 'status'] as const;
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** Everything the bot sent (messages, cards, typing, updates) from index `from` on. */
function sentSince(from: number): SentRecord[] {
  return h.connector.sent.slice(from);
}

function textOf(record: SentRecord | undefined): string {
  return String(record?.activity?.text ?? '');
}

/** A 1:1 chat the bot opened with `user` (create + send), or a targeted reply to them: never seen by anyone else. */
function isPrivateTo(record: SentRecord, user: TeamsUser): boolean {
  const recipient = record.activity?.recipient as { id?: string } | undefined;
  if (record.targeted) return recipient?.id === user.id;
  return record.conversationId === `a:1${Buffer.from(user.id).toString('base64url')}` || (record.kind === 'create' && !record.channelId);
}

/** Sends `text` as `user` and waits until the bot has answered (a message, not a typing indicator), then a little more. */
async function ask(b: TestBot, user: TeamsUser, text: string, where: 'channel' | 'personal' | 'slash' = 'channel'): Promise<SentRecord[]> {
  const from = h.connector.sent.length;
  const activity =
    where === 'slash' ? targetedSlashCommand(b.ctx, { user, text: `/${text}` }) : where === 'personal' ? personalMessage(b.ctx, { user, text }) : channelMention(b.ctx, { user, command: text });
  expect((await h.post(b, activity)).status).toBe(200);
  await h.waitFor(`an answer to ${text}`, () => sentSince(from).some((r) => r.activity?.type === 'message'));
  await settle();
  return sentSince(from);
}

/** The one private refusal, and nothing else: no card, no data, no typing, nothing in the channel. */
function expectOnlyRefusal(sent: SentRecord[], user: TeamsUser, command: string): void {
  const messages = sent.filter((r) => r.kind !== 'create');
  expect(messages.map(textOf)).toEqual([expect.stringMatching(new RegExp(`^Only readers and approvers may use \`${command}\`; nothing was shown\\.`))]);
  expect(messages[0]!.activity?.attachments).toBeUndefined();
  expect(sent.every((r) => isPrivateTo(r, user))).toBe(true);
}

async function auditOf(databaseUrl: string, b: TestBot): Promise<AuditRecord[]> {
  // The bot's own store, read back once it stopped.
  bots.splice(bots.indexOf(b), 1);
  await b.stop();
  const store = await openStore({ databaseUrl, logger: captureLogger('warn').logger });
  try {
    return await store.listAudit({ limit: 200 });
  } finally {
    await store.close();
  }
}

const sqliteUrl = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'readers-')), 'bot.db')}`;

describe('who may read', () => {
  it('a non-reader gets one private refusal for lookup, pending, history, alerts and status, and nothing else; each attempt is audited', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('rdrvictim');
    const databaseUrl = sqliteUrl();
    const b = await bot({ READER_GROUP_IDS: readers.id, DATABASE_URL: databaseUrl });
    const args: Record<(typeof READ_COMMANDS)[number], string> = { lookup: `${h.samba.domain}\\${p.sam}`, history: p.sam, pending: '', alerts: '', status: '' };
    for (const command of READ_COMMANDS) {
      // In the channel (@mention): targeted at Mallory only, nothing in the thread.
      const inChannel = await ask(b, MALLORY_USER, `${command} ${args[command]}`.trim());
      expectOnlyRefusal(inChannel, MALLORY_USER, command);
      expect(inChannel.every((r) => r.targeted)).toBe(true);
    }
    // The same as a slash command and in a personal chat; `whois` is `lookup`.
    expectOnlyRefusal(await ask(b, MALLORY_USER, `whois ${p.sam}`, 'slash'), MALLORY_USER, 'lookup');
    expectOnlyRefusal(await ask(b, MALLORY_USER, `lookup ${p.sam}`, 'personal'), MALLORY_USER, 'lookup');
    // Nothing about the person went anywhere.
    expect(JSON.stringify(h.connector.sent)).not.toContain(`E2E ${p.sam}`);
    // help stays open to everyone.
    const help = await ask(b, MALLORY_USER, 'help', 'personal');
    expect(textOf(help.find((r) => r.activity?.type === 'message'))).toContain('**lookup**');

    const refused = (await auditOf(databaseUrl, b)).filter((e) => e.action === 'read.unauthorized').reverse();
    expect(refused.map((e) => [e.actor, e.outcome, e.details?.attempted])).toEqual([
      ...READ_COMMANDS.map((command) => [MALLORY_USER.aadObjectId, 'refused', command]),
      [MALLORY_USER.aadObjectId, 'refused', 'lookup'],
      [MALLORY_USER.aadObjectId, 'refused', 'lookup'],
    ]);
  });

  it('a display name is not an identity: Mallory calling herself "Alice Example" is still refused', async (ctx) => {
    requireSamba(ctx);
    const b = await bot({ READER_GROUP_IDS: readers.id });
    const disguised: TeamsUser = { ...MALLORY_USER, name: ALICE_USER.name };
    expectOnlyRefusal(await ask(b, disguised, 'alerts'), disguised, 'alerts');
    // Alice's Teams id with no Entra object id: nothing to check membership on, so no.
    const noAad = { id: ALICE_USER.id, name: ALICE_USER.name } as TeamsUser;
    expectOnlyRefusal(await ask(b, noAad, 'status', 'personal'), noAad, 'status');
  });

  it('a member of the reader group may read; an approver may too; each lookup is in the person\'s history, in words', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('rdrseen');
    const databaseUrl = sqliteUrl();
    const b = await bot({ READER_GROUP_IDS: readers.id, DATABASE_URL: databaseUrl });

    const byDave = await ask(b, DAVE_USER, `lookup ${h.samba.domain}\\${p.sam}`, 'personal');
    expect(JSON.stringify(byDave)).toContain(`E2E ${p.sam}`);
    expect(byDave.find((r) => r.activity?.type === 'message')?.activity?.attachments).toBeDefined();
    const status = await ask(b, DAVE_USER, 'status', 'personal');
    expect(textOf(status.find((r) => r.activity?.type === 'message'))).toContain('**Store**: reachable');
    const byAlice = await ask(b, ALICE_USER, `whois ${p.upn}`, 'personal');
    expect(JSON.stringify(byAlice)).toContain(`E2E ${p.sam}`);

    const history = await ask(b, ALICE_USER, `history ${h.samba.domain}\\${p.sam}`, 'personal');
    const lines = textOf(history.find((r) => r.activity?.type === 'message')).split('\n\n').slice(1);
    expect(lines).toEqual([expect.stringMatching(/^- .+ UTC · looked up by Alice Example$/), expect.stringMatching(/^- .+ UTC · looked up by Dave Reader$/)]);

    const reads = (await auditOf(databaseUrl, b)).filter((e) => e.action === 'lookup.read').reverse();
    expect(reads.map((e) => [e.actor, e.outcome, e.accountKey, e.target])).toEqual([
      [DAVE_USER.aadObjectId, 'info', `sid:${p.sid.toLowerCase()}`, `${h.samba.domain}\\${p.sam}`],
      [ALICE_USER.aadObjectId, 'info', `sid:${p.sid.toLowerCase()}`, `${h.samba.domain}\\${p.sam}`],
    ]);
  });

  it('with no reader configured only approvers may read: the reader group\'s member is refused, the approver answered', async (ctx) => {
    requireSamba(ctx);
    const b = await bot();
    expectOnlyRefusal(await ask(b, DAVE_USER, 'alerts', 'personal'), DAVE_USER, 'alerts');
    expectOnlyRefusal(await ask(b, MALLORY_USER, 'pending'), MALLORY_USER, 'pending');
    const alice = await ask(b, ALICE_USER, 'alerts', 'personal');
    expect(textOf(alice.find((r) => r.activity?.type === 'message'))).toMatch(/^(No open MDI alerts\.|Open MDI alerts)/);
  });

  it('membership of the reader group is transitive: a member of a nested group may read', async (ctx) => {
    requireSamba(ctx);
    const b = await bot({ READER_GROUP_IDS: readers.id });
    const erin = await ask(b, ERIN_USER, 'status', 'personal');
    expect(textOf(erin.find((r) => r.activity?.type === 'message'))).toContain('**Store**: reachable');
  });

  it('READER_USER_IDS names readers one by one', async (ctx) => {
    requireSamba(ctx);
    const b = await bot({ READER_USER_IDS: MALLORY_USER.aadObjectId });
    const mallory = await ask(b, MALLORY_USER, 'status', 'personal');
    expect(textOf(mallory.find((r) => r.activity?.type === 'message'))).toContain('**Store**: reachable');
    expectOnlyRefusal(await ask(b, DAVE_USER, 'status', 'personal'), DAVE_USER, 'status');
  });

  it('when group membership cannot be checked, the answer is no, and says why', async (ctx) => {
    requireSamba(ctx);
    const b = await bot({ READER_GROUP_IDS: readers.id });
    // 403: the app lacks GroupMember.Read.All (not retried, unlike a 503).
    h.graph.faults.push({ status: 403, times: Infinity, match: (req) => req.path.includes('/checkMemberGroups') });
    try {
      const sent = await ask(b, DAVE_USER, 'alerts', 'personal');
      expect(sent.map(textOf)).toEqual([expect.stringMatching(/^I could not check whether you may use `alerts` \(Entra ID did not tell me\), so nothing was shown\./)]);
    } finally {
      h.graph.faults.length = 0;
    }
  });
});

describe('the lookup rate limit', () => {
  it('answers in words, privately, and nothing else; a minute later lookups work again', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('rdrrate');
    const clock = { now: new Date() };
    const b = await bot({ LOOKUP_RATE_PER_MINUTE: '3' }, { now: () => clock.now });
    const who = `${h.samba.domain}\\${p.sam}`;
    // lookup, history and status share the budget.
    expect(JSON.stringify(await ask(b, ALICE_USER, `lookup ${who}`))).toContain(`E2E ${p.sam}`);
    clock.now = new Date(clock.now.getTime() + 20_000);
    await ask(b, ALICE_USER, `history ${who}`);
    await ask(b, ALICE_USER, 'status');
    clock.now = new Date(clock.now.getTime() + 17_000);

    const limited = await ask(b, ALICE_USER, `lookup ${who}`);
    expect(limited.map(textOf)).toEqual(['You have run 3 lookups in the last minute (`lookup`, `history` and `status` count together); try again in 23 s.']);
    expect(limited.every((r) => isPrivateTo(r, ALICE_USER) && r.targeted)).toBe(true);
    // Other people are not held back by Alice's budget; commands that do not fan out are not counted.
    expect(JSON.stringify(await ask(b, BOB_USER, `lookup ${who}`, 'personal'))).toContain(`E2E ${p.sam}`);
    expect(textOf((await ask(b, ALICE_USER, 'alerts', 'personal'))[0])).toMatch(/^(No open MDI alerts\.|Open MDI alerts)/);

    // 23 s later the first lookup has left the window.
    clock.now = new Date(clock.now.getTime() + 23_000);
    expect(JSON.stringify(await ask(b, ALICE_USER, `lookup ${who}`))).toContain(`E2E ${p.sam}`);
    // ...and only one slot came free.
    const again = await ask(b, ALICE_USER, 'status', 'personal');
    expect(again.map(textOf)).toEqual([expect.stringMatching(/^You have run 3 lookups in the last minute .*; try again in 20 s\.$/)]);
  });
});
