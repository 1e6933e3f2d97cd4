import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertSource } from '../../src/domain/ports/alert-source.ts';
import { collectAlerts } from '../../src/notifier/collect-alerts.ts';
import type { Notifier } from '../../src/notifier/notifier.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { mdiAlert, unknownEvidence, type AccountInput } from '../../sim/graph/graph-alert-factory.ts';
import type { SentRecord } from '../../sim/teams/bot-connector-server.ts';
import { makeMdiSecurityAlert } from '../../sim/loganalytics/security-alert-factory.ts';
import { putAlert, updateAlert } from '../../sim/tenant.ts';
import { checkTeamsCard } from '../support/card-rules.ts';
import { startNotifierHarness, type NotifierHarness } from '../../sim/harness/notifier-harness.ts';
import { createTestDatabase, probePostgres, type TestDatabase } from '../support/postgres.ts';

// The notifier end to end: local Graph / Log Analytics read by the real adapters, a real store,
// the Teams messenger posting to the local connector. Every count is the connector's own record.

let h: NotifierHarness;
const stores: Store[] = [];
const notifiers: Notifier[] = [];

beforeAll(async () => {
  h = await startNotifierHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.demo.tenant.alerts.clear();
  h.la.clearAlerts();
  h.connector.reset();
  h.graph.faults.length = 0;
});
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.stop();
  for (const s of stores.splice(0)) await s.close();
});

async function freshStore(url?: string): Promise<Store> {
  const store = await h.store(url);
  stores.push(store);
  return store;
}

