import { inSpan, setSpanAttributes } from '../shared/telemetry.ts';
import { telemetryMetrics } from '../shared/telemetry-metrics.ts';
import type { Alert, Severity } from '../domain/alert.ts';
import { severityRank } from '../domain/alert.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertStore } from '../domain/ports/alert-store.ts';
import { recordAlertOnce } from './record-alert.ts';

export interface CollectAlertsDeps {
  store: AlertStore;
  source: AlertSource;
  /** MIN_SEVERITY: new alerts below it are recorded but not posted. */
  minSeverity: Severity;
  logger: Logger;
  now?: () => Date;
  /** Aborts the source call (round timeout, shutdown). */
  signal?: AbortSignal;
}

export interface CollectReport {
  source: string;
  /** Alerts the source returned (overlap re-reads included). */
  seen: number;
  created: number;
  changed: number;
  /** Newly recorded below MIN_SEVERITY: kept, never posted (unless raised later). */
  filtered: number;
  /** Previously filtered alerts whose severity rose to MIN_SEVERITY: queued for posting. */
  requeued: number;
  /** Sentinel copies of alerts already stored from Graph, left alone. */
  keptGraphVersion: number;
  problems: number;
  partial: boolean;
  /** The source has more changes to read at once (it read a narrowed window up to the watermark). */
  more: boolean;
  /** The watermark stored after this poll (ISO), if it moved. */
  watermark?: string;
}

/** Store key of a source's cursor. */
export function watermarkKey(sourceName: string): string {
  return `alerts:${sourceName}`;
}

/**
 * Whether an alert is worth a card. An `unknown` severity (a value the mapper did not know) is
 * posted: a new kind of alert is more likely to matter than not, and filtering must never hide
 * what we cannot rank.
 */
export function meetsMinSeverity(severity: Severity, minSeverity: Severity): boolean {
  return severity === 'unknown' || severityRank(severity) >= severityRank(minSeverity);
}

/**
 * One poll of one alert source: read what changed since the stored watermark, record every alert
 * in the store (the outbox the deliverer drains), then move the watermark. The watermark is
 * written last, so a crash anywhere before it re-reads the same alerts next time (upserts are
 * idempotent) instead of skipping them. A failed source call throws; nothing is stored then.
 */
export async function collectAlerts(deps: CollectAlertsDeps): Promise<CollectReport> {
  const { store, source, minSeverity } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ source: source.name });
  const key = watermarkKey(source.name);
  const stored = await store.getWatermark(key);
  const since = parseWatermark(stored, log);

  // The source's call and its mapping to domain alerts (the adapter's own HTTP spans are children).
  const batch = await inSpan('notifier.fetch', { 'incident.alert.source': source.name }, () => source.fetchChanged(since, deps.signal));

  const report: CollectReport = {
    source: source.name,
    seen: batch.alerts.length,
    created: 0,
    changed: 0,
    filtered: 0,
    requeued: 0,
    keptGraphVersion: 0,
    problems: batch.problems.length,
    partial: batch.partial,
    more: batch.more === true,
  };
  for (const problem of batch.problems) log.warn({ sourceId: problem.sourceId, problem: problem.message }, 'alert source reported a problem');
  if (batch.partial) log.warn({ alerts: batch.alerts.length }, 'alert source returned a partial batch; what came back is recorded');

  await inSpan('notifier.store', { 'incident.alert.source': source.name, 'incident.alerts.seen': batch.alerts.length }, async (span) => {
    for (const alert of batch.alerts) await recordAlert(alert);
    setSpanAttributes(span, { 'incident.alerts.created': report.created, 'incident.alerts.filtered': report.filtered });
  });
  telemetryMetrics.alertsPolled(source.name, report.seen, report.filtered);

  // Never move back: an out-of-order batch must not make the next poll re-read a day of alerts.
  if (batch.watermark && (!since || batch.watermark.getTime() > since.getTime())) {
    report.watermark = batch.watermark.toISOString();
    await store.setWatermark(key, report.watermark, now());
  }
  log.info(report, 'alert source polled');
  return report;

  async function recordAlert(alert: Alert): Promise<void> {
    const outcome = await recordAlertOnce({ store, minSeverity, logger: log, now }, alert);
    if (outcome.keptGraphVersion) {
      report.keptGraphVersion++;
      return;
    }
    if (outcome.created) report.created++;
    if (outcome.changed) report.changed++;
    if (outcome.filtered) report.filtered++;
    if (outcome.requeued) report.requeued++;
  }
}

function parseWatermark(value: string | undefined, log: Logger): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    // A corrupt cursor must not stop polling: start over with the source's first-call look-back.
    log.error({ watermark: value }, 'stored watermark is not a date; polling as if none was stored');
    return undefined;
  }
  return date;
}
