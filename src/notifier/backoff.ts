export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Ceiling however many failures in a row. */
  maxMs: number;
}

/**
 * Delay before retry number `failures` (1 = after the first failure): doubling from `baseMs`,
 * capped, with "equal jitter" (half fixed, half random) so that instances that failed together
 * do not retry together. A service's Retry-After is a floor.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, retryAfterMs = 0, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.max(jittered, Math.min(retryAfterMs, policy.maxMs)));
}

/** Resolves after `ms`, or at once when `signal` aborts (shutdown wakes a sleeping loop). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
