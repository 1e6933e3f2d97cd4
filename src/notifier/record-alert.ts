import type { Alert, Severity } from '../domain/alert.ts';
import { fingerprintAlert } from '../domain/alert-fingerprint.ts';
import type { AlertRecord, AlertStore } from '../domain/ports/alert-store.ts';
import type { Logger } from '../observability/logger.ts';
import { meetsMinSeverity } from './collect-alerts.ts';

export interface RecordAlertDeps {
  store: AlertStore;
  minSeverity: Severity;
  logger: Logger;
  now: () => Date;
}

export interface RecordOutcome {
  /** A Sentinel copy of an alert already stored from Graph: left alone. */
  keptGraphVersion: boolean;
  created: boolean;
  changed: boolean;
  filtered: boolean;
  requeued: boolean;
  /** The stored alert after this write (undefined when the Graph version was kept). */
  record?: AlertRecord;
}

/**
 * Records one alert read from its source into the store, the outbox the deliverer drains: the
 * one way in for polled and pushed alerts alike, so both are de-duplicated by alert key, filtered
 * by MIN_SEVERITY and posted by the same deliverer. Idempotent: recording the same alert again
 * changes nothing (a poll after a push, a retried push).
 */
export async function recordAlertOnce(deps: RecordAlertDeps, alert: Alert): Promise<RecordOutcome> {
  const { store, minSeverity, now } = deps;
  const outcome: RecordOutcome = { keptGraphVersion: false, created: false, changed: false, filtered: false, requeued: false };
  // The same provider alert read from both sources is one alert. Graph's copy is richer (account
  // roles, evidence verdicts): a Sentinel copy never replaces it. A Graph copy does replace a
  // Sentinel one, which is an ordinary change (card updated if what it shows differs).
  if (alert.source === 'sentinel') {
    const existing = await store.getAlertByKey(alert.key);
    if (existing && existing.alert.source === 'graph') return { ...outcome, keptGraphVersion: true, record: existing };
  }
  const { created, changed, record } = await store.upsertAlert(alert, fingerprintAlert(alert), now());
  outcome.created = created;
  outcome.changed = changed;
  outcome.record = record;
  const alertLog = deps.logger.child({ alert: record.key, code: record.code });
  const worthPosting = meetsMinSeverity(record.severity, minSeverity);
  // Checked on every read, not only on creation: a crash between the upsert and this write is
  // healed by the overlap re-read (and the deliverer checks the threshold again when it claims).
  if (record.postState === 'pending' && !worthPosting) {
    if (await store.markAlertFiltered(record.key)) {
      outcome.filtered = true;
      outcome.record = { ...record, postState: 'filtered' };
      alertLog.info({ severity: record.severity, minSeverity }, 'alert recorded below MIN_SEVERITY: not posted');
    }
  } else if (record.postState === 'filtered' && worthPosting) {
    if (await store.requeueFilteredAlert(record.key)) {
      outcome.requeued = true;
      outcome.record = { ...record, postState: 'pending' };
      alertLog.info({ severity: record.severity, minSeverity }, 'filtered alert now meets MIN_SEVERITY: queued for posting');
    }
  } else if (created) {
    alertLog.debug({ severity: record.severity, status: record.status }, 'new alert queued for posting');
  } else if (changed) {
    alertLog.info({ severity: record.severity, status: record.status, postState: record.postState }, 'alert changed');
  }
  return outcome;
}