function notifier(store: Store, options: Parameters<NotifierHarness['notifier']>[1] = {}): Notifier {
  const n = h.notifier(store, options);
  notifiers.push(n);
  return n;
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

function person(i: number): AccountInput {
  return { accountName: `user${i}`, domainName: 'CORP', userSid: `S-1-5-21-1000-2000-3000-${5000 + i}`, userPrincipalName: `user${i}@corp.example.test`, displayName: `User ${i}`, roles: ['compromised'] };
}

function graphAlert(i: number, options: Parameters<typeof mdiAlert>[0] = {}) {
  const at = minutesAgo(30 - i / 10);
  return putAlert(h.demo.tenant, mdiAlert({ accounts: [person(i)], createdDateTime: at, lastUpdateDateTime: at, ...options }));
}

const creates = () => h.connector.sent.filter((r) => r.kind === 'create');
const replies = () => h.connector.sent.filter((r) => r.kind === 'reply' || r.kind === 'send');
const updates = () => h.connector.sent.filter((r) => r.kind === 'update');
const cardOf = (r: SentRecord) => (r.activity?.attachments as Array<{ content: Record<string, unknown> }> | undefined)?.[0]?.content;
/** Reference codes of the cards posted, read from the card's "Ref" fact. */
const postedCodes = () => h.connector.cardsPosted().map((r) => /"title":"Ref","value":"([A-Z0-9]+)"/.exec(JSON.stringify(cardOf(r)))?.[1]);
const textLines = () => replies().filter((r) => typeof r.activity?.text === 'string' && !cardOf(r));

describe('notifier: new alerts become cards, each exactly once', () => {
  it('posts every alert of a multi-page poll once; an overlapping re-poll posts nothing more', async () => {
    const alerts = Array.from({ length: 7 }, (_, i) => graphAlert(i));
    const store = await freshStore();
    const n = notifier(store);
    const before = h.graph.requests.filter((r) => r.path === '/v1.0/security/alerts_v2').length;
    const first = await n.runOnce();
    expect(first.leader).toBe(true);
    expect(first.polls).toEqual([expect.objectContaining({ source: 'graph', seen: 7, created: 7, changed: 0, filtered: 0 })]);
    // Page size 3: three pages, all followed.
    expect(h.graph.requests.filter((r) => r.path === '/v1.0/security/alerts_v2').length - before).toBe(3);
    expect(creates()).toHaveLength(7);
    expect(replies()).toHaveLength(0);
    for (const post of creates()) expect(checkTeamsCard(cardOf(post))).toEqual([]);
    const codes = postedCodes();
    expect(new Set(codes).size).toBe(7);
    for (const alert of alerts) {
      const record = await store.getAlertByKey(String(alert.providerAlertId));
      expect(record?.postState).toBe('posted');
      expect(codes).toContain(record?.code);
    }

    // The next poll re-reads its overlap window: the same 7 alerts come back, nothing is posted.
    const second = await n.runOnce();
    expect(second.polls[0]).toMatchObject({ seen: 7, created: 0, changed: 0 });
    expect(h.connector.sent).toHaveLength(7);
  });

  it('puts alerts about the same account within the window into one thread (root + replies)', async () => {
    const alice = h.demo.people.alice;
    for (let i = 0; i < 4; i++) graphAlert(i, { accounts: [alice], kind: i % 2 ? 'passTheHash' : 'bruteForce' });
    graphAlert(9, { accounts: [h.demo.people.bob] });
    const store = await freshStore();
    await notifier(store).runOnce();
    expect(creates()).toHaveLength(2);
    const aliceRoot = creates().find((r) => JSON.stringify(cardOf(r)).includes('Alice Martin'))!;
    const inThread = h.connector.repliesIn(aliceRoot.activityId);
    expect(inThread).toHaveLength(3);
    expect(inThread.every((r) => cardOf(r) !== undefined)).toBe(true);
    expect(h.connector.cardsPosted()).toHaveLength(5);
    // Each reply card is itself addressable for later updates: its location is the reply activity.
    const records = await store.listAlertsForAccount(alice.userPrincipalName, 10);
    expect(records).toHaveLength(4);
    expect(new Set(records.map((r) => r.card?.threadConversationId))).toEqual(new Set([aliceRoot.conversationId]));
    expect(new Set(records.map((r) => r.card?.activityId)).size).toBe(4);
  });

  it('starts a thread per alert when the window is 0', async () => {
    for (let i = 0; i < 3; i++) graphAlert(i, { accounts: [h.demo.people.alice] });
    await notifier(await freshStore(), { threadWindowMinutes: 0 }).runOnce();
    expect(creates()).toHaveLength(3);
    expect(replies()).toHaveLength(0);
  });

  it('updates the card in place and says in its thread what changed; never posts it again', async () => {
    const alert = graphAlert(1, { severity: 'medium' });
    const store = await freshStore();
    const n = notifier(store);
    await n.runOnce();
    const root = creates()[0]!;
    expect(creates()).toHaveLength(1);

    updateAlert(h.demo.tenant, alert.id, { status: 'resolved' }, minutesAgo(1));
    const round = await n.runOnce();
    expect(round.polls[0]).toMatchObject({ changed: 1 });
    expect(round.updates).toMatchObject({ updated: 1, lines: 1, failed: 0 });
    expect(h.connector.updatesFor(root.activityId)).toHaveLength(1);
    expect(JSON.stringify(h.connector.currentActivity(root.activityId))).toContain('Resolved');
    expect(textLines().map((r) => r.activity?.text)).toEqual([expect.stringContaining('Status: new → resolved')]);

    updateAlert(h.demo.tenant, alert.id, { severity: 'high' }, new Date());
    await n.runOnce();
    expect(h.connector.updatesFor(root.activityId)).toHaveLength(2);
    expect(textLines()).toHaveLength(2);
    expect(textLines()[1]!.activity?.text).toMatch(/Severity raised: medium → high/);
    expect(textLines()[1]!.activity?.text).not.toMatch(/Status/);
    expect(h.connector.repliesIn(root.activityId)).toHaveLength(2);

    // Nothing new: no further update, line or post.
    await n.runOnce();
    expect(h.connector.sent.map((r) => r.kind)).toEqual(['create', 'update', 'reply', 'update', 'reply']);
    expect(h.connector.cardsPosted()).toHaveLength(1);
  });

  it('announces new evidence (another account) as a line in the thread', async () => {
    const alert = graphAlert(1, { accounts: [person(1)] });
    const store = await freshStore();
    const n = notifier(store);
    await n.runOnce();
    const withMore = mdiAlert({ id: alert.id, providerAlertId: String(alert.providerAlertId), accounts: [person(1), person(2), person(3)], createdDateTime: String(alert.createdDateTime), lastUpdateDateTime: new Date() });
    putAlert(h.demo.tenant, { ...withMore, title: alert.title, description: alert.description, evidence: withMore.evidence });
    await n.runOnce();
    expect(updates()).toHaveLength(1);
    expect(textLines().map((r) => r.activity?.text)).toEqual([expect.stringContaining('New evidence: 2 accounts')]);
  });

  it('makes one card of an alert seen in both Graph and Sentinel, preferring the Graph copy', async () => {
    const shared = graphAlert(1, { accounts: [h.demo.people.alice] });
    h.la.addAlerts([makeMdiSecurityAlert({ vendorOriginalId: String(shared.providerAlertId), timeGenerated: minutesAgo(20), severity: 'High' })]);
    const store = await freshStore();
    const n = notifier(store, { sources: [h.graphSource(), h.sentinelSource()] });
    const round = await n.runOnce();
    expect(round.polls).toEqual([
      expect.objectContaining({ source: 'graph', created: 1 }),
      expect.objectContaining({ source: 'sentinel', seen: 1, created: 0, changed: 0, keptGraphVersion: 1 }),
    ]);
    expect(h.connector.cardsPosted()).toHaveLength(1);
    expect((await store.getAlertByKey(String(shared.providerAlertId)))?.alert.source).toBe('graph');
    await n.runOnce();
    expect(h.connector.sent).toHaveLength(1);
  });

  it('posts a Sentinel row ingested 20 minutes after it was generated, exactly once; a customised copy never', async () => {
    const store = await freshStore();
    const n = notifier(store, { sources: [h.sentinelSource()] });
    const alice = { name: 'alice', ntDomain: 'CORP', upnSuffix: 'corp.example.test' };
    // A first poll reads an on-time alert: the watermark is now its ingestion time (10 minutes ago).
    h.la.addAlerts([makeMdiSecurityAlert({ vendorOriginalId: 'on-time', timeGenerated: minutesAgo(10), accounts: [alice] })], { ingestedAt: minutesAgo(10) });
    await n.runOnce();
    expect(h.connector.cardsPosted()).toHaveLength(1);
    // Then a row generated 30 minutes ago arrives, ingested only now (20+ minutes late), with a
    // customised copy of it (ExtendedProperties.OriginalProductName) that the connector leaves out.
    h.la.addAlerts([
      makeMdiSecurityAlert({ systemAlertId: 'sys-late', vendorOriginalId: 'late', timeGenerated: minutesAgo(30), accounts: [alice] }),
      makeMdiSecurityAlert({ systemAlertId: 'sys-late-customised', vendorOriginalId: 'late-customised', timeGenerated: minutesAgo(29), accounts: [alice], customised: true }),
    ]);
    await n.runOnce();
    await n.runOnce();
    expect(h.connector.cardsPosted()).toHaveLength(2);
    expect((await store.getAlertByKey('late'))?.alert.sourceId).toBe('sys-late');
    expect(await store.getAlertByKey('late-customised')).toBeUndefined();
  });

  it('lets a Graph copy replace a Sentinel one read first: still one card', async () => {
    const shared = graphAlert(1, { accounts: [h.demo.people.alice] });
    h.la.addAlerts([makeMdiSecurityAlert({ vendorOriginalId: String(shared.providerAlertId), timeGenerated: minutesAgo(20) })]);
    const store = await freshStore();
    const round = await notifier(store, { sources: [h.sentinelSource(), h.graphSource()] }).runOnce();
    expect(round.polls).toEqual([expect.objectContaining({ source: 'sentinel', created: 1 }), expect.objectContaining({ source: 'graph', created: 0 })]);
    expect(h.connector.cardsPosted()).toHaveLength(1);
    expect((await store.getAlertByKey(String(shared.providerAlertId)))?.alert.source).toBe('graph');
  });

  it('posts an alert without account (no account actions) and one with unknown enum values', async () => {
    const withAccount = graphAlert(1);
    const deviceOnly = graphAlert(2, { kind: 'ldapEnumeration', accounts: [] });
    const odd = graphAlert(3, { severity: 'critical', status: 'escalatedFutureValue', extraEvidence: [unknownEvidence()] });
    const store = await freshStore();
    const round = await notifier(store).runOnce();
    expect(round.polls[0]).toMatchObject({ seen: 3, created: 3, filtered: 0 });
    expect(creates()).toHaveLength(3);
    const cardFor = async (id: string) => {
      const record = await store.getAlertByKey(id);
      return JSON.stringify(cardOf(creates().find((r) => r.activityId === record?.card?.activityId)!));
    };
    expect(await cardFor(String(withAccount.providerAlertId))).toContain('"verb":"approve"');
    const deviceCard = await cardFor(String(deviceOnly.providerAlertId));
    expect(deviceCard).not.toContain('"verb":"approve"');
    expect((await store.getAlertByKey(String(odd.providerAlertId)))?.alert).toMatchObject({ severity: 'unknown', status: 'unknown' });
    expect(await cardFor(String(odd.providerAlertId))).toContain('Unknown severity');
  });

  it('records alerts below MIN_SEVERITY without posting them, and posts one once it is raised', async () => {
    const low = graphAlert(1, { severity: 'low' });
    const info = graphAlert(2, { severity: 'informational' });
    graphAlert(3, { severity: 'high' });
    const store = await freshStore();
    const n = notifier(store, { minSeverity: 'medium' });
    const round = await n.runOnce();
    expect(round.polls[0]).toMatchObject({ created: 3, filtered: 2 });
    expect(creates()).toHaveLength(1);
    expect((await store.getAlertByKey(String(low.providerAlertId)))?.postState).toBe('filtered');
    expect((await store.getAlertByKey(String(info.providerAlertId)))?.postState).toBe('filtered');

    updateAlert(h.demo.tenant, low.id, { severity: 'high' }, new Date());
    const raised = await n.runOnce();
    expect(raised.polls[0]).toMatchObject({ requeued: 1 });
    expect(creates()).toHaveLength(2);
    expect(updates()).toHaveLength(0);
  });

  it('logs a failing poll, retries it with backoff, and later alerts still arrive', async () => {
    graphAlert(1);
    const store = await freshStore();
    // 4 failed requests = 2 failed rounds (the Graph client retries once inside a round).
    h.graph.faults.push({ match: (r) => r.path === '/v1.0/security/alerts_v2', status: 503, times: 4 });
    // An hour between polls: only the backoff (50-400 ms here) can bring the retries, so the alert
    // arriving at all shows that backoff, not the poll interval, paced them.
    const n = notifier(store, { pollIntervalSeconds: 3600 });
    const logged = h.log.lines().length;
    n.start();
    await waitFor(() => creates().length === 1, 15_000);
    graphAlert(2);
    await n.runOnce();
    await n.stop();
    expect(creates()).toHaveLength(2);
    const lines = h.log.lines().slice(logged);
    const failures = lines.filter((l) => l.msg === 'polling the alert source failed; retrying with backoff' && l.errorCode === 'UPSTREAM_ERROR');
    expect(failures.length).toBe(2);
    // Each retry was scheduled after a backoff delay within the policy, growing with the failures.
    const scheduled = lines.filter((l) => l.msg === 'next notifier round after backoff').map((l) => [l.failures, l.delayMs] as [number, number]);
    expect(scheduled.map(([failures]) => failures)).toEqual([1, 2]);
    for (const [, delayMs] of scheduled) {
      expect(delayMs).toBeGreaterThanOrEqual(25);
      expect(delayMs).toBeLessThanOrEqual(400);
    }
  });

  it('survives a kill between fetch and post: a new instance posts every alert exactly once', async () => {
    for (let i = 0; i < 5; i++) graphAlert(i);
    const store = await freshStore();
    // The first process polled and stored the alerts, and died before posting (or even storing the
    // watermark: the source's batch is cut off before it).
    const dying: AlertSource = { name: 'graph', fetchChanged: async (since, signal) => ({ ...(await h.graphSource().fetchChanged(since, signal)), watermark: undefined }), fetchById: (id, signal) => h.graphSource().fetchById(id, signal) };
    const polled = await collectAlerts({ store, source: dying, minSeverity: 'low', logger: h.log.logger });
    expect(polled).toMatchObject({ created: 5 });
    expect(await store.getWatermark('alerts:graph')).toBeUndefined();
    expect(h.connector.sent).toHaveLength(0);

    const restarted = notifier(store);
    const round = await restarted.runOnce();
    expect(round.polls[0]).toMatchObject({ seen: 5, created: 0 });
    expect(creates()).toHaveLength(5);
    await restarted.runOnce();
    expect(creates()).toHaveLength(5);
    expect(new Set(postedCodes()).size).toBe(5);
  });

  it('posts alerts a dead instance had claimed, once its claim is stale, and not before', async () => {
    for (let i = 0; i < 3; i++) graphAlert(i);
    const store = await freshStore();
    await collectAlerts({ store, source: h.graphSource(), minSeverity: 'low', logger: h.log.logger });
    expect(await store.claimAlertsToPost('dead-instance', 10, 60_000)).toHaveLength(3);
    let offset = 0;
    const n = notifier(store, { clock: { now: () => new Date(Date.now() + offset) }, tuning: { claimStaleMs: 10 * 60_000 } });
    await n.runOnce();
    expect(creates()).toHaveLength(0);
    offset = 11 * 60_000;
    await n.runOnce();
    expect(creates()).toHaveLength(3);
    await n.runOnce();
    expect(creates()).toHaveLength(3);
  });

  it('keeps alerts pending while no channel exists, and posts them once a channel is subscribed', async () => {
    graphAlert(1);
    const store = await freshStore();
    const n = notifier(store, { channel: null });
    const round = await n.runOnce();
    expect(round.delivery).toMatchObject({ waitingForChannel: true, threads: 0 });
    expect(h.connector.sent).toHaveLength(0);
    await store.saveSubscription({ id: 'soc', conversationReference: h.channel, createdBy: 'alice', createdAt: new Date() });
    await n.runOnce();
    expect(creates()).toHaveLength(1);
  });

  it('stops gracefully and hands the poller lease over at once', async () => {
    graphAlert(1);
    const store = await freshStore();
    const first = notifier(store, { instanceId: 'first' });
    first.start();
    await waitFor(() => creates().length === 1, 10_000);
    await first.stop();
    // Without the release the second instance would wait for the 2-minute lease to expire.
    const second = await notifier(store, { instanceId: 'second' }).runOnce();
    expect(second.leader).toBe(true);
    expect(creates()).toHaveLength(1);
  });

  it('hands a post that Teams refused back to the outbox and posts it next round', async () => {
    graphAlert(1);
    graphAlert(2);
    const store = await freshStore();
    // 403 is not retried by the messenger: the round gives up on it at once.
    h.connector.faults.push({ status: 403, times: 1, kinds: ['create'] });
    const n = notifier(store);
    const first = await n.runOnce();
    expect(first.failed).toBe(true);
    expect(first.delivery!.failed).toBe(1);
    expect(first.delivery!.threads).toBeLessThanOrEqual(1);
    await n.runOnce();
    expect(creates()).toHaveLength(2);
    expect(new Set(postedCodes()).size).toBe(2);
  });
});

const pg = await probePostgres();

describe.skipIf(!pg.available)('notifier: two instances on one PostgreSQL store', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('polls from one instance at a time, fails over after the lease expires, and posts nothing twice', async () => {
    for (let i = 0; i < 4; i++) graphAlert(i);
    const storeA = await h.store(db.url);
    const storeB = await freshStore(db.url);
    const a = h.notifier(storeA, { instanceId: 'instance-a', tuning: { leaseTtlMs: 1500 } });
    const b = notifier(storeB, { instanceId: 'instance-b', tuning: { leaseTtlMs: 1500 } });
    const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
    expect([ra.leader, rb.leader].filter(Boolean)).toHaveLength(1);
    expect(ra.polls.length + rb.polls.length).toBe(1);
    expect(creates()).toHaveLength(4);

    // A dies holding the lease (no stop, no release). B stands by until the lease expires.
    const leader = ra.leader ? a : b;
    const follower = ra.leader ? b : a;
    for (let i = 4; i < 7; i++) graphAlert(i);
    if (leader === a) {
      await storeA.close();
      expect((await follower.runOnce()).leader).toBe(false);
      expect(creates()).toHaveLength(4);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const takeover = await follower.runOnce();
      expect(takeover.leader).toBe(true);
    } else {
      // B led: let A (the survivor) take over after B dies the same way.
      await storeB.close();
      stores.splice(stores.indexOf(storeB), 1);
      notifiers.splice(notifiers.indexOf(b), 1);
      stores.push(storeA);
      notifiers.push(a);
      expect((await a.runOnce()).leader).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect((await a.runOnce()).leader).toBe(true);
    }
    expect(creates()).toHaveLength(7);
    expect(new Set(postedCodes()).size).toBe(7);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('notifier: a source with more to read', () => {
  it('reads on at once when the source read a narrowed window, not after the poll interval; the whole storm is posted once', async () => {
    // 40 alerts, a Graph source reading at most 2 pages of 3: every read is a narrowed window.
    for (let i = 0; i < 40; i++) graphAlert(i, { accounts: [person(i % 4)] });
    const store = await freshStore();
    const n = notifier(store, { pollIntervalSeconds: 3600, sources: [h.graphSourceWith({ pageSize: 3, maxPages: 2 })] });
    n.start();
    const deadline = Date.now() + 60_000;
    while (h.connector.cardsPosted().length < 40 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const polls = h.log.lines().filter((l) => l.msg === 'alert source polled' && l.source === 'graph');
    expect(polls.length).toBeGreaterThan(1);
    expect(polls.slice(0, -1).some((l) => l.more === true)).toBe(true);
    const refs = h.connector.cardsPosted().map((r) => /"title":"Ref","value":"([A-Z0-9]+)"/.exec(JSON.stringify(r.activity))?.[1]);
    expect(refs).toHaveLength(40);
    expect(new Set(refs).size).toBe(40);
  });
});

