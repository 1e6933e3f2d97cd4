import { describe, expect, it, onTestFinished } from 'vitest';
import { ALICE_USER, BOB_USER } from '../../sim/teams/bot-activity.ts';
import { cardButtons, cardText, MALLORY_USER, writePolicy, type BotHarness } from '../support/bot-harness.ts';
import { createTestDatabase, probePostgres } from '../support/postgres.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 4 end to end, the guard rails: concurrency (one process, two processes on PostgreSQL),
 * four-eyes by policy file, expiry, deny, dry-run, protected accounts, the hourly cap, a kill
 * during execution, and person-level requests from lookup cards. Real bot, real Samba, local
 * Graph/Okta/connector; effects read back.
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;

const revokes = (entraId: string) => h.graph.actions.filter((a) => a.kind === 'revokeSignInSessions' && a.target === entraId).length;

describe('exactly once', () => {
  it('20 concurrent approve invokes by 20 approvers run revoke-sessions once; everyone sees the state', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2econc');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const answers = await Promise.all(h.approvers.map((user) => h.click(b, card, 'revoke-sessions', user)));
    expect(answers.every((a) => a.status === 200 && a.card !== undefined)).toBe(true);
    // Everyone's answer shows the one approval (by whoever was first), running or done; nobody is asked to vote again.
    for (const a of answers) expect(cardText(a.card)).toMatch(/Revoke sessions: (Approved by Approver \d\d — running|Revoked .* — approved by Approver \d\d)/);
    await h.waitFor('the result', () => h.threadTexts(card).find((t) => t.startsWith('Revoked')));
    await new Promise((r) => setTimeout(r, 300));
    expect(revokes(p.entra.id)).toBe(1);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Revoked'))).toHaveLength(1);
  });

  it('two bot processes on one PostgreSQL database: 20 approves split across them run the action once', async (ctx) => {
    requireSamba(ctx);
    const pg = await probePostgres();
    if (!pg.available) return ctx.skip(pg.reason);
    const db = await createTestDatabase();
    try {
      const p = await h.person('e2epg');
      h.alert([p.entra]);
      const channel = `19:e2e-pg-${Date.now()}@thread.tacv2`;
      const one = await bot({ DATABASE_URL: db.url, TEAMS_CHANNEL_ID: channel });
      const two = await bot({ DATABASE_URL: db.url, TEAMS_CHANNEL_ID: channel });
      const card = await h.waitForCard(one, p.sam);
      expect(h.connector.cardsPosted(channel).filter((r) => r.kind === 'create')).toHaveLength(1);
      const answers = await Promise.all(h.approvers.map((user, i) => h.click(i % 2 ? two : one, card, 'revoke-sessions', user)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      await h.waitFor('the result', () => h.threadTexts(card).find((t) => t.startsWith('Revoked')));
      await new Promise((r) => setTimeout(r, 500));
      expect(revokes(p.entra.id)).toBe(1);
      expect(h.threadTexts(card).filter((t) => t.startsWith('Revoked'))).toHaveLength(1);
    } finally {
      for (const b of bots.splice(0)) await b.stop();
      await db.drop();
    }
  });
});

describe('decisions', () => {
  it('four-eyes from a policy file: disable needs two distinct people', async (ctx) => {
    requireSamba(ctx);
    const policy = writePolicy({ version: 1, approvals: { default: 1, 'disable-ad-account': 2 }, rules: [], default: { actions: ['disable-ad-account', 'revoke-sessions'] } });
    const p = await h.person('e2e4eyes');
    h.alert([p.entra]);
    const b = await bot({ ACTION_POLICY_FILE: policy });
    const card = await h.waitForCard(b, p.sam);
    expect(cardText((await h.click(b, card, 'disable-ad-account', ALICE_USER)).card)).toContain('1 of 2: Alice Example');
    expect(cardText((await h.click(b, card, 'disable-ad-account', ALICE_USER)).card)).toContain('1 of 2: Alice Example');
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    // Everyone's card shows the progress too.
    await h.waitFor('the shared card', () => cardText(h.currentCard(card)).includes('1 of 2: Alice Example'));
    await h.click(b, card, 'disable-ad-account', BOB_USER);
    await h.waitFor('disabled', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
    const line = await h.waitFor('the result', () => h.threadTexts(card).find((t) => t.startsWith('Disabled')));
    expect(line).toContain('approved by Alice Example, Bob Analyst');
  });

  it('deny with a comment: recorded, card updated without buttons, reply in the thread; nothing runs', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2edeny');
    h.alert([p.entra]);
    const b = await bot();
    const card = await h.waitForCard(b, p.sam);
    const deny = cardButtons(h.currentCard(card)).find((x) => x.verb === 'deny');
    expect(deny).toBeDefined();
    const answer = await h.click(b, card, 'deny', BOB_USER, { verb: 'deny', data: { ...deny!.data, comment: 'pen test by the red team' } });
    expect(cardText(answer.card)).toContain('Denied by Bob Analyst: pen test by the red team');
    const reply = await h.waitFor('the denial in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Denied')));
    expect(reply).toContain('Denied by Bob Analyst: pen test by the red team');
    // No decision button is left; Take it stays until someone owns the alert, Close until it is closed (issue 15).
    await h.waitFor('the card without decision buttons', () => cardButtons(h.currentCard(card)).every((x) => x.verb === 'take' || x.verb === 'close'));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(revokes(p.entra.id)).toBe(0);
  });

  it('expiry (TTL 1 min, clock moved on): the sweep marks it expired, the card says so and its buttons are gone', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eexp');
    h.alert([p.entra]);
    const clock = { offsetMs: 0 };
    const b = await bot({ APPROVAL_TTL_MINUTES: '1' }, { now: () => new Date(Date.now() + clock.offsetMs) });
    const card = await h.waitForCard(b, p.sam);
    expect(cardText((await h.click(b, card, 'reset-password', ALICE_USER)).card)).toContain('1 of 2: Alice Example');
    clock.offsetMs = 2 * 60_000;
    await b.sweepNow();
    await h.waitFor('the expired card', () => cardText(h.currentCard(card)).includes('Expired: no decision within 1 min'));
    expect(cardButtons(h.currentCard(card)).filter((x) => x.data.action === 'reset-password')).toEqual([]);
    // A late approval changes nothing.
    const late = await h.click(b, card, 'reset-password', BOB_USER, { data: { action: 'reset-password', target: `sid:${p.sid.toLowerCase()}`, alertKey: (cardButtons(card.record.activity?.attachments).find((x) => x.data.action === 'reset-password')?.data.alertKey as string) } });
    expect(late.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.readAd(p.dn)).pwdLastSet).not.toBe('0');
  });

  it('dry run: every card says so, the action goes through every step but AD is unchanged', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2edry');
    h.alert([p.entra]);
    const b = await bot({ DRY_RUN: 'true' });
    const card = await h.waitForCard(b, p.sam);
    expect(cardText(card.record.activity?.attachments)).toContain('DRY RUN');
    await h.click(b, card, 'disable-ad-account', ALICE_USER);
    const line = await h.waitFor('the result', () => h.threadTexts(card).find((t) => t.startsWith('DRY RUN') || t.includes('failed')));
    expect(line).toMatch(/^DRY RUN \(nothing changed\): /);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(cardText(h.currentCard(card))).toContain('DRY RUN');
  });
});

