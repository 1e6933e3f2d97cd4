/**
 * How fast a storm COULD arrive: a greedy schedule of the same posts under the same limits the
 * local connector enforces (Teams: per conversation, a channel with all its threads, 7/1 s,
 * 8/2 s, 60/30 s, 1800/h; 50/s per app and tenant), with the same injected faults (every k-th
 * request refused with Retry-After, which holds the conversation it hit). Zero latency, perfect
 * knowledge: a bound no real sender reaches, to read the achieved rate against.
 * Limits: https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit
 */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface LimitBoundInput {
  /** Posts per thread of the one channel: the first of each is the thread's creation. */
  postsPerThread: readonly number[];
  perConversation: readonly RateWindow[];
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
  // Every post of every thread counts on the channel: threads change nothing but the order, which
  // a zero-latency schedule is free to choose. So: one queue of all posts on one conversation.
  const total = input.postsPerThread.reduce((sum, count) => sum + count, 0);
  const channel: number[] = [];
  const global: number[] = [];
  const share = input.faultShare ?? 0;
  const retryAfter = input.faultRetryAfterMs ?? 1000;
  let blockedUntil = 0;
  let requests = 0;
  let faults = 0;
  let posts = 0;
  let now = 0;
  let last = 0;
  while (posts < total) {
    now = earliest(global, input.global, earliest(channel, input.perConversation, Math.max(now, blockedUntil)));
    requests++;
    if (share > 0 && Math.floor(requests * share) > Math.floor((requests - 1) * share)) {
      faults++;
      blockedUntil = now + retryAfter;
      continue;
    }
    channel.push(now);
    global.push(now);
    posts++;
    last = now;
  }
  return { durationMs: last, posts, faults };
}
