import { afterEach, describe, expect, it } from 'vitest';
import { channelReferenceFromSettings, threadConversationIdOf } from '../../src/bot/conversation-reference.ts';
import { createOutboundPacer, TEAMS_GLOBAL_LIMITS, TEAMS_CONVERSATION_LIMITS, type RateWindow } from '../../src/bot/outbound-pacer.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { Messenger } from '../../src/domain/ports/messenger.ts';
import { deliverAlerts, type DeliverAlertsDeps } from '../../src/notifier/deliver-alerts.ts';
import { resolveDestinations } from '../../src/notifier/destinations.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { makeAccount, makeAlert } from '../support/store-contract.ts';

// The posting drain on its own: a real (in-memory SQLite) outbox, and a messenger stand-in that
// goes through the real Teams pacer with a few ms of latency and records when each call started
// and ended. Alerts are seen one ms apart, so the claim order is the alert order.

const CHANNEL = '19:soc-0000@thread.tacv2';
const channel = channelReferenceFromSettings({ channelId: CHANNEL, serviceUrl: 'https://connector.example.test/', tenantId: 't', botAppId: 'bot', botName: 'Bot' });

interface Call {
  /** The pacer key: the channel for a new thread, the thread for a reply. */
  key: string;
  alert: string;
  start: number;
  end: number;
}

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function outbox(alerts: number, accounts: number): Promise<{ store: Store; accountOf: (key: string) => number }> {
  const log = captureLogger();
  const store = await openStore({ databaseUrl: 'sqlite::memory:', logger: log.logger });
  stores.push(store);
  const base = Date.now() - 60_000;
  for (let i = 0; i < alerts; i++) {
    const a = i % accounts;
    const alert = makeAlert(`alert-${String(i).padStart(4, '0')}`, { accounts: [makeAccount({ samAccountName: `user${a}`, userPrincipalName: `user${a}@corp.example`, sid: `S-1-5-21-1-2-3-${1000 + a}` })] });
    await store.upsertAlert(alert, `fp-${i}`, new Date(base + i));
  }
  return { store, accountOf: (key) => Number(/alert-(\d+)/.exec(key)![1]) % accounts };
}

/** A messenger that paces like the Teams messenger (one request in flight per thread) and records its calls. */
function pacedMessenger(options: { latencyMs?: number; failOn?: (alert: string) => boolean } = {}): { messenger: Messenger; calls: Call[] } {
  const pacer = createOutboundPacer({ maxInFlightPerKey: 1 });
  const calls: Call[] = [];
  let roots = 0;
  const send = async (key: string, alert: string): Promise<void> => {
    const slot = await pacer.acquire(key);
    const call: Call = { key, alert, start: Date.now(), end: Number.NaN };
    try {
      await new Promise((resolve) => setTimeout(resolve, (options.latencyMs ?? 5) * (0.5 + Math.random())));
      if (options.failOn?.(alert)) throw new AppError('UPSTREAM_FORBIDDEN', 'refused');
      calls.push(call);
    } finally {
      call.end = Date.now();
      slot.release();
    }
  };
  const messenger: Messenger = {
    async startThread(ch, message) {
      await send(CHANNEL, String(message.text));
      const root = `root-${++roots}`;
      return { channel: ch, conversationId: CHANNEL, rootActivityId: root, threadConversationId: threadConversationIdOf(CHANNEL, root) };
    },
    async reply(thread, message) {
      await send(thread.threadConversationId, String(message.text));
      return { conversationId: thread.threadConversationId, activityId: `reply-${String(message.text)}` };
    },
    async update() {},
  };
  return { messenger, calls };
}

async function drain(store: Store, messenger: Messenger, overrides: Partial<DeliverAlertsDeps> = {}) {
  const log = captureLogger();
  return deliverAlerts({
    store,
    messenger,
    render: (record) => ({ text: record.key }),
    destinations: await resolveDestinations(store, channel),
    minSeverity: 'low',
    threadWindowMs: 60 * 60_000,
    holder: 'me',
    claimStaleMs: 10 * 60_000,
    logger: log.logger,
    ...overrides,
  });
}

/**
 * Strict check (as in the pacer's tests): Teams sees a request somewhere between its start and its
 * end, so for each request, those that started no later and ended after its start minus the window
 * may all be inside that window with it.
 */
function worstCaseInWindow(calls: Call[], window: RateWindow): number {
  let worst = 0;
  for (const c of calls) worst = Math.max(worst, calls.filter((o) => o.start <= c.start && o.end > c.start - window.windowMs).length);
  return worst;
}

