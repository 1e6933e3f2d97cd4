import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished, type TestContext } from 'vitest';
import pg from 'pg';
import type { Directory } from '../../src/domain/ports/directory.ts';
import { ALICE_USER } from '../../sim/teams/bot-activity.ts';
import { findOktaUser } from '../../sim/tenant.ts';
import { cardButtons, cardText, type BotHarness, type BotStartOptions, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { gate } from '../support/gate.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { ADMIN_URL, createTestDatabase, probePostgres } from '../support/postgres.ts';
import { sambaDirectory } from '../support/samba-directory.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 9, attacked end to end (part 3: runs across instances). Two real bots on one PostgreSQL
 * database; the first one's lease renewals are made to FAIL by revoking its database login while
 * its action is in flight (the process lives on, it just cannot prove it is alive any more). The
 * second settles the run by read-back; nothing is run twice. Real Samba AD DC, local Okta/Graph/
 * connector. Each test here failed on the approvals before issue 9 (fd6227c).
 */

let h: BotHarness;
const { bots, bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;
const LEASE_SECONDS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TwoBots {
  one: TestBot;
  two: TestBot;
  /** Revokes `one`'s database login and cuts its connections: its lease renewals fail from now on. */
  cutOne(): Promise<void>;
  /** Whether some instance is settling a run (a reconciler holds a run lease). */
  reconcilerHoldsLease(): Promise<boolean>;
  /** Whether an approval is `running` (the run has started; inspections are over). */
  running(): Promise<boolean>;
}

/**
 * Two bots on a fresh PostgreSQL database, `one` logging in as a role of its own (so that its
 * login alone can be revoked). Skips without PostgreSQL; cleans up after the test.
 */
async function twoBotsOnePostgres(ctx: TestContext, options: { one?: BotStartOptions; two?: BotStartOptions } = {}): Promise<TwoBots | undefined> {
  const available = await probePostgres();
  if (!available.available) {
    ctx.skip(available.reason);
    return undefined;
  }
  const db = await createTestDatabase();
  const role = `ib_one_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`create role ${role} login superuser`);
  onTestFinished(async () => {
    await admin.query(`alter role ${role} login`).catch(() => undefined);
    for (const b of bots.splice(0)) await b.stop().catch(() => undefined);
    await admin.end();
    await db.drop();
    const cleanup = new pg.Client({ connectionString: ADMIN_URL });
    await cleanup.connect();
    await cleanup.query(`drop role if exists ${role}`).finally(() => cleanup.end());
  });
  const shared = { APPROVAL_RUN_LEASE_SECONDS: String(LEASE_SECONDS), TEAMS_CHANNEL_ID: `19:e2e-lease-${Date.now()}@thread.tacv2` };
  const oneUrl = new URL(db.url);
  oneUrl.username = role;
  const one = await bot({ ...shared, DATABASE_URL: oneUrl.toString() }, options.one);
  const two = await bot({ ...shared, DATABASE_URL: db.url }, options.two);
  return {
    one,
    two,
    async cutOne() {
      await admin.query(`alter role ${role} nologin`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
    },
    async reconcilerHoldsLease() {
      const { rowCount } = await admin.query(`select 1 from leases where name like 'approval-run:%' and holder like '%:reconcile:%'`);
      return (rowCount ?? 0) > 0;
    },
    async running() {
      const { rowCount } = await admin.query(`select 1 from approvals where state = 'running'`);
      return (rowCount ?? 0) > 0;
    },
  };
}

/**
 * The bot's LDAP directory on this DC, whose account reads wait at `door` once `hold()` says so
 * (the run's own read of the account, after the inspections; the write comes after it).
 */
function readsHeldDirectory(hold: () => Promise<boolean>): { directory: Directory; door: ReturnType<typeof gate> } {
  const base = sambaDirectory(h.samba, captureLogger('warn').logger, { timeoutMs: 10_000 });
  const door = gate();
  const directory = new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'getUser' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (!door.isOpen && (await hold())) await door.pass();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { directory, door };
}

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

describe('a run whose lease renewal fails', () => {
  it('AD disable in flight when the renewals start failing: the other instance waits out the stale window and settles it by read-back as in place; the disable was sent once', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2elease');
    h.alert([p.entra]);
    // One's disable waits at a gate (it has not reached the DC yet); both count what they send.
    const held = h.holdDirectory('disableAccount');
    const oneDir = countingDirectory(held.directory);
    const twoDir = countingDirectory(sambaDirectory(h.samba, captureLogger('warn').logger, { timeoutMs: 10_000 }));
    const bots2 = await twoBotsOnePostgres(ctx, { one: { directory: oneDir.directory }, two: { directory: twoDir.directory } });
    if (!bots2) return;
    // Registered after the bots' clean-up, so it runs first: a bot stops only once its run is done.
    onTestFinished(() => held.gate.open());
    const { one, two } = bots2;
    const card = await h.waitForCard(one, p.sam);
    // Past both bots' start-up reconciliation, so only the sweep below reconciles.
    await sleep(LEASE_SECONDS * 1000 + 1000);
    const answer = await h.click(one, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(answer.card)).toMatch(/Approved by Alice Example — (running|starting)/);
    await held.gate.reached;

    await bots2.cutOne();
    await sleep(LEASE_SECONDS * 1000 + 1000);
    expect(one.output()).toMatch(/renew/);

    // The other instance takes the lapsed lease to settle the run. While it holds it, the operation
    // one had in flight reaches the DC: the read-back must see it, not call it "not in place".
    let swept = false;
    const sweep = two.sweepNow().finally(() => (swept = true));
    await h.waitFor('the reconciler to hold the lease (or finish)', async () => swept || (await bots2.reconcilerHoldsLease()));
    held.gate.open();
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
    await sweep;
    const report = await h.waitFor('the reconciliation in the thread', () => h.threadTexts(card).find((t) => t.includes('interrupted')));
    expect(report).toContain('the directory shows it is in place (approved by Alice Example)');
    await sleep(400);
    expect(h.threadTexts(card).filter((t) => /NOT in place|^Disabled/.test(t))).toEqual([]);
    expect(cardText(h.currentCard(card))).toContain('confirmed after a restart');
    expect(cardButtons(h.currentCard(card)).some((x) => x.verb === 'retry')).toBe(false);
    expect([oneDir.disables(), twoDir.disables()]).toEqual([1, 0]);
  }, 60_000);

  it('AD disable whose run is still reading the account when the renewals start failing: it stops before the write; the other instance settles it as not in place; a Retry disables it once', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eleasestop');
    h.alert([p.entra]);
    let bots2: TwoBots | undefined;
    const held = readsHeldDirectory(async () => (bots2 ? bots2.running() : false));
    const oneDir = countingDirectory(held.directory);
    bots2 = await twoBotsOnePostgres(ctx, { one: { directory: oneDir.directory } });
    if (!bots2) return;
    onTestFinished(() => held.door.open());
    const { one, two } = bots2;
    const card = await h.waitForCard(one, p.sam);
    await sleep(LEASE_SECONDS * 1000 + 1000);
    await h.click(one, card, 'disable-ad-account', ALICE_USER);
    // The run (its row says running) reads the account before writing; that read waits here.
    await held.door.reached;

    await bots2.cutOne();
    await sleep(LEASE_SECONDS * 1000 + 1000);
    held.door.open();
    await sleep(1_000);
    // The run lost its lease before its side effect: it never sent the disable.
    expect(oneDir.disables()).toBe(0);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);

    await two.sweepNow();
    const report = await h.waitFor('the reconciliation in the thread', () => h.threadTexts(card).find((t) => t.includes('interrupted')));
    expect(report).toContain('is NOT in place');
    await h.waitFor('the Retry button', () => cardButtons(h.currentCard(card)).some((x) => x.verb === 'retry' && x.data.action === 'disable-ad-account'));
    await h.click(two, card, 'disable-ad-account', ALICE_USER, { verb: 'retry' });
    await h.waitFor('disabled in AD', async () => ((await h.readAd(p.dn)).uac & UAC_DISABLED) === UAC_DISABLED);
    expect(oneDir.disables()).toBe(0);
  }, 60_000);

  it('Okta suspend (two calls) in flight when the renewals start failing: the run stops before its next call; the other instance settles it by read-back; a Retry finishes it without suspending twice', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eleaseokta', { okta: true });
    const user = findOktaUser(h.demo.tenant, p.upn)!;
    h.alert([p.entra]);
    const bots2 = await twoBotsOnePostgres(ctx);
    if (!bots2) return;
    const { one, two } = bots2;
    const card = await h.waitForCard(one, p.sam);
    await sleep(LEASE_SECONDS * 1000 + 1000);
    const suspendCall = (r: { method: string; path: string }) => r.method === 'POST' && r.path.endsWith(`/users/${user.id}/lifecycle/suspend`);
    const sessionsCall = (r: { method: string; path: string }) => r.method === 'DELETE' && r.path.endsWith(`/users/${user.id}/sessions`);
    // Okta holds the suspend until the test opens the gate (then applies it, as Okta would).
    const suspend = gate();
    onTestFinished(() => suspend.open());
    h.okta.faults.push({ match: suspendCall, until: suspend.opened });
    await h.click(one, card, 'suspend-okta', ALICE_USER);
    await h.waitFor('the suspend in flight', () => h.okta.requests.some(suspendCall));

    await bots2.cutOne();
    await sleep(LEASE_SECONDS * 1000 + 1000);
    suspend.open();
    await h.waitFor('suspended in Okta', () => user.status === 'SUSPENDED');
    await two.sweepNow();
    const report = await h.waitFor('the reconciliation in the thread', () => h.threadTexts(card).find((t) => t.includes('interrupted')));
    // Okta cannot show whether sessions were cleared: "could not be confirmed", Retry offered.
    expect(report).toMatch(/could not be confirmed complete.*press Retry/);
    await sleep(400);
    // One stopped before its next side effect: the sessions were never cleared, nothing was said twice.
    expect(h.okta.requests.filter(sessionsCall).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(user.sessionCount).toBeGreaterThan(0);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Suspended') || t.includes('interrupted'))).toEqual([report]);

    // The Retry (a new round, through the other instance) only ends the sessions: one suspend in all.
    await h.waitFor('the Retry button', () => cardButtons(h.currentCard(card)).some((x) => x.verb === 'retry' && x.data.action === 'suspend-okta'));
    await h.click(two, card, 'suspend-okta', ALICE_USER, { verb: 'retry' });
    await h.waitFor('the sessions cleared', () => user.sessionCount === 0);
    expect(h.okta.requests.filter(suspendCall)).toHaveLength(1);
    expect(h.okta.requests.filter(sessionsCall)).toHaveLength(1);
  }, 60_000);
});

describe('lease times come from the database clock', () => {
  it('an instance whose clock runs an hour ahead does not take over (and settle) a live run of another', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2eskew');
    h.alert([p.entra]);
    const held = h.holdDirectory('disableAccount');
    const bots2 = await twoBotsOnePostgres(ctx, { one: { directory: held.directory }, two: { now: () => new Date(Date.now() + 60 * 60_000) } });
    if (!bots2) return;
    onTestFinished(() => held.gate.open());
    const { one, two } = bots2;
    const card = await h.waitForCard(one, p.sam);
    await sleep(LEASE_SECONDS * 1000 + 1000);
    await h.click(one, card, 'disable-ad-account', ALICE_USER);
    await held.gate.reached;
    // One is alive and renewing; by two's own clock its lease ran out long ago.
    await two.sweepNow();
    expect(h.threadTexts(card).filter((t) => t.includes('interrupted'))).toEqual([]);
    held.gate.open();
    const done = await h.waitFor('the result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Disabled') || t.includes('interrupted')));
    expect(done).toMatch(/^Disabled .* in AD — approved by Alice Example/);
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(UAC_DISABLED);
    await sleep(400);
    expect(h.threadTexts(card).filter((t) => t.startsWith('Disabled') || t.includes('interrupted'))).toEqual([done]);
  }, 60_000);
});
