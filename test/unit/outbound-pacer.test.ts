import { describe, expect, it } from 'vitest';
import { createOutboundPacer, TEAMS_GLOBAL_LIMITS, TEAMS_CONVERSATION_LIMITS, type PacerClock, type PacerSlot, type RateWindow } from '../../src/bot/outbound-pacer.ts';

// The pacer against a virtual clock: time moves only when the test says so, so limits are checked
// exactly (not "roughly, given scheduler noise") and an hour of Teams limits runs in milliseconds.

interface Sleeper {
  at: number;
  resolve: () => void;
}

function virtualClock(start = 0): PacerClock & { advanceTo(target: number): Promise<void>; runUntilIdle(limitMs?: number): Promise<void>; pending(): number } {
  let now = start;
  const sleepers: Sleeper[] = [];
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const clock = {
    now: () => now,
    sleep(ms: number, signal?: AbortSignal) {
      return new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const sleeper: Sleeper = { at: now + Math.max(0, ms), resolve };
        sleepers.push(sleeper);
        signal?.addEventListener(
          'abort',
          () => {
            const i = sleepers.indexOf(sleeper);
            if (i >= 0) sleepers.splice(i, 1);
            resolve();
          },
          { once: true },
        );
      });
    },
    async advanceTo(target: number) {
      for (;;) {
        await flush();
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (!next || next.at > target) break;
        sleepers.shift();
        now = Math.max(now, next.at);
        next.resolve();
      }
      now = Math.max(now, target);
      await flush();
    },
    /** Runs virtual time until nothing sleeps any more (or the limit, to catch a pacer that never grants). */
    async runUntilIdle(limitMs = 10 * 3_600_000) {
      for (;;) {
        await flush();
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (!next) return;
        if (next.at > start + limitMs) throw new Error(`virtual clock passed ${limitMs} ms with sleepers left`);
        await clock.advanceTo(next.at);
      }
    },
    pending: () => sleepers.length,
  };
  return clock;
}

interface Grant {
  key: string;
  label: number;
  start: number;
  end: number;
}

/**
 * Starts `count` requests per key at once; each holds its slot `latencyMs` (virtual) and releases.
 * Returns the grants in grant order.
 */
async function storm(options: { keys: string[]; count: number; latencyMs: number; perConversation?: readonly RateWindow[]; global?: readonly RateWindow[]; maxInFlightPerKey?: number }): Promise<{ grants: Grant[]; clock: ReturnType<typeof virtualClock> }> {
  const clock = virtualClock();
  const pacer = createOutboundPacer({ clock, perConversation: options.perConversation, global: options.global, maxInFlightPerKey: options.maxInFlightPerKey });
  const grants: Grant[] = [];
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < options.count; i++) {
    for (const key of options.keys) {
      jobs.push(
        (async () => {
          const slot = await pacer.acquire(key);
          const grant: Grant = { key, label: i, start: clock.now(), end: Number.NaN };
          grants.push(grant);
          await clock.sleep(options.latencyMs);
          grant.end = clock.now();
          slot.release();
        })(),
      );
    }
  }
  await clock.runUntilIdle();
  await Promise.all(jobs);
  expect(pacer.stats()).toMatchObject({ waiting: 0, inFlight: 0 });
  return { grants, clock };
}

/**
 * The strict check: the service sees each request at some instant between its start and its end.
 * For every request i, the requests j that may still be inside i's window at i's arrival (j started
 * no later, and ended after start_i - W) must number at most `limit`, counting i itself.
 */
function worstCaseInWindow(grants: Grant[], window: RateWindow): number {
  let worst = 0;
  for (const g of grants) {
    const inWindow = grants.filter((o) => o.start <= g.start && o.end > g.start - window.windowMs).length;
    worst = Math.max(worst, inWindow);
  }
  return worst;
}

