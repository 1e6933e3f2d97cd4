/**
 * One contract, two databases: every test runs against SQLite (temp file) and PostgreSQL (fresh
 * database). Concurrency tests use two Store instances on the same database, as two bot
 * processes would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/open-store.ts';
import { createMigrationProvider } from '../../src/store/migrations.ts';
import { CODE_ALPHABET } from '../../src/store/reference-code.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { BACKENDS, makeAccount, makeAlert, type FreshDatabase } from '../support/store-contract.ts';

const logger = createLogger({ level: 'silent' });
const T0 = new Date('2025-03-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe.each(BACKENDS)('Store contract on $name', (backend) => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    // Stores first (they hold connections), then the database.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function freshDatabase(): Promise<FreshDatabase> {
    const database = await backend.fresh();
    cleanups.push(() => database.cleanup());
    return database;
  }

  async function open(url: string): Promise<Store> {
    const store = await openStore({ databaseUrl: url, logger });
    cleanups.push(() => store.close());
    return store;
  }

  /** Two instances on one fresh database, as two processes behind a load balancer. */
  async function twoInstances(): Promise<[Store, Store, FreshDatabase]> {
    const database = await freshDatabase();
    const a = await open(database.url);
    const b = await open(database.url);
    return [a, b, database];
  }

  describe.skipIf(backend.skip)('with a fresh database', () => {
    it('applies migrations once and keeps data across reopen', async () => {
      const database = await freshDatabase();
      const first = await openStore({ databaseUrl: database.url, logger });
      await first.setWatermark('graph', '2025-01-01T00:00:00Z');
      await first.close();

      const second = await open(database.url);
      expect(await second.getWatermark('graph')).toBe('2025-01-01T00:00:00Z');
      const applied = await database.rawQuery('select name from kysely_migration order by name');
      expect(applied.map((row) => row.name)).toEqual(['0001_initial_schema', '0002_approval_rounds_and_card_offers', '0003_unified_account_keys', '0006_owners_and_escalations', '0007_writeback_outbox']);
    });

    it('lets two instances start at once on an empty database', async () => {
      const database = await freshDatabase();
      const [a, b] = await Promise.all([open(database.url), open(database.url)]);
      await a.ping();
      await b.ping();
      const applied = await database.rawQuery('select count(*) as n from kysely_migration');
      // Each migration applied once (not once per instance).
      const migrations = Object.keys(await createMigrationProvider('sqlite').getMigrations());
      expect(migrations.length).toBeGreaterThanOrEqual(5);
      expect(Number(applied[0]?.n)).toBe(migrations.length);
    });

    it('rewrites the account index of alerts stored before the keys were unified (migration 0003)', async () => {
      const database = await freshDatabase();
      const before = await openStore({ databaseUrl: database.url, logger });
      await before.upsertAlert(makeAlert('legacy-1'), 'fp', T0);
      await before.upsertAlert(makeAlert('legacy-2', { accounts: [makeAccount({ samAccountName: 'broken', sid: 'S-1-5-21-9-9-9-1109', userPrincipalName: undefined })] }), 'fp', T0);
      await before.appendAudit({ at: T0, action: 'approval.requested', alertKey: 'legacy-1', accountKey: 'sid:s-1-5-21-1111-2222-3333-1104', outcome: 'info' });
      await before.close();
      // The database as the previous release left it: unprefixed keys, migration 0003 not applied;
      // one alert whose stored JSON cannot be read any more.
      await database.rawExec(`delete from alert_accounts`);
      await database.rawExec(`insert into alert_accounts (alert_key, account_key) values
        ('legacy-1', 'corp\\jdoe'), ('legacy-1', 'jdoe@corp.example'), ('legacy-1', 's-1-5-21-1111-2222-3333-1104'),
        ('legacy-2', 'corp\\broken'), ('legacy-2', 's-1-5-21-9-9-9-1109'), ('legacy-2', 'not-a-key')`);
      await database.rawExec(`update alerts set alert_json = '{"truncated' where key = 'legacy-2'`);
      // (and the later ones, which Kysely requires to come after it: 0007 is safe to run again, 0006's additions are undone)
      await database.rawExec(`delete from kysely_migration where name >= '0003_unified_account_keys'`);
      for (const statement of ['drop table alert_escalations', 'drop table approval_expiry_reminders', ...['owner_id', 'owner_name', 'owner_teams_id', 'owned_at'].map((c) => `alter table alerts drop column ${c}`)]) await database.rawExec(statement);

      const after = await open(database.url);
      expect((await after.getAlertByKey('legacy-1'))?.accountKeys).toEqual(['sam:corp\\jdoe', 'sid:s-1-5-21-1111-2222-3333-1104', 'upn:jdoe@corp.example']);
      expect((await after.listAlertsForAccount('sid:S-1-5-21-1111-2222-3333-1104', 10)).map((r) => r.key)).toEqual(['legacy-1']);
      const legacyRows = await database.rawQuery(`select account_key from alert_accounts where alert_key = 'legacy-1' order by account_key`);
      expect(legacyRows.map((row) => row.account_key)).toEqual(['sam:corp\\jdoe', 'sid:s-1-5-21-1111-2222-3333-1104', 'upn:jdoe@corp.example']);
      // A bare identifier handed to the store is read as its key (callers need not know the prefix).
      expect((await after.listAlertsForAccount('CORP\\JDoe', 10)).map((r) => r.key)).toEqual(['legacy-1']);
      // Unreadable alert: its keys rewritten by their form, the one that is no key dropped, the alert kept.
      const rewritten = await database.rawQuery(`select account_key from alert_accounts where alert_key = 'legacy-2' order by account_key`);
      expect(rewritten.map((row) => row.account_key)).toEqual(['sam:corp\\broken', 'sid:s-1-5-21-9-9-9-1109']);
      expect(await database.rawQuery(`select key from alerts order by key`)).toEqual([{ key: 'legacy-1' }, { key: 'legacy-2' }]);
      // The audit (append-only, already in this form) is untouched and found through the index too.
      expect((await after.listAudit({ accountKey: 'sam:corp\\jdoe', limit: 10 })).map((entry) => entry.action)).toEqual(['approval.requested']);
      const applied = await database.rawQuery('select name from kysely_migration order by name');
      expect(applied.map((row) => row.name)).toContain('0003_unified_account_keys');
    });

    it('upserts alerts: created once, changed only when the fingerprint differs', async () => {
      const [store] = await twoInstances();
      const alert = makeAlert('alert-1');

      const first = await store.upsertAlert(alert, 'fp-1', T0);
      expect(first).toMatchObject({ created: true, changed: false });
      expect(first.record.code).toMatch(new RegExp(`^[${CODE_ALPHABET}]{6}$`));
      expect(first.record.postState).toBe('pending');
      expect(first.record.accountKeys).toEqual(['sam:corp\\jdoe', 'sid:s-1-5-21-1111-2222-3333-1104', 'upn:jdoe@corp.example']);
      expect(first.record.alert).toEqual(alert);

      const same = await store.upsertAlert(alert, 'fp-1', at(1000));
      expect(same).toMatchObject({ created: false, changed: false });
      expect(same.record.code).toBe(first.record.code);
      expect(same.record.updateRequested).toBe(0);

      const resolved = makeAlert('alert-1', { status: 'resolved', accounts: [makeAccount({ sid: undefined, samAccountName: 'other', userPrincipalName: undefined })] });
      const changed = await store.upsertAlert(resolved, 'fp-2', at(2000));
      expect(changed).toMatchObject({ created: false, changed: true });
      expect(changed.record.status).toBe('resolved');
      expect(changed.record.code).toBe(first.record.code);
      expect(changed.record.updateRequested).toBe(1);
      expect(changed.record.accountKeys).toEqual(['sam:corp\\other']);
      expect(changed.record.firstSeenAt).toEqual(T0);
      expect(changed.record.changedAt).toEqual(at(2000));

      expect((await store.getAlertByCode(first.record.code.toLowerCase()))?.key).toBe('alert-1');
      expect(await store.listAlertsForAccount('CORP\\JDoe', 10)).toEqual([]);
      expect((await store.listAlertsForAccount('CORP\\Other', 10)).map((r) => r.key)).toEqual(['alert-1']);
      expect(await store.listOpenAlerts(10)).toEqual([]);
    });

    it('reports "created" to exactly one of two instances upserting the same new alert', async () => {
      const [a, b] = await twoInstances();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).upsertAlert(makeAlert('same-alert'), 'fp', T0)),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.record.code)).size).toBe(1);
    });

    it('claims pending alerts exactly once across two instances', async () => {
      const [a, b] = await twoInstances();
      const keys = Array.from({ length: 12 }, (_, i) => `alert-${String(i).padStart(2, '0')}`);
      for (const [i, key] of keys.entries()) await a.upsertAlert(makeAlert(key), 'fp', at(i));

      // Each instance keeps claiming small batches until nothing is left, concurrently.
      const drain = async (store: Store, holder: string): Promise<string[]> => {
        const claimed: string[] = [];
        for (;;) {
          const batch = await store.claimAlertsToPost(holder, 3, 60_000, at(100_000));
          if (batch.length === 0) return claimed;
          for (const record of batch) {
            expect(record.postState).toBe('posting');
            expect(record.postClaimedBy).toBe(holder);
          }
          claimed.push(...batch.map((record) => record.key));
        }
      };
      const [byA, byB] = await Promise.all([drain(a, 'instance-a'), drain(b, 'instance-b')]);

      expect(byA.filter((key) => byB.includes(key))).toEqual([]);
      expect([...byA, ...byB].sort()).toEqual(keys);
      expect(await a.claimAlertsToPost('instance-c', 100, 60_000, at(100_000))).toEqual([]);
    });

    it('gives two concurrent full claims disjoint sets whose union is everything', async () => {
      const [a, b] = await twoInstances();
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      for (const key of keys) await a.upsertAlert(makeAlert(key), 'fp', T0);
      const [ra, rb] = await Promise.all([a.claimAlertsToPost('a', 100, 60_000, at(1)), b.claimAlertsToPost('b', 100, 60_000, at(1))]);
      const ka = ra.map((r) => r.key);
      const kb = rb.map((r) => r.key);
      expect(ka.filter((key) => kb.includes(key))).toEqual([]);
      expect([...ka, ...kb].sort()).toEqual(keys);
    });

    it('reclaims a stale posting claim from a crashed instance, and the old holder loses it', async () => {
      const [a, b] = await twoInstances();
      await a.upsertAlert(makeAlert('crash'), 'fp', T0);
      expect((await a.claimAlertsToPost('crashed', 10, 60_000, at(0))).map((r) => r.key)).toEqual(['crash']);

      expect(await b.claimAlertsToPost('survivor', 10, 60_000, at(59_000))).toEqual([]);
      const reclaimed = await b.claimAlertsToPost('survivor', 10, 60_000, at(61_000));
      expect(reclaimed.map((r) => r.postClaimedBy)).toEqual(['survivor']);

      const card = { conversationId: '19:chan@thread.tacv2', activityId: '1700', threadConversationId: '19:chan@thread.tacv2;messageid=1700' };
      expect(await a.markAlertPosted('crash', 'crashed', card)).toBe(false);
      expect(await b.markAlertPosted('crash', 'survivor', card, at(62_000))).toBe(true);
      const record = await a.getAlertByKey('crash');
      expect(record?.postState).toBe('posted');
      expect(record?.card).toEqual({ ...card, postedAt: at(62_000) });
      expect(await b.claimAlertsToPost('anyone', 10, 0, at(999_999))).toEqual([]);
    });

    it('releases and filters claims only for their holder', async () => {
      const [store] = await twoInstances();
      await store.upsertAlert(makeAlert('f1'), 'fp', T0);
      await store.upsertAlert(makeAlert('f2'), 'fp', at(1));
      await store.claimAlertsToPost('h', 10, 60_000, at(2));
      expect(await store.releaseClaim('f1', 'someone-else')).toBe(false);
      expect(await store.releaseClaim('f1', 'h')).toBe(true);
      expect((await store.getAlertByKey('f1'))?.postState).toBe('pending');
      expect(await store.markAlertFiltered('f2', 'someone-else')).toBe(false);
      expect(await store.markAlertFiltered('f2', 'h')).toBe(true);
      expect(await store.markAlertFiltered('f1')).toBe(true);
      expect(await store.claimAlertsToPost('h', 10, 60_000, at(3))).toEqual([]);
      expect(await store.requeueFilteredAlert('f1')).toBe(true);
      expect((await store.claimAlertsToPost('h', 10, 60_000, at(4))).map((r) => r.key)).toEqual(['f1']);
    });

    it('never loses nor duplicates a card update', async () => {
      const [a, b] = await twoInstances();
      await a.upsertAlert(makeAlert('u1'), 'fp-1', T0);
      // A change before the card is posted is covered by the post itself.
      await a.upsertAlert(makeAlert('u1', { severity: 'medium' }), 'fp-2', at(1));
      await a.claimAlertsToPost('poster', 1, 60_000, at(2));
      await a.markAlertPosted('u1', 'poster', { conversationId: 'c', activityId: 'x', threadConversationId: 'c;messageid=x' }, at(3));
      expect(await a.claimAlertsToUpdate('a', 10, 60_000, at(4))).toEqual([]);

      await a.upsertAlert(makeAlert('u1', { status: 'inProgress' }), 'fp-3', at(5));
      expect(await b.markAlertNeedsUpdate('u1')).toBe(true);
      const [claimA, claimB] = await Promise.all([a.claimAlertsToUpdate('a', 10, 60_000, at(6)), b.claimAlertsToUpdate('b', 10, 60_000, at(6))]);
      const claims = [...claimA, ...claimB];
      expect(claims).toHaveLength(1);
      const [claim] = claims;
      const winner = claimA.length === 1 ? 'a' : 'b';

      // Another change arrives while the winner renders: it must survive the winner's ack.
      await b.markAlertNeedsUpdate('u1');
      expect(await a.markAlertUpdated('u1', 'not-the-holder', claim!.version)).toBe(false);
      expect(await a.markAlertUpdated('u1', winner, claim!.version)).toBe(true);
      const again = await b.claimAlertsToUpdate('b', 10, 60_000, at(7));
      expect(again.map((c) => c.version)).toEqual([claim!.version + 1]);
      expect(await b.markAlertUpdated('u1', 'b', again[0]!.version)).toBe(true);
      expect(await a.claimAlertsToUpdate('a', 10, 60_000, at(8))).toEqual([]);
      const record = await a.getAlertByKey('u1');
      expect(record?.updateApplied).toBe(record?.updateRequested);
    });

    it('finds the thread of the most recent posted alert sharing an account', async () => {
      const [store] = await twoInstances();
      const post = async (key: string, accounts: ReturnType<typeof makeAccount>[], postedAt: Date, activityId: string) => {
        await store.upsertAlert(makeAlert(key, { accounts }), 'fp', postedAt);
        await store.claimAlertsToPost('h', 10, 60_000, postedAt);
        await store.markAlertPosted(key, 'h', { conversationId: 'chan', activityId, threadConversationId: `chan;messageid=${activityId}` }, postedAt);
      };
      await post('old', [makeAccount()], at(0), '100');
      await post('new', [makeAccount({ sid: undefined, userPrincipalName: 'JDOE@corp.example' })], at(60_000), '200');
      await post('stranger', [makeAccount({ sid: 'S-1-5-21-9', samAccountName: 'x', userPrincipalName: 'x@corp.example' })], at(120_000), '300');
      await store.upsertAlert(makeAlert('unposted'), 'fp', at(180_000));

      const thread = await store.findRecentThreadForAccounts(['jdoe@CORP.example'], at(-1));
      expect(thread).toMatchObject({ alertKey: 'new', activityId: '200', threadConversationId: 'chan;messageid=200' });
      expect((await store.findRecentThreadForAccounts(['s-1-5-21-1111-2222-3333-1104'], at(-1)))?.alertKey).toBe('old');
      expect(await store.findRecentThreadForAccounts(['s-1-5-21-1111-2222-3333-1104'], at(1))).toBeUndefined();
      expect(await store.findRecentThreadForAccounts([], at(-1))).toBeUndefined();
      expect((await store.listAlertsForAccount('corp\\jdoe', 10)).map((r) => r.key)).toEqual(['unposted', 'new', 'old']);
      expect((await store.listOpenAlerts(2)).map((r) => r.key)).toEqual(['unposted', 'stranger']);
    });

    it('grants a lease to one holder, lets it renew, and hands it over after expiry', async () => {
      const [a, b] = await twoInstances();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).tryAcquireLease('poller', `holder-${i}`, 30_000, T0)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const owner = `holder-${results.indexOf(true)}`;

      expect(await b.tryAcquireLease('poller', 'intruder', 30_000, at(29_000))).toBe(false);
      expect(await a.tryAcquireLease('poller', owner, 30_000, at(10_000))).toBe(true); // ours: extends
      expect(await b.tryAcquireLease('poller', 'intruder', 30_000, at(39_000))).toBe(false);
      expect(await a.renewLease('poller', owner, 30_000, at(20_000))).toBe(true);
      expect(await b.tryAcquireLease('poller', 'intruder', 30_000, at(50_001))).toBe(true); // expired at 50s
      expect(await a.renewLease('poller', owner, 30_000, at(50_002))).toBe(false);
      expect(await a.releaseLease('poller', owner)).toBe(false);
      expect(await b.releaseLease('poller', 'intruder')).toBe(true);
      expect(await a.tryAcquireLease('poller', owner, 30_000, at(50_003))).toBe(true);
    });

    it('purges expired leases by name prefix only (single-use markers), never a live one or another prefix', async () => {
      const [a, b] = await twoInstances();
      expect(await a.tryAcquireLease('alert-push-replay:aa', 'h1', 30_000, T0)).toBe(true);
      expect(await a.tryAcquireLease('alert-push-replay:bb', 'h2', 90_000, T0)).toBe(true);
      expect(await a.tryAcquireLease('alert-push-replay%', 'h3', 30_000, T0)).toBe(true);
      expect(await a.tryAcquireLease('poller', 'h4', 30_000, T0)).toBe(true);
      expect(await b.purgeExpiredLeases('alert-push-replay:', at(60_000))).toBe(1);
      // The live marker still refuses a second holder; the other prefix and the poller are untouched.
      expect(await b.tryAcquireLease('alert-push-replay:bb', 'other', 30_000, at(60_000))).toBe(false);
      expect(await b.purgeExpiredLeases('alert-push-replay%', at(60_000))).toBe(1);
      expect(await b.tryAcquireLease('poller', 'other', 30_000, at(20_000))).toBe(false);
      expect(await b.purgeExpiredLeases('alert-push-replay:', at(60_000))).toBe(0);
    });

    it('lets exactly one of 20 concurrent transitions across two instances win', async () => {
      const [a, b] = await twoInstances();
      await a.upsertAlert(makeAlert('alert-x'), 'fp', T0);
      const approval = await a.createApproval({
        id: 'appr-1',
        alertKey: 'alert-x',
        action: 'ad.disableAccount',
        target: { accountKey: 'corp\\jdoe' },
        code: 'k7m2qx',
        requiredApprovals: 1,
        requestedBy: 'aad-requester',
        requestedAt: T0,
        expiresAt: at(3_600_000),
      });
      expect(approval).toMatchObject({ state: 'pending', code: 'K7M2QX', requestedAt: T0 });

      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).transitionApproval('appr-1', 'pending', 'approved', { decidedBy: `approver-${i}` })),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
      const stored = await b.getApproval('appr-1');
      expect(stored?.state).toBe('approved');
      expect(stored?.decidedBy).toBe(`approver-${wins.indexOf(true)}`);

      expect(await a.transitionApproval('appr-1', ['pending', 'denied'], 'expired')).toBe(false);
      expect(await a.transitionApproval('appr-1', 'approved', 'running', {}, at(5_000))).toBe(true);
      expect(await a.transitionApproval('appr-1', 'running', 'succeeded', { result: { changed: true } }, at(6_000))).toBe(true);
      const done = await a.getApprovalByCode('k7m-2qx');
      expect(done).toMatchObject({ state: 'succeeded', startedAt: at(5_000), finishedAt: at(6_000), result: { changed: true } });
      expect(await a.countExecutionsSince(at(4_000))).toBe(1);
      expect(await a.countExecutionsSince(at(5_001))).toBe(0);
      expect((await a.listApprovalsForAlert('alert-x')).map((x) => x.id)).toEqual(['appr-1']);
      expect(await a.listPendingApprovals()).toEqual([]);
      expect((await a.listApprovalsInState('succeeded')).map((x) => x.id)).toEqual(['appr-1']);
      expect(await a.listApprovalsAwaitingConfirmation()).toEqual([]);

      expect(await a.setApprovalCard('appr-1', { conversationId: 'c', activityId: 'card-1' })).toBe(true);
      expect((await b.getApproval('appr-1'))?.card).toEqual({ conversationId: 'c', activityId: 'card-1' });
    });

    it('finds the succeeded approvals still awaiting confirmation, and only those', async () => {
      const [a, b] = await twoInstances();
      const base = { action: 'ad.disableAccount', target: {}, requiredApprovals: 1, requestedBy: 'r', expiresAt: at(3_600_000) };
      const finish = async (id: string, code: string, result: Record<string, unknown>, to: 'succeeded' | 'failed' = 'succeeded') => {
        await a.createApproval({ ...base, id, code });
        await a.transitionApproval(id, 'pending', 'running');
        await a.transitionApproval(id, 'running', to, { result });
      };
      await finish('waits', 'AAAAAB', { summary: 'requested', awaiting: { by: 'Defender for Identity', since: T0.toISOString() } });
      await finish('done', 'AAAAAC', { summary: 'requested; confirmed in effect', confirmation: 'confirmed' });
      await finish('says-awaiting', 'AAAAAD', { summary: 'the word awaiting in a summary is not the key' });
      await finish('failed', 'AAAAAE', { awaiting: { by: 'x', since: T0.toISOString() } }, 'failed');
      await a.createApproval({ ...base, id: 'open', code: 'AAAAAF' });
      expect((await b.listApprovalsAwaitingConfirmation()).map((x) => x.id)).toEqual(['waits']);
      // Settled (the key removed): no longer returned.
      await a.transitionApproval('waits', 'succeeded', 'succeeded', { result: { summary: 'requested; confirmed in effect' } });
      expect(await b.listApprovalsAwaitingConfirmation()).toEqual([]);
    });

    it('rejects a duplicate approval code with CONFLICT', async () => {
      const [store] = await twoInstances();
      const base = { action: 'graph.revokeSessions', target: {}, requiredApprovals: 1, requestedBy: 'r', expiresAt: at(1000) };
      await store.createApproval({ ...base, id: 'one', code: 'AAAAAA' });
      await expect(store.createApproval({ ...base, id: 'two', code: 'aaaaaa' })).rejects.toMatchObject({ name: 'AppError', code: 'CONFLICT' });
    });

    it('counts one vote per approver, even when the same person clicks twice at once', async () => {
      const [a, b] = await twoInstances();
      const base = { action: 'ad.resetPassword', target: {}, requiredApprovals: 2, requestedBy: 'r', expiresAt: at(1000) };
      await a.createApproval({ ...base, id: 'v1', code: 'VVVVVV' });

      const clicks = await Promise.all([a.addApprovalVote('v1', 'alice', 'Alice', at(1)), b.addApprovalVote('v1', 'alice', 'Alice', at(2))]);
      expect(clicks.filter((click) => click.added)).toHaveLength(1);
      const second = await b.addApprovalVote('v1', 'bob', 'Bob', at(3));
      expect(second.added).toBe(true);
      expect(second.votes.map((vote) => vote.approverId)).toEqual(['alice', 'bob']);
      expect((await a.addApprovalVote('v1', 'bob', 'Bob again', at(4))).votes).toHaveLength(2);
      await expect(a.addApprovalVote('missing', 'alice', 'Alice', at(5))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('keeps the audit append-only: the database itself refuses UPDATE and DELETE', async () => {
      const [store, , database] = await twoInstances();
      await store.upsertAlert(makeAlert('audited'), 'fp', T0);
      const seq1 = await store.appendAudit({ at: T0, actor: 'aad-1', action: 'approval.requested', alertKey: 'audited', outcome: 'info' });
      const seq2 = await store.appendAudit({
        at: at(1),
        actor: 'runner',
        action: 'action.executed',
        target: 'CORP\\jdoe',
        accountKey: 'CORP\\JDOE',
        approvalId: 'appr-9',
        correlationId: 'corr-1',
        outcome: 'failure',
        code: 'DIRECTORY_POLICY',
        details: { ldapCode: 19 },
      });
      await store.appendAudit({ at: at(2), action: 'unrelated', accountKey: 'corp\\someone', outcome: 'success' });
      expect(seq2).toBeGreaterThan(seq1);

      await expect(database.rawExec(`update audit set outcome = 'success' where seq = ${seq2}`)).rejects.toThrow(/append-only/);
      await expect(database.rawExec(`delete from audit where seq = ${seq1}`)).rejects.toThrow(/append-only/);
      const rows = await database.rawQuery('select count(*) as n from audit');
      expect(Number(rows[0]?.n)).toBe(3);

      // "Everything about this person": direct entries and entries on alerts indexed under them.
      const forPerson = await store.listAudit({ accountKey: 'corp\\jdoe', limit: 10 });
      expect(forPerson.map((entry) => entry.seq)).toEqual([seq2, seq1]);
      expect(forPerson[0]).toMatchObject({ at: at(1), outcome: 'failure', code: 'DIRECTORY_POLICY', details: { ldapCode: 19 }, accountKey: 'sam:corp\\jdoe' });
      expect((await store.listAudit({ approvalId: 'appr-9', limit: 10 })).map((entry) => entry.seq)).toEqual([seq2]);
      expect(await store.listAudit({ alertKey: 'audited', limit: 1 })).toHaveLength(1);
      expect(Object.keys(store).concat(Object.getOwnPropertyNames(Object.getPrototypeOf(store))).filter((name) => /audit/i.test(name)).sort()).toEqual(['appendAudit', 'listAudit']);
    });

    it('round-trips watermarks, subscriptions and settings', async () => {
      const [a, b] = await twoInstances();
      expect(await a.getWatermark('graph')).toBeUndefined();
      await a.setWatermark('graph', '2025-03-01T00:00:00Z');
      await b.setWatermark('graph', '2025-03-01T00:05:00Z');
      expect(await a.getWatermark('graph')).toBe('2025-03-01T00:05:00Z');

      const reference = { conversation: { id: '19:abc@thread.tacv2' }, serviceUrl: 'https://smba.example/', channelId: 'msteams' };
      await a.saveSubscription({ id: 'sub-1', conversationReference: reference, createdBy: 'aad-admin', createdAt: T0 });
      await a.saveSubscription({ id: 'sub-1', conversationReference: { ...reference, serviceUrl: 'https://new/' }, createdBy: 'other', createdAt: at(5) });
      expect(await b.listSubscriptions()).toEqual([
        { id: 'sub-1', conversationReference: { ...reference, serviceUrl: 'https://new/' }, createdBy: 'aad-admin', createdAt: T0 },
      ]);
      expect(await b.removeSubscription('sub-1')).toBe(true);
      expect(await b.removeSubscription('sub-1')).toBe(false);
      expect(await a.listSubscriptions()).toEqual([]);

      expect(await a.getSetting('paused')).toBeUndefined();
      const firsts = await Promise.all([a.setSetting('paused', 'true', { expected: null }), b.setSetting('paused', 'false', { expected: null })]);
      expect(firsts.filter(Boolean)).toHaveLength(1);
      const current = (await a.getSetting('paused'))!;
      expect(await b.setSetting('paused', 'x', { expected: current === 'true' ? 'false' : 'true' })).toBe(false);
      expect(await b.setSetting('paused', 'x', { expected: current, updatedBy: 'aad-1' })).toBe(true);
      expect(await a.setSetting('paused', 'y')).toBe(true);
      expect(await b.getSetting('paused')).toBe('y');
    });
  });
});
