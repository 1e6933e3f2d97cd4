import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import pg from 'pg';
import type { Directory } from '../src/domain/directory.ts';
import { ALICE_USER, BOB_USER } from './servers/bot-activity.ts';
import { cardButtons, cardText, MALLORY_USER, replaceAttribute, type BotHarness } from './support/bot-harness.ts';
import { useBotE2e } from './support/bot-e2e-hooks.ts';
import { captureLogger } from './support/log-capture.ts';
import { ADMIN_URL, createTestDatabase, probePostgres } from './support/postgres.ts';
import { sambaDirectory } from './support/samba-directory.ts';
import { requireSamba } from './support/samba.ts';

/**
 * Issue 9, attacked end to end (part 2: what the bot offered, card writes, resume, leases). The
 * real bot through /api/messages with Teams-shaped activities, the real Samba AD DC, the local
 * Graph/Okta/connector stand-ins, PostgreSQL for two instances; effects read back. Each test
 * here failed on the approvals before issue 9 (fd6227c).
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;
const settle = () => new Promise((r) => setTimeout(r, 400));

/** Posts `lookup <who>` in the bot's channel and returns the lookup card the bot answered with. */
async function lookupCard(b: Parameters<BotHarness['say']>[0], sam: string) {
  expect((await h.say(b, ALICE_USER, `lookup ${h.samba.domain}\\${sam}`)).status).toBe(200);
  const posted = await h.waitFor('the lookup card', () => h.connector.sent.find((r) => r.kind !== 'update' && JSON.stringify(r.activity ?? {}).includes(`E2E ${sam}`) && Array.isArray(r.activity?.attachments)));
  const content = (posted.activity?.attachments as Array<{ content: Record<string, unknown> }>)[0]!.content;
  return { activityId: posted.activityId, card: content };
}