describe('alert delivery: a pipeline under Teams limits', () => {
  it('posts each alert once, in order per account, never over a limit of the channel (new threads and replies alike)', { timeout: 30_000 }, async () => {
    // Teams counts a channel with all its threads as one conversation (8 per 2 s, 60 per 30 s): 60
    // posts are what fits in its first 30 s window.
    const { store, accountOf } = await outbox(60, 12);
    const { messenger, calls } = pacedMessenger();
    const report = await drain(store, messenger);

    expect(report).toMatchObject({ threads: 12, replies: 48, failed: 0 });
    expect(calls).toHaveLength(60);
    expect(new Set(calls.map((c) => c.alert)).size).toBe(60);
    // Grouping and order: one thread per account, its root the account's first alert, replies in alert order.
    const byThread = new Map<string, string[]>();
    const roots = calls.filter((c) => c.key === CHANNEL);
    expect(roots).toHaveLength(12);
    for (const c of calls.filter((c) => c.key !== CHANNEL)) byThread.set(c.key, [...(byThread.get(c.key) ?? []), c.alert]);
    expect(byThread.size).toBe(12);
    for (const root of roots) {
      const thread = [...byThread.entries()].find(([, alerts]) => accountOf(alerts[0]!) === accountOf(root.alert))![1];
      expect(thread.every((alert) => accountOf(alert) === accountOf(root.alert))).toBe(true);
      const sequence = [root.alert, ...thread];
      expect(sequence).toEqual([...sequence].sort());
      expect(root.alert).toBe(`alert-${String(accountOf(root.alert)).padStart(4, '0')}`);
    }
    // Never over a Teams window: on the channel, every thread's calls counted together, and for the app.
    for (const window of TEAMS_CONVERSATION_LIMITS) expect(worstCaseInWindow(calls, window), `${CHANNEL} ${window.limit}/${window.windowMs}`).toBeLessThanOrEqual(window.limit);
    // ...and near the limit: 60 calls at 8 per 2 s take at least 14 s, and not much more.
    const span = Math.max(...calls.map((c) => c.start)) - Math.min(...calls.map((c) => c.start));
    expect(span).toBeGreaterThanOrEqual(13_500);
    expect(span).toBeLessThan(20_000);
    expect(worstCaseInWindow(calls, TEAMS_GLOBAL_LIMITS[0]!)).toBeLessThanOrEqual(TEAMS_GLOBAL_LIMITS[0]!.limit);
    // Nothing is left claimed.
    expect(await store.claimAlertsToPost('other', 1000, 10 * 60_000)).toHaveLength(0);
  });

  it('after a refused post, posts nothing more of that account, and hands back every alert not posted', { timeout: 30_000 }, async () => {
    const { store, accountOf } = await outbox(120, 12);
    // The second alert of account 3 is refused (not retryable): its thread must not continue without it.
    const { messenger, calls } = pacedMessenger({ failOn: (alert) => alert === 'alert-0015' });
    const report = await drain(store, messenger, { batchSize: 20, lookahead: 60 });

    expect(report.failed).toBe(1);
    expect(report.errorCode).toBe('UPSTREAM_FORBIDDEN');
    const posted = new Set(calls.map((c) => c.alert));
    expect(posted.size).toBe(calls.length);
    expect(calls.filter((c) => accountOf(c.alert) === 3).map((c) => c.alert)).toEqual(['alert-0003']);
    // Every alert not posted is pending again (nothing stays claimed until it goes stale).
    const back = await store.claimAlertsToPost('other', 1000, 10 * 60_000);
    expect(back.map((r) => r.key).sort()).toEqual(Array.from({ length: 120 }, (_, i) => `alert-${String(i).padStart(4, '0')}`).filter((key) => !posted.has(key)));
  });

  it('on shutdown (or a lost lease) finishes the posts under way and hands back the claims not started', { timeout: 30_000 }, async () => {
    const { store } = await outbox(200, 40);
    const { messenger, calls } = pacedMessenger({ latencyMs: 20 });
    let asked = 0;
    const report = await drain(store, messenger, { batchSize: 50, lookahead: 150, shouldContinue: async () => ++asked <= 2 });

    expect(asked).toBe(3);
    expect(report.failed).toBe(0);
    expect(report.threads + report.replies).toBe(calls.length);
    expect(calls.length).toBeLessThan(100);
    const back = await store.claimAlertsToPost('other', 1000, 10 * 60_000);
    expect(back).toHaveLength(200 - calls.length);
    expect(new Set([...back.map((r) => r.key), ...calls.map((c) => c.alert)]).size).toBe(200);
  });

  it('keeps no more alerts claimed than the lookahead', { timeout: 30_000 }, async () => {
    const { store } = await outbox(60, 3);
    const { messenger } = pacedMessenger();
    let open = 0;
    let claimedMost = 0;
    const counting = new Proxy(store, {
      get(target, prop) {
        if (prop === 'claimAlertsToPost')
          return async (...args: Parameters<Store['claimAlertsToPost']>) => {
            const claimed = await target.claimAlertsToPost(...args);
            open += claimed.length;
            claimedMost = Math.max(claimedMost, open);
            return claimed;
          };
        if (prop === 'markAlertPosted')
          return async (...args: Parameters<Store['markAlertPosted']>) => {
            open--;
            return target.markAlertPosted(...args);
          };
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    // 3 threads at 8 per 2 s: the claims run well ahead of the posts unless bounded.
    const report = await drain(counting, messenger, { batchSize: 5, lookahead: 12 });
    expect(report).toMatchObject({ threads: 3, replies: 57, failed: 0 });
    expect(claimedMost).toBeGreaterThanOrEqual(10);
    expect(claimedMost).toBeLessThanOrEqual(12);
  });
});
