/**
 * Settles with `work`, or rejects as soon as `signal` aborts — for calls whose client cannot be
 * cancelled (LDAP, a connector without our timeout policy). The abandoned work runs on: its
 * result is ignored, and its rejection is observed here so it never surfaces as unhandled.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, abortError: () => unknown = () => signal?.reason): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
