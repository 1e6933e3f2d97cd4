/**
 * A per-person sliding one-minute window over the commands that fan out to LDAP, Graph, Okta
 * and Log Analytics (`lookup`, `history`, `status`): they share those systems' quotas with
 * containment. Counted in memory, per instance: with N instances behind a load balancer a
 * person gets at most N times the limit, which still bounds a runaway script.
 */
export interface RateLimiter {
  /** Counts one use by `who` if the window allows it; otherwise says how long to wait. */
  take(who: string): { allowed: true } | { allowed: false; used: number; retryAfterMs: number };
}

const WINDOW_MS = 60_000;

export function createRateLimiter(options: { perMinute: number; now: () => Date }): RateLimiter {
  const uses = new Map<string, number[]>();
  let lastSweep = 0;

  /** Drops people whose uses have all left the window, so the map stays as small as the last minute's users. */
  function sweep(at: number): void {
    if (at - lastSweep < WINDOW_MS) return;
    lastSweep = at;
    for (const [who, times] of uses) if (times.every((t) => t <= at - WINDOW_MS)) uses.delete(who);
  }

  return {
    take(who) {
      const at = options.now().getTime();
      sweep(at);
      const recent = (uses.get(who) ?? []).filter((t) => t > at - WINDOW_MS);
      if (recent.length >= options.perMinute) {
        uses.set(who, recent);
        return { allowed: false, used: recent.length, retryAfterMs: recent[0]! + WINDOW_MS - at };
      }
      recent.push(at);
      uses.set(who, recent);
      return { allowed: true };
    },
  };
}
