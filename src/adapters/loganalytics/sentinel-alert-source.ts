import type { TokenCredential } from '../azure/azure-credential.ts';
import type { Alert } from '../../domain/alert.ts';
import type { AlertBatch, AlertLookup, AlertSource, AlertSourceProblem } from '../../domain/ports/alert-source.ts';
import { isAppError } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import { createLogsClient, rowsAsObjects, runLogsQuery } from './logs-client.ts';
import { mapSecurityAlertRow } from './security-alert-mapper.ts';
import { buildSentinelAlertByIdQuery, buildSentinelAlertQuery, DEFAULT_ROW_LIMIT, isSystemAlertId, MAX_INGESTION_DELAY_MS, PUSHED_ALERT_LOOKBACK_MS, validateKqlPredicate } from './sentinel-query.ts';

export interface CreateSentinelAlertSourceOptions {
  credential: TokenCredential;
  /** Log Analytics query endpoint INCLUDING the version, e.g. https://api.loganalytics.io/v1 (the SDK uses it verbatim). */
  endpoint: string;
  workspaceId: string;
  /** SENTINEL_ALERT_FILTER: a KQL predicate replacing the default MDI product filter. */
  filter?: string;
  /**
   * Re-read rows ingested this many seconds before the watermark (SENTINEL_OVERLAP_SECONDS).
   * Default 300: a row gets its ingestion time before it becomes queryable.
   */
  overlapSeconds?: number;
  logger: Logger;
  /** Upper bound for each HTTP attempt; also sent as the server-side query timeout. */
  timeoutMs: number;
  /** Retries of throttled or failed requests by the SDK (honours Retry-After). Default 3. */
  maxRetries?: number;
  rowLimit?: number;
  /** Look-back of the first call, when there is no watermark yet. Default 24 hours. */
  initialLookbackMinutes?: number;
  now?: () => Date;
}

/** Tolerated clock difference between us and the service, added to the end of the timespan. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * MDI alerts from Microsoft Sentinel's SecurityAlert table through the Log Analytics query API.
 * Rows come in ingestion order and capped, so a full page is safe: the watermark is the newest
 * ingestion_time() read and the next poll continues from there (see buildSentinelAlertQuery).
 */
export function createSentinelAlertSource(options: CreateSentinelAlertSourceOptions): AlertSource {
  // Fail at start, not at the first poll, on a filter that would change the query's shape.
  const filter = options.filter === undefined || options.filter.trim() === '' ? undefined : validateKqlPredicate(options.filter);
  const overlapMs = (options.overlapSeconds ?? 300) * 1000;
  const lookbackMs = (options.initialLookbackMinutes ?? 1440) * 60_000;
  const rowLimit = options.rowLimit ?? DEFAULT_ROW_LIMIT;
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ source: 'sentinel' });
  const client = createLogsClient({ credential: options.credential, endpoint: options.endpoint, maxRetries: options.maxRetries ?? 3 });

  async function fetchChanged(since: Date | undefined, signal?: AbortSignal): Promise<AlertBatch> {
    const end = now();
    const from = since ? new Date(since.getTime() - overlapMs) : new Date(end.getTime() - lookbackMs);
    const generatedFrom = new Date(from.getTime() - MAX_INGESTION_DELAY_MS);
    const query = buildSentinelAlertQuery({ from, generatedFrom, rowLimit, ...(filter === undefined ? {} : { filter }) });
    const { tables, partial } = await runLogsQuery(client, {
      workspaceId: options.workspaceId,
      query,
      // The timespan bounds TimeGenerated (what the service scans); the query's where clauses do the filtering.
      timespan: { startTime: generatedFrom, endTime: new Date(end.getTime() + CLOCK_SKEW_MS) },
      timeoutMs: options.timeoutMs,
      ...(signal ? { signal } : {}),
      what: 'the Sentinel alert query',
      customFilter: filter !== undefined,
    });
    const problems: AlertSourceProblem[] = [];
    if (partial) problems.push({ message: `Log Analytics returned part of the result only (${partial.code}): ${partial.message}` });

    const alerts: Alert[] = [];
    let newest: number | undefined;
    let rows = 0;
    for (const table of tables) {
      for (const row of rowsAsObjects(table)) {
        rows++;
        const ingested = row.IngestionTime instanceof Date ? row.IngestionTime.getTime() : Date.parse(String(row.IngestionTime ?? ''));
        // A row seen counts for the watermark even when it cannot be mapped: re-reading it forever helps no one.
        if (!Number.isNaN(ingested) && (newest === undefined || ingested > newest)) newest = ingested;
        try {
          const { alert, warnings } = mapSecurityAlertRow(row);
          alerts.push(alert);
          for (const warning of warnings) problems.push({ sourceId: alert.sourceId, message: warning });
        } catch (error) {
          if (!isAppError(error)) throw error;
          const sourceId = typeof row.SystemAlertId === 'string' && row.SystemAlertId !== '' ? row.SystemAlertId : undefined;
          problems.push({ ...(sourceId ? { sourceId } : {}), message: `Skipped a SecurityAlert row: ${error.message}` });
        }
      }
    }
    if (rows >= rowLimit) {
      problems.push({ message: `Read the row limit (${rowLimit}); newer alerts are read on the next poll.` });
    }
    // A partial result may have dropped rows older than the newest one returned: keep the old
    // watermark so the next poll reads them again (the store de-duplicates what comes twice).
    const watermark = partial !== undefined || newest === undefined || (since !== undefined && newest < since.getTime()) ? since : new Date(newest);
    log.debug({ from: from.toISOString(), rows, alerts: alerts.length, problems: problems.length, partial: partial !== undefined }, 'read Sentinel alerts');
    return { alerts, watermark, problems, partial: partial !== undefined };
  }

  /** One alert by SystemAlertId: a KQL query on SecurityAlert through the same client and rules as the poll. */
  async function fetchById(sourceId: string, signal?: AbortSignal): Promise<AlertLookup> {
    if (!isSystemAlertId(sourceId)) return { found: false, reason: 'the id is not a Sentinel SystemAlertId (a GUID)' };
    const end = now();
    const generatedFrom = new Date(end.getTime() - PUSHED_ALERT_LOOKBACK_MS);
    const query = buildSentinelAlertByIdQuery({ systemAlertId: sourceId, generatedFrom, ...(filter === undefined ? {} : { filter }) });
    const { tables } = await runLogsQuery(client, {
      workspaceId: options.workspaceId,
      query,
      timespan: { startTime: generatedFrom, endTime: new Date(end.getTime() + CLOCK_SKEW_MS) },
      timeoutMs: options.timeoutMs,
      ...(signal ? { signal } : {}),
      what: 'the Sentinel alert query by SystemAlertId',
      customFilter: filter !== undefined,
    });
    const row = tables.flatMap((table) => rowsAsObjects(table))[0];
    // Not (yet) queryable rows look the same as unknown ids: the poll reads them once ingested.
    if (!row) return { found: false, reason: 'Sentinel has no MDI alert with this SystemAlertId in SecurityAlert (yet)' };
    const { alert, warnings } = mapSecurityAlertRow(row);
    return { found: true, alert, problems: warnings.map((message) => ({ sourceId: alert.sourceId, message })) };
  }

  return { name: 'sentinel', fetchChanged, fetchById };
}
