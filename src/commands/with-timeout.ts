/** How one source of a composite answer ended: its value, a failure sentence, or no answer in time. */
export type SourceOutcome<T> = { kind: 'ok'; value: T } | { kind: 'failed'; message: string } | { kind: 'timeout' } | { kind: 'off' };

/**
 * Runs one source with its own deadline so a slow directory cannot hold the whole answer: the
 * answer goes out with what came back, naming what did not. The late call is left to finish on
 * its own (its adapter has its own timeout); its result is ignored.
 */
export async function withTimeout<T>(work: (() => Promise<T>) | undefined, timeoutMs: number, describeError: (error: unknown) => string): Promise<SourceOutcome<T>> {
  if (!work) return { kind: 'off' };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<SourceOutcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
  });
  const run = (async (): Promise<SourceOutcome<T>> => {
    try {
      return { kind: 'ok', value: await work() };
    } catch (error) {
      return { kind: 'failed', message: describeError(error) };
    }
  })();
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