describe('outbound pacer: Teams limits', () => {
  it('grants 7 at once, then 1 after a second (8 per 2 s), exactly on time', async () => {
    const { grants } = await storm({ keys: ['thread-a'], count: 24, latencyMs: 0, global: [] });
    expect(grants.map((g) => g.start)).toEqual([...Array(7).fill(0), 1000, ...Array(7).fill(2000), 3000, ...Array(7).fill(4000), 5000]);
  });

  it('never exceeds any per-thread window, whatever the latency, and keeps near the limit', async () => {
    const { grants } = await storm({ keys: ['t1', 't2', 't3'], count: 130, latencyMs: 37, global: TEAMS_GLOBAL_LIMITS });
    expect(grants).toHaveLength(390);
    for (const key of ['t1', 't2', 't3']) {
      const mine = grants.filter((g) => g.key === key);
      for (const window of TEAMS_CONVERSATION_LIMITS) expect(worstCaseInWindow(mine, window), `${key} ${window.limit}/${window.windowMs}`).toBeLessThanOrEqual(window.limit);
      // 60 per 30 s binds: 130 messages need the third 30 s window, so the last goes out after 60 s (plus round-trips).
      const last = mine.at(-1)!.start;
      expect(last).toBeGreaterThanOrEqual(60_000);
      expect(last).toBeLessThan(60_000 + 3 * 1000);
    }
    expect(worstCaseInWindow(grants, TEAMS_GLOBAL_LIMITS[0]!)).toBeLessThanOrEqual(50);
  });

  it('counts every thread of a channel on the channel (Teams limits per conversation), keeping each thread in order', async () => {
    const channel = '19:soc@thread.tacv2';
    const threads = Array.from({ length: 40 }, (_, i) => `${channel};messageid=${1_700_000_000_000 + i}`);
    const { grants } = await storm({ keys: [channel, ...threads], count: 3, latencyMs: 20, global: TEAMS_GLOBAL_LIMITS, maxInFlightPerKey: 1 });
    expect(grants).toHaveLength(123);
    // 123 calls on one conversation: 8 per 2 s, then 60 per 30 s, whichever thread they address.
    for (const window of TEAMS_CONVERSATION_LIMITS) expect(worstCaseInWindow(grants, window), `${window.limit}/${window.windowMs}`).toBeLessThanOrEqual(window.limit);
    expect(Math.max(...grants.map((g) => g.start))).toBeGreaterThanOrEqual(60_000);
    for (const key of threads) expect(grants.filter((g) => g.key === key).map((g) => g.label)).toEqual([0, 1, 2]);
    // Another channel has its own budget: its threads are not held up by this one.
    const two = await storm({ keys: [`${channel};messageid=1`, '19:other@thread.tacv2;messageid=2'], count: 8, latencyMs: 0, global: [] });
    for (const key of [`${channel};messageid=1`, '19:other@thread.tacv2;messageid=2']) expect(two.grants.filter((g) => g.key === key && g.start === 0)).toHaveLength(7);
    expect(two.grants.filter((g) => g.start === 0)).toHaveLength(14);
  });

  it('holds 1800 per hour per thread', async () => {
    const perConversation: RateWindow[] = [{ limit: 1800, windowMs: 3_600_000 }];
    const { grants } = await storm({ keys: ['busy'], count: 1805, latencyMs: 1, perConversation, global: [] });
    expect(worstCaseInWindow(grants, perConversation[0]!)).toBe(1800);
    expect(grants.slice(1800).every((g) => g.start >= 3_600_000)).toBe(true);
  });

  it('shares the global budget (50 per second) across many threads', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `thread-${i}`);
    const { grants } = await storm({ keys, count: 5, latencyMs: 20 });
    expect(grants).toHaveLength(200);
    expect(worstCaseInWindow(grants, TEAMS_GLOBAL_LIMITS[0]!)).toBeLessThanOrEqual(50);
    // 200 requests at 50/s (plus one round-trip per window): about 4 s, not more than 4.1 s.
    const last = grants.at(-1)!.start;
    expect(last).toBeGreaterThanOrEqual(3000);
    expect(last).toBeLessThanOrEqual(3 * 1020 + 100);
  });
});

