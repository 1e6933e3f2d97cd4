/**
 * Sends the write-back outbox to Defender: claims due jobs under a lease (two instances never
 * send one job at once; a dead instance's claim lapses and is taken over), sends each, and marks
 * it sent, or due again later with exponential backoff, or given up (a refusal that a retry cannot
 * fix, or too many attempts). Only the error code is kept, never a message or a body. After a job
 * of an alert settles, its card is asked to re-render (its write-back line).
 */
import { randomUUID } from 'node:crypto';
import { errorCode, isAppError } from '../domain/errors.ts';
import type { DefenderWriteback } from '../domain/ports/defender-writeback.ts';
import type { WritebackJob, WritebackOutbox } from '../domain/ports/writeback-outbox.ts';
import type { Logger } from '../observability/logger.ts';

export interface WritebackWorkerDeps {
  store: WritebackOutbox;
  defender: DefenderWriteback;
  logger: Logger;
  instanceId: string;
  /** First retry delay; doubled per attempt up to MAX_BACKOFF_MS. */
  retryBaseMs: number;
  /** Bound on one Graph call. */
  timeoutMs: number;
  /** An alert's write-back state changed (its card may show it). */
  onSettled?: (alertKey: string) => Promise<void>;
  now?: () => Date;
}

export interface WritebackWorker {
  /** Sends what is due, round after round, until nothing is; the number of jobs settled. */
  drain(): Promise<number>;
}

const MAX_ATTEMPTS = 8;
const MAX_BACKOFF_MS = 30 * 60_000;
const BATCH = 20;
const MAX_ROUNDS = 25;

/** A retry cannot fix a refusal: bad request, no permission, no such alert. Throttling and 5xx can be. */
function retryable(error: unknown): boolean {
  const code = errorCode(error);
  if (code === 'UPSTREAM_FORBIDDEN' || code === 'UPSTREAM_NOT_FOUND' || code === 'INPUT_INVALID') return false;
  const status = isAppError(error) ? Number((error.details as Record<string, unknown> | undefined)?.status) : NaN;
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return false;
  return true;
}

export function createWritebackWorker(deps: WritebackWorkerDeps): WritebackWorker {
  const log = deps.logger.child({ component: 'writeback-worker' });
  const now = deps.now ?? (() => new Date());
  const holder = `${deps.instanceId}:writeback:${randomUUID()}`;
  // The claim outlives the calls it covers: one attempt per job, each bounded by timeoutMs.
  const leaseMs = deps.timeoutMs * (BATCH + 1);

  async function send(job: WritebackJob): Promise<void> {
    const signal = AbortSignal.timeout(deps.timeoutMs);
    if (job.kind === 'alert-comment') await deps.defender.commentAlert(job.target, job.comment ?? '', { signal });
    else if (job.kind === 'incident-comment') await deps.defender.commentIncident(job.target, job.comment ?? '', { signal });
    else await deps.defender.updateAlert(job.target, job.update ?? {}, { signal });
  }

  async function settle(job: WritebackJob): Promise<void> {
    const jlog = log.child({ job: job.id, alertKey: job.alertKey, kind: job.kind, attempt: job.attempts });
    try {
      await send(job);
      await deps.store.markWritebackSent(job.id, holder, now());
      jlog.info('written back to Defender');
    } catch (error) {
      const code = errorCode(error);
      const again = retryable(error) && job.attempts < MAX_ATTEMPTS;
      const retryAt = again ? new Date(now().getTime() + Math.min(MAX_BACKOFF_MS, deps.retryBaseMs * 2 ** (job.attempts - 1))) : undefined;
      await deps.store.markWritebackFailed(job.id, holder, { errorCode: code, ...(retryAt ? { retryAt } : {}) }, now());
      jlog.warn({ code, retryAt: retryAt?.toISOString(), gaveUp: !again }, again ? 'write-back failed; retried later from the outbox' : 'write-back failed; given up');
    }
  }

  return {
    async drain() {
      let settled = 0;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const jobs = await deps.store.claimWritebacks(holder, BATCH, leaseMs, now());
        if (jobs.length === 0) break;
        for (const job of jobs) await settle(job);
        settled += jobs.length;
        for (const alertKey of new Set(jobs.map((j) => j.alertKey))) await deps.onSettled?.(alertKey).catch((error: unknown) => log.warn({ err: error, alertKey }, 'card refresh after write-back failed'));
      }
      return settled;
    },
  };
}
