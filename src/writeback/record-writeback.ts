/**
 * Records a write-back: the alert's event becomes jobs in the store's outbox (a comment on the
 * Graph alert, the same on its incident, an update of the alert), then the worker is woken. Only
 * alerts read from Graph are written back; a Sentinel-sourced alert has no Graph alert id (its
 * incident lives in Sentinel's own API), so it is skipped with a log line. With write-back off,
 * nothing is recorded at all. Never throws: a failure is logged and the action goes on.
 */
import { createHash } from 'node:crypto';
import type { AlertWriteback, WritebackEntry } from '../domain/ports/alert-writeback.ts';
import type { AlertStore } from '../domain/ports/alert-store.ts';
import type { NewWritebackJob, WritebackKind, WritebackOutbox } from '../domain/ports/writeback-outbox.ts';
import type { Logger } from '../observability/logger.ts';

export interface WritebackRecorderDeps {
  store: AlertStore & WritebackOutbox;
  enabled: boolean;
  logger: Logger;
  /** Nudges the worker so a job goes out now rather than at its next tick. */
  wake?: () => void;
}

function jobId(eventId: string, kind: WritebackKind): string {
  return createHash('sha256').update(`${eventId}\u0000${kind}`).digest('hex').slice(0, 40);
}

export function createWritebackRecorder(deps: WritebackRecorderDeps): AlertWriteback {
  const log = deps.logger.child({ component: 'writeback' });
  return {
    enabled: deps.enabled,
    async record(alertKey: string, entry: WritebackEntry): Promise<void> {
      if (!deps.enabled) return;
      try {
        const record = await deps.store.getAlertByKey(alertKey);
        if (!record) return;
        const { alert } = record;
        if (alert.source !== 'graph') {
          log.info({ alertKey, source: alert.source }, 'write-back skipped: only alerts read from Graph are written back to Defender');
          return;
        }
        const jobs: NewWritebackJob[] = [];
        const base = { alertKey, target: alert.sourceId };
        if (entry.comment) jobs.push({ ...base, id: jobId(entry.eventId, 'alert-comment'), kind: 'alert-comment', comment: entry.comment });
        if (entry.comment && alert.incidentId) jobs.push({ alertKey, target: alert.incidentId, id: jobId(entry.eventId, 'incident-comment'), kind: 'incident-comment', comment: entry.comment });
        if (entry.update && Object.keys(entry.update).length > 0) jobs.push({ ...base, id: jobId(entry.eventId, 'alert-update'), kind: 'alert-update', update: entry.update });
        if (jobs.length === 0) return;
        const added = await deps.store.enqueueWriteback(jobs);
        log.debug({ alertKey, added, kinds: jobs.map((j) => j.kind) }, 'write-back recorded');
        if (added > 0) deps.wake?.();
      } catch (error) {
        log.error({ err: error, alertKey }, 'write-back could not be recorded; the action itself is unaffected');
      }
    },
  };
}
