/**
 * An abort signal that fires after `ms` (reason: a TimeoutError, as AbortSignal.timeout gives),
 * with `clear()` to call once the work is done. AbortSignal.timeout keeps its signal — and every
 * listener an HTTP client hung on it, with the request, its body and its socket — alive until the
 * timer fires: under load that is every request of the last timeout period (found by the fuzz
 * memory test, issue 16). Clearing the timer lets all of it go with the request.
 */
export interface TimeoutSignal {
  signal: AbortSignal;
  clear(): void;
}

export function timeoutSignal(ms: number): TimeoutSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