describe('guard rails', () => {
  it('protected accounts: a listed one needs two approvers; padmin (adminCount=1, Domain Admins) is refused with the reason', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eprot');
    const padmin = await h.findAd('padmin');
    expect((await h.readAd(padmin!.dn)).adminCount).toBe('1');
    h.alert([p.entra]);
    h.alert([{ accountName: 'padmin', domainName: h.samba.domain, userSid: padmin!.sid, displayName: 'Paula Admin', roles: ['compromised'] }]);
    const listed = await bot({ PROTECTED_ACCOUNTS: p.sam });
    const card = await h.waitForCard(listed, p.sam);
    expect(cardText((await h.click(listed, card, 'disable-ad-account', ALICE_USER)).card)).toContain('1 of 2: Alice Example');
    await listed.stop();
    bots.splice(bots.indexOf(listed), 1);

    const strict = await bot({ PROTECTED_ACCOUNT_APPROVALS: 'refuse' });
    const adminCard = await h.waitForCard(strict, 'padmin');
    const refused = await h.click(strict, adminCard, 'disable-ad-account', ALICE_USER);
    expect(cardText(refused.card)).toMatch(/Refused: .*padmin is a protected account \(.*(adminCount|Domain Admins).*\); contain it by hand/);
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.readAd(padmin!.dn)).uac & UAC_DISABLED).toBe(0);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });

  it('the hourly cap (2): the third destructive action pauses until an approver types resume', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2ecap');
    h.alert([p.entra]);
    const b = await bot({ MAX_ACTIONS_PER_HOUR: '2' });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'revoke-sessions', ALICE_USER);
    await h.click(b, card, 'mark-compromised', ALICE_USER);
    await h.waitFor('two results', () => h.threadTexts(card).length >= 2);
    const third = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(third.card)).toContain('execution is paused');
    const notice = await h.waitFor('the pause notice', () => h.threadTexts(card).find((t) => t.startsWith('Execution paused')));
    expect(notice).toContain('more than 2 destructive actions in an hour');
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    // Someone who is not an approver cannot lift it.
    await h.say(b, MALLORY_USER, 'resume', 'channel', card.rootActivityId);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    await h.say(b, BOB_USER, 'resume', 'channel', card.rootActivityId);
    await h.waitFor('disabled after resume', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
  });
});