describe('outbound pacer: order and waiting', () => {
  it('serves each key first-in first-out, and a blocked key does not hold up another', async () => {
    const { grants } = await storm({ keys: ['slow', 'fast'], count: 30, latencyMs: 3, perConversation: TEAMS_CONVERSATION_LIMITS, global: [{ limit: 10, windowMs: 1000 }] });
    for (const key of ['slow', 'fast']) {
      const labels = grants.filter((g) => g.key === key).map((g) => g.label);
      expect(labels).toEqual([...labels].sort((a, b) => a - b));
    }
  });

  it('lets a key with budget through while another key waits on its own window', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, perConversation: [{ limit: 1, windowMs: 10_000 }], global: [] });
    (await pacer.acquire('a')).release();
    const order: string[] = [];
    const a = pacer.acquire('a').then((s) => (order.push(`a@${clock.now()}`), s.release()));
    const b = pacer.acquire('b').then((s) => (order.push(`b@${clock.now()}`), s.release()));
    await clock.runUntilIdle();
    await Promise.all([a, b]);
    expect(order).toEqual(['b@0', 'a@10000']);
  });

  it('with maxInFlightPerKey 1, the next request of a key waits for the answer to the previous one', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, maxInFlightPerKey: 1 });
    const first = await pacer.acquire('k');
    let second: PacerSlot | undefined;
    void pacer.acquire('k').then((s) => (second = s));
    await clock.advanceTo(5000);
    expect(second).toBeUndefined();
    first.release();
    await clock.advanceTo(5001);
    expect(second).toBeDefined();
  });

  it('a waiter whose signal aborts leaves the queue, rejects with the reason, and the next one goes', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, perConversation: [{ limit: 1, windowMs: 1000 }], global: [] });
    (await pacer.acquire('k')).release();
    const controller = new AbortController();
    const aborted = pacer.acquire('k', { signal: controller.signal });
    const next = pacer.acquire('k');
    controller.abort(new Error('deadline'));
    await expect(aborted).rejects.toThrow('deadline');
    await clock.runUntilIdle();
    await next;
    expect(clock.now()).toBe(1000);
    expect(pacer.stats()).toMatchObject({ waiting: 0, inFlight: 1 });
  });

  it('a front acquire (a retry) goes before the messages queued behind it', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, perConversation: [{ limit: 1, windowMs: 1000 }], global: [] });
    (await pacer.acquire('k')).release();
    const order: string[] = [];
    const later = pacer.acquire('k').then((s) => (order.push('later'), s.release()));
    const retry = pacer.acquire('k', { front: true }).then((s) => (order.push('retry'), s.release()));
    await clock.runUntilIdle();
    await Promise.all([later, retry]);
    expect(order).toEqual(['retry', 'later']);
  });
});

describe('outbound pacer: Retry-After', () => {
  it('holds the paused key for the whole Retry-After, and other keys only for the global cap', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, globalPauseCapMs: 1000 });
    (await pacer.acquire('throttled')).release();
    pacer.pause('throttled', 5000, { global: true });
    const at: Record<string, number> = {};
    const t = pacer.acquire('throttled').then((s) => ((at.throttled = clock.now()), s.release()));
    const o = pacer.acquire('other').then((s) => ((at.other = clock.now()), s.release()));
    await clock.runUntilIdle();
    await Promise.all([t, o]);
    expect(at).toEqual({ throttled: 5000, other: 1000 });
  });

  it('a pause without global leaves other keys alone, and a shorter pause never shortens a longer one', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock });
    pacer.pause('k', 3000);
    pacer.pause('k', 1000);
    const at: Record<string, number> = {};
    const k = pacer.acquire('k').then((s) => ((at.k = clock.now()), s.release()));
    const o = pacer.acquire('o').then((s) => ((at.o = clock.now()), s.release()));
    await clock.runUntilIdle();
    await Promise.all([k, o]);
    expect(at).toEqual({ k: 3000, o: 0 });
  });

  it('a request refused with 429 (released as throttled) does not spend a slot; an answered one does', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, perConversation: [{ limit: 2, windowMs: 30_000 }], global: [] });
    (await pacer.acquire('19:c;messageid=1')).release({ throttled: true });
    (await pacer.acquire('19:c;messageid=2')).release();
    let third = false;
    void pacer.acquire('19:c;messageid=3').then((slot) => {
      third = true;
      slot.release();
    });
    await clock.advanceTo(1);
    expect(third).toBe(true);
    // Now two answered requests fill the window: the next one waits the 30 s.
    let fourth = -1;
    void pacer.acquire('19:c').then((slot) => {
      fourth = clock.now();
      slot.release();
    });
    await clock.advanceTo(29_000);
    expect(fourth).toBe(-1);
    await clock.runUntilIdle();
    expect(fourth).toBeGreaterThanOrEqual(30_000);
  });

  it('forgets idle keys once their windows have passed (no unbounded growth)', async () => {
    const clock = virtualClock();
    const pacer = createOutboundPacer({ clock, perConversation: [{ limit: 7, windowMs: 1000 }], global: [] });
    for (let i = 0; i < 100; i++) (await pacer.acquire(`thread-${i}`)).release();
    expect(pacer.stats().keys).toBe(100);
    await clock.advanceTo(1001);
    (await pacer.acquire('another')).release();
    expect(pacer.stats().keys).toBe(1);
  });
});
