/**
 * How fast a storm COULD arrive: a greedy schedule of the same posts under the same limits the
 * local connector enforces (Teams: per thread 7/1 s, 8/2 s, 60/30 s, 1800/h; 50/s per app; a new
 * thread counts against its channel), with the same injected faults (every k-th request refused
 * with Retry-After, which blocks only the thread it hit). Zero latency, perfect knowledge: a
 * bound no real sender reaches, to read the achieved rate against.
 */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface LimitBoundInput {
  /** Posts per thread: the first of each is the thread's creation (counted on the channel). */
  postsPerThread: readonly number[];
  perThread: readonly RateWindow[];
  global: readonly RateWindow[];
  /** Share of requests refused (deterministic, as the connector does it). */
  faultShare?: number;
  faultRetryAfterMs?: number;
}

export interface LimitBound {
  /** Time of the last accepted post, from the first request (ms). */
  durationMs: number;
  posts: number;
  faults: number;
}

/** Earliest time >= t at which one more request fits all windows over `times` (sorted ascending). */
function earliest(times: number[], windows: readonly RateWindow[], t: number): number {
  let at = t;
  for (let changed = true; changed; ) {
    changed = false;
    for (const w of windows) {
      if (times.length < w.limit) continue;
      // The connector counts accepted requests with `at > now - windowMs`: the limit-th newest must age out.
      const free = times[times.length - w.limit]! + w.windowMs;
      if (free > at) {
        at = free;
        changed = true;
      }
    }
  }
  return at;
}

export function limitBound(input: LimitBoundInput): LimitBound {
  const channel: number[] = [];
  const global: number[] = [];
  const threads = input.postsPerThread.map((count) => ({ remaining: count, created: false, times: [] as number[], blockedUntil: 0 }));
  let channelBlockedUntil = 0;
  const share = input.faultShare ?? 0;
  const retryAfter = input.faultRetryAfterMs ?? 1000;
  let requests = 0;
  let faults = 0;
  let now = 0;
  let last = 0;
  let posts = 0;
  for (;;) {
    let best: { at: number; index: number } | undefined;
    for (const [index, thread] of threads.entries()) {
      if (thread.remaining === 0) continue;
      const own = thread.created ? earliest(thread.times, input.perThread, Math.max(now, thread.blockedUntil)) : earliest(channel, input.perThread, Math.max(now, channelBlockedUntil));
      const at = earliest(global, input.global, own);
      // Ties go to creations: a thread that exists can take replies.
      if (!best || at < best.at || (at === best.at && !thread.created && threads[best.index]!.created)) best = { at, index };
    }
    if (!best) break;
    const thread = threads[best.index]!;
    now = best.at;
    requests++;
    if (share > 0 && Math.floor(requests * share) > Math.floor((requests - 1) * share)) {
      faults++;
      if (thread.created) thread.blockedUntil = now + retryAfter;
      else channelBlockedUntil = now + retryAfter;
      continue;
    }
    global.push(now);
    if (thread.created) thread.times.push(now);
    else {
      channel.push(now);
      thread.created = true;
    }
    thread.remaining--;
    posts++;
    last = now;
  }
  return { durationMs: last, posts, faults };
}
