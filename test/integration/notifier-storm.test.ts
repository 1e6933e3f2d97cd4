import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mdiAlert, type AccountInput } from '../../sim/graph/graph-alert-factory.ts';
import { TEAMS_RATE_LIMITS } from '../../sim/teams/bot-connector-server.ts';
import { putAlert } from '../../sim/tenant.ts';
import { startNotifierHarness, type NotifierHarness } from '../../sim/harness/notifier-harness.ts';

// An alert storm: MDI alerts read from the local Graph (real adapter) and posted
// through the Teams messenger to a connector that enforces Teams' rate limits AND answers 429 with
// Retry-After to a share of requests (default 1 in 20). Every alert must arrive exactly once.

// STORM_ALERTS / STORM_429_SHARE override the size and fault share for experiments.
// Teams (and the connector stand-in) count every post of a channel, new threads and replies in
// all its threads, on the channel (7/1 s, 8/2 s, 60/30 s, 1,800/h): a channel takes at most 2
// posts a second over time, and 1,800 an hour. 120 alerts about 12 accounts, interleaved in time
// (12 threads, 108 replies), go past two 30 s windows in about 45 s.
const ALERTS = Number(process.env.STORM_ALERTS ?? 120);
const ACCOUNTS = Number(process.env.STORM_ACCOUNTS ?? 12);
// Each 429 holds its conversation (the channel) for its Retry-After (1 s).
const SHARE = Number(process.env.STORM_429_SHARE ?? 0.05);

let h: NotifierHarness;

beforeAll(async () => {
  h = await startNotifierHarness({ graphPageSize: 200 });
});
afterAll(async () => {
  await h?.close();
});

function person(i: number): AccountInput {
  return { accountName: `storm${i}`, domainName: 'CORP', userSid: `S-1-5-21-7000-8000-9000-${10_000 + i}`, userPrincipalName: `storm${i}@corp.example.test`, displayName: `Storm ${i}`, roles: ['compromised'] };
}

describe('notifier storm', () => {
  it('posts a storm of alerts into one channel exactly once through 429s with Retry-After and Teams rate limits', { timeout: 170_000 }, async () => {
    const start = Date.now() - 60 * 60_000;
    for (let i = 0; i < ALERTS; i++) {
      const at = new Date(start + i * 1000);
      putAlert(h.demo.tenant, mdiAlert({ accounts: [person(i % ACCOUNTS)], createdDateTime: at, lastUpdateDateTime: at, device: null }));
    }
    h.connector.rateLimits = TEAMS_RATE_LIMITS;
    h.connector.faults.push({ status: 429, retryAfterSeconds: 1, share: SHARE });
    const store = await h.store();
    const notifier = h.notifier(store, { tuning: { leaseTtlMs: 120_000 } });
    const started = Date.now();
    const round = await notifier.runOnce();
    const seconds = (Date.now() - started) / 1000;
    await notifier.stop();

    expect(round.polls[0]).toMatchObject({ seen: ALERTS, created: ALERTS });
    expect(round.delivery).toMatchObject({ threads: ACCOUNTS, replies: ALERTS - ACCOUNTS, failed: 0 });
    const cards = h.connector.cardsPosted();
    expect(cards).toHaveLength(ALERTS);
    const codes = cards.map((r) => /"title":"Ref","value":"([A-Z0-9]+)"/.exec(JSON.stringify(r.activity))?.[1]);
    expect(new Set(codes).size).toBe(ALERTS);
    expect(h.connector.sent.filter((r) => r.kind === 'create')).toHaveLength(ACCOUNTS);
    const injected = h.connector.rejected.filter((r) => r.reason === 'fault').length;
    const limited = h.connector.rejected.filter((r) => r.reason === 'rate-limit').length;
    expect(h.connector.sent).toHaveLength(ALERTS); // nothing but the cards: no retry got through twice
    // The connector fails exactly floor(requests x share) requests; each was retried until it got in.
    expect(injected).toBe(Math.floor((h.connector.sent.length + h.connector.rejected.length) * SHARE));
    await store.close();
    console.log(
      `[storm] ${ALERTS} alerts (${ACCOUNTS} threads, ${ALERTS - ACCOUNTS} replies) in ${seconds.toFixed(1)} s = ${(ALERTS / seconds).toFixed(1)} cards/s; ` +
        `${injected} injected 429s, ${limited} rate-limit 429s, poll + post in one round`,
    );
  });
});