describe('crash safety', () => {
  it('a bot process SIGKILLed while suspend-entra runs: the next process reads the effect back, reports it in the thread, never runs it twice', async (ctx) => {
    requireSamba(ctx);
    const { addUser } = await import('../../sim/tenant.ts');
    const cloud = addUser(h.demo.tenant, { name: `e2ekill.${Date.now()}`, synced: false });
    h.alert([cloud]);
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const shared = { DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'e2e-kill-')), 'bot.db')}`, TEAMS_CHANNEL_ID: `19:e2e-kill-${Date.now()}@thread.tacv2`, APPROVAL_RUN_LEASE_SECONDS: '2' };
    const first = await h.startBotProcess(shared);
    bots.push(first);
    const card = await h.waitForCard(first, cloud.userPrincipalName, 20_000);
    // Graph applies the change only after 2.5 s: the process dies in between.
    h.graph.faults.push({ match: (r) => r.method === 'PATCH' && r.path === `/v1.0/users/${cloud.id}`, delayMs: 2500 });
    const answer = await h.click(first, card, 'suspend-entra', ALICE_USER);
    expect(cardText(answer.card)).toMatch(/Approved by Alice Example — (running|starting)/);
    await h.waitFor('the PATCH in flight', () => h.graph.requests.some((r) => r.method === 'PATCH' && r.path === `/v1.0/users/${cloud.id}`));
    first.kill();
    bots.splice(bots.indexOf(first), 1);
    await h.waitFor('Graph to apply the change', () => cloud.accountEnabled === false, 10_000);

    const second = await h.startBotProcess(shared);
    bots.push(second);
    const report = await h.waitFor('the reconciliation report', () => h.threadTexts(card).find((t) => t.includes('interrupted by a bot restart')), 20_000);
    expect(report).toContain('the directory shows it is in place (approved by Alice Example)');
    await h.waitFor('the card after reconciliation', () => cardText(h.currentCard(card)).includes('confirmed after a restart'));
    expect(h.graph.actions.filter((a) => a.target === cloud.id && a.kind === 'disableUser')).toHaveLength(1);
    expect(h.graph.requests.filter((r) => r.method === 'PATCH' && r.path === `/v1.0/users/${cloud.id}`)).toHaveLength(1);
  }, 60_000);
});

describe('person-level requests from lookup cards', () => {
  it('lookup → Approve on the lookup card → the person is found again server-side, disabled in AD, the result answered in that conversation', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2elook');
    // The bot's own LDAP directory, with the disable held at a gate until the test opens it.
    const held = h.holdDirectory('disableAccount');
    onTestFinished(() => held.gate.open());
    const b = await bot({ ALERT_SOURCES: 'none' }, { directory: held.directory });
    const asked = await h.say(b, ALICE_USER, `lookup ${h.samba.domain}\\${p.sam}`);
    expect(asked.status).toBe(200);
    const lookup = await h.waitFor('the lookup card', () => h.connector.sent.find((r) => r.kind !== 'update' && JSON.stringify(r.activity ?? {}).includes(`E2E ${p.sam}`) && Array.isArray(r.activity?.attachments)));
    const content = (lookup.activity?.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
    const button = cardButtons(content).find((x) => x.data.action === 'disable-ad-account');
    expect(button?.data).toEqual({ action: 'disable-ad-account', target: `sid:${p.sid.toLowerCase()}` });

    // Someone else's key smuggled into the button names nobody the directory can confirm: refused.
    const forged = await h.click(b, { activityId: lookup.activityId, card: content }, 'disable-ad-account', ALICE_USER, { data: { action: 'disable-ad-account', target: 'sid:s-1-5-21-1-2-3-999999' } });
    // (Now refused before any directory call: the card offered its buttons for one person only.)
    expect(forged.text).toMatch(/not offered on this card|could not be found again/);
    const outsider = await h.click(b, { activityId: lookup.activityId, card: content }, 'disable-ad-account', MALLORY_USER);
    expect(outsider.text).toContain('not an approver');
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);

    // Answered while the disable is held (it cannot have happened yet), and it runs afterwards.
    const answer = await h.click(b, { activityId: lookup.activityId, card: content }, 'disable-ad-account', ALICE_USER);
    expect(held.gate.isOpen).toBe(false);
    expect(answer.status).toBe(200);
    // The lookup card comes back refreshed with the state (as an alert card does).
    expect(answer.text ?? cardText(answer.card)).toMatch(new RegExp(`Disable AD account for ${h.samba.domain}\\\\${p.sam}: Approved by Alice Example — running`));
    await held.gate.reached;
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(h.connector.repliesIn(lookup.activityId)).toEqual([]);
    held.gate.open();
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
    const reply = await h.waitFor('the result in the lookup conversation', () => h.connector.repliesIn(lookup.activityId).find((r) => String(r.activity?.text ?? '').startsWith('Disabled')));
    expect(reply.conversationId).toBe(`${b.channelId};messageid=${lookup.activityId}`);
    expect(String(reply.activity?.text)).toMatch(/approved by Alice Example/);
    // A second click on the same card runs nothing more.
    await h.click(b, { activityId: lookup.activityId, card: content }, 'disable-ad-account', BOB_USER);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.connector.repliesIn(lookup.activityId).filter((r) => String(r.activity?.text ?? '').startsWith('Disabled'))).toHaveLength(1);
  });
});