describe('only what the bot offered, on the card it offered it on', () => {
  it('hand-made lookup-card data (no alert) asking for enable-ad-account, dismiss-risk, enable-entra or a retry of them is refused and changes nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eleaver');
    // A leaver: disabled in AD, flagged compromised in Entra. An approver wants them back.
    await replaceAttribute(h, p.dn, 'userAccountControl', '514');
    p.entra.riskState = 'confirmedCompromised';
    const b = await bot({ ALERT_SOURCES: 'none' });
    const real = await lookupCard(b, p.sam);
    const target = `sid:${p.sid.toLowerCase()}`;
    // The card never offers an undo, whatever the account's state.
    expect(cardButtons(real.card).map((x) => x.data.action)).not.toEqual(expect.arrayContaining(['enable-ad-account']));

    for (const action of ['enable-ad-account', 'dismiss-risk', 'enable-entra']) {
      const answer = await h.click(b, real, action, ALICE_USER, { data: { action, target } });
      expect(answer.status).toBe(200);
      expect(answer.text, action).toMatch(/not offered/);
      const retried = await h.click(b, real, action, ALICE_USER, { verb: 'retry', data: { action, target } });
      expect(retried.text, `retry ${action}`).toMatch(/nothing to retry/i);
    }
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    expect(p.entra.riskState).toBe('confirmedCompromised');
    expect(h.graph.actions.filter((a) => a.target === p.entra.id)).toEqual([]);
  });

  it('a lookup-card click whose replyToId is not a lookup card the bot posted (here: made up, and an alert card) is refused and runs nothing', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2enotcard');
    const q = await h.person('e2eother');
    h.alert([q.entra]);
    const b = await bot();
    const alertCard = await h.waitForCard(b, q.sam);
    const real = await lookupCard(b, p.sam);
    const button = cardButtons(real.card).find((x) => x.data.action === 'disable-ad-account')!;
    expect(button.data).toEqual({ action: 'disable-ad-account', target: `sid:${p.sid.toLowerCase()}` });

    for (const activityId of [String(Date.now() - 5_000), alertCard.activityId]) {
      const answer = await h.click(b, { activityId, card: real.card }, 'disable-ad-account', ALICE_USER, { data: button.data });
      expect(answer.text, activityId).toMatch(/not offered|which card/);
    }
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect((await h.readAd(q.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe('card writes only where the card lives', () => {
  it("a refused Action.Submit (Mallory) whose alertKey names ANOTHER alert's card updates no message at all", async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2ecarda');
    const q = await h.person('e2ecardb');
    h.alert([p.entra]);
    h.alert([q.entra]);
    const b = await bot();
    const cardA = await h.waitForCard(b, p.sam);
    const cardB = await h.waitForCard(b, q.sam);
    const before = cardText(h.currentCard(cardA));
    const other = cardButtons(cardB.record.activity?.attachments).find((x) => x.data.action === 'disable-ad-account')!;
    expect(other.data.alertKey).not.toBe(cardButtons(cardA.record.activity?.attachments)[0]?.data.alertKey);

    const mark = h.connector.sent.length;
    const clicked = await h.click(b, cardA, 'disable-ad-account', MALLORY_USER, { via: 'submit', data: other.data });
    expect(clicked.status).toBe(200);
    await h.waitFor('the private refusal', () => h.connector.sent.slice(mark).find((r) => String(r.activity?.text ?? '').includes('not an approver')));
    await settle();
    expect(h.connector.sent.slice(mark).filter((r) => r.kind === 'update')).toEqual([]);
    expect(cardText(h.currentCard(cardA))).toBe(before);
    expect((await h.readAd(q.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe('resume starts only what has not expired', () => {
  it('an action approved but held by the hourly cap (1) past its expiry is not started by resume: reported expired, Samba unchanged', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eresume');
    h.alert([p.entra]);
    const clock = { offsetMs: 0 };
    const b = await bot({ MAX_ACTIONS_PER_HOUR: '1', APPROVAL_TTL_MINUTES: '1' }, { now: () => new Date(Date.now() + clock.offsetMs) });
    const card = await h.waitForCard(b, p.sam);
    await h.click(b, card, 'revoke-sessions', ALICE_USER);
    await h.waitFor('the revoke', () => h.threadTexts(card).find((t) => t.startsWith('Revoked')));
    const held = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(held.card)).toContain('execution is paused');
    await h.waitFor('the pause notice', () => h.threadTexts(card).find((t) => t.startsWith('Execution paused')));

    // Two minutes later (approvals last one), an approver lifts the pause.
    clock.offsetMs = 2 * 60_000;
    const mark = h.connector.sent.length;
    await h.say(b, BOB_USER, 'resume', 'channel', card.rootActivityId);
    const answer = await h.waitFor('the resume answer', () => h.connector.sent.slice(mark).map((r) => String(r.activity?.text ?? '')).find((t) => /resumed/i.test(t)));
    await settle();
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
    expect(answer).toMatch(/0 approved action\(s\) started/);
    expect(answer).toMatch(/1 approval\(s\) had expired while waiting and were not started/);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Disabled'))).toEqual([]);
  });
});

/** The bot's LDAP directory on this DC, counting the disables it sends. */
function countingDirectory(base: Directory): { directory: Directory; disables: () => number } {
  let disables = 0;
  const directory = new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'disableAccount' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        disables++;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { directory, disables: () => disables };
}

describe('runs across instances', () => {
  it('two bots on one PostgreSQL database: a run whose lease renewal fails (its database login revoked) is settled by read-back on the other, the directory operation sent once', async (ctx) => {
    requireSamba(ctx);
    const available = await probePostgres();
    if (!available.available) return ctx.skip(available.reason);
    const db = await createTestDatabase();
    const role = `ib_one_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`create role ${role} login superuser`);
    try {
      const p = await h.person('e2elease');
      h.alert([p.entra]);
      const shared = { APPROVAL_RUN_LEASE_SECONDS: '2', TEAMS_CHANNEL_ID: `19:e2e-lease-${Date.now()}@thread.tacv2` };
      const oneUrl = new URL(db.url);
      oneUrl.username = role;
      // One's disable waits at a gate (it has not reached the DC); both count what they send.
      const held = h.holdDirectory('disableAccount');
      onTestFinished(() => held.gate.open());
      const oneDir = countingDirectory(held.directory);
      const twoDir = countingDirectory(sambaDirectory(h.samba, captureLogger('warn').logger, { timeoutMs: 10_000 }));
      const one = await bot({ ...shared, DATABASE_URL: oneUrl.toString() }, { directory: oneDir.directory });
      const two = await bot({ ...shared, DATABASE_URL: db.url }, { directory: twoDir.directory });
      const card = await h.waitForCard(one, p.sam);
      // Past both bots' start-up reconciliation, so only the sweep below reconciles.
      await new Promise((r) => setTimeout(r, 3_000));
      const answer = await h.click(one, card, 'disable-ad-account', ALICE_USER);
      expect(cardText(answer.card)).toMatch(/Approved by Alice Example — (running|starting)/);
      await held.gate.reached;

      // One can no longer reach the database: its lease renewals fail from now on, and the lease lapses.
      await admin.query(`alter role ${role} nologin`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role]);
      await new Promise((r) => setTimeout(r, 3_000));
      expect(one.output()).toMatch(/renew/);

      // The other instance takes the lapsed lease to settle the run. While it holds it, the operation
      // one had in flight reaches the DC: the read-back must see it, not call it "not in place".
      let swept = false;
      const sweep = two.sweepNow().finally(() => (swept = true));
      await h.waitFor('the reconciler to hold the lease (or finish)', async () => swept || (await admin.query(`select 1 from leases where name like 'approval-run:%' and holder like '%:reconcile:%'`)).rowCount! > 0);
      held.gate.open();
      await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
      await sweep;
      const report = await h.waitFor('the reconciliation in the thread', () => h.threadTexts(card).find((t) => t.includes('interrupted')));
      expect(report).toContain('the directory shows it is in place (approved by Alice Example)');
      await settle();
      expect(h.threadTexts(card).filter((t) => /NOT in place|^Disabled/.test(t))).toEqual([]);
      expect(cardText(h.currentCard(card))).toContain('confirmed after a restart');
      expect(cardButtons(h.currentCard(card)).some((x) => x.verb === 'retry')).toBe(false);
      expect([oneDir.disables(), twoDir.disables()]).toEqual([1, 0]);
    } finally {
      await admin.query(`alter role ${role} login`).catch(() => undefined);
      for (const b of bots.splice(0)) await b.stop().catch(() => undefined);
      await admin.end();
      await db.drop();
      const cleanup = new pg.Client({ connectionString: ADMIN_URL });
      await cleanup.connect();
      await cleanup.query(`drop role if exists ${role}`).finally(() => cleanup.end());
    }
  }, 60_000);
});
