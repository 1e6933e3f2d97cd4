import { LogsQueryClient, LogsQueryResultStatus } from '@azure/monitor-query-logs';
import type { LogsTable } from '@azure/monitor-query-logs';
import type { TokenCredential } from '../azure/azure-credential.ts';
import type { Alert } from '../../domain/alert.ts';
import type { AlertBatch, AlertSource, AlertSourceProblem } from '../../domain/alert-source.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { mapSecurityAlertRow } from './security-alert-mapper.ts';
import { buildSentinelAlertQuery, DEFAULT_ROW_LIMIT, validateKqlPredicate } from './sentinel-query.ts';

export interface CreateSentinelAlertSourceOptions {
  credential: TokenCredential;
  /** Log Analytics query endpoint INCLUDING the version, e.g. https://api.loganalytics.io/v1 (the SDK uses it verbatim). */
  endpoint: string;
  workspaceId: string;
  /** SENTINEL_ALERT_FILTER: a KQL predicate replacing the default MDI product filter. */
  filter?: string;
  /** Re-read this many seconds before the watermark (ingestion delay). Default 300. */
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

/** Log Analytics hosts of the national clouds and their token resource. */
const LOGS_RESOURCES: Record<string, string> = {
  'api.loganalytics.io': 'https://api.loganalytics.io',
  'api.loganalytics.us': 'https://api.loganalytics.us',
  'api.loganalytics.azure.cn': 'https://api.loganalytics.azure.cn',
};

/** Tolerated clock difference between us and the service, added to the end of the timespan. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * MDI alerts from Microsoft Sentinel's SecurityAlert table through the Log Analytics query API.
 * Rows come oldest first and capped, so a full page is safe: the watermark is the newest
 * TimeGenerated read and the next poll continues from there.
 */
export function createSentinelAlertSource(options: CreateSentinelAlertSourceOptions): AlertSource {
  // Fail at start, not at the first poll, on a filter that would change the query's shape.
  const filter = options.filter === undefined || options.filter.trim() === '' ? undefined : validateKqlPredicate(options.filter);
  const overlapMs = (options.overlapSeconds ?? 300) * 1000;
  const lookbackMs = (options.initialLookbackMinutes ?? 1440) * 60_000;
  const rowLimit = options.rowLimit ?? DEFAULT_ROW_LIMIT;
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ source: 'sentinel' });
  const resource = LOGS_RESOURCES[new URL(options.endpoint).hostname.toLowerCase()];
  const client = new LogsQueryClient(options.credential, {
    endpoint: options.endpoint.replace(/\/+$/, ''),
    retryOptions: { maxRetries: options.maxRetries ?? 3, maxRetryDelayInMs: 30_000 },
    // The SDK asks for api.loganalytics.io whatever the endpoint; national clouds need their own
    // resource (a local stand-in or proxy fronts the public one).
    ...(resource && resource !== LOGS_RESOURCES['api.loganalytics.io'] ? { credentials: { scopes: [`${resource}/.default`] } } : {}),
  });

  async function fetchChanged(since: Date | undefined, signal?: AbortSignal): Promise<AlertBatch> {
    const end = now();
    const from = since ? new Date(since.getTime() - overlapMs) : new Date(end.getTime() - lookbackMs);
    const query = buildSentinelAlertQuery({ from, rowLimit, ...(filter === undefined ? {} : { filter }) });
    const abortSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]) : AbortSignal.timeout(options.timeoutMs);
    let result: Awaited<ReturnType<LogsQueryClient['queryWorkspace']>>;
    try {
      result = await client.queryWorkspace(
        options.workspaceId,
        query,
        // The timespan bounds what the service scans; the query's own where clause does the filtering.
        { startTime: from, endTime: new Date(end.getTime() + CLOCK_SKEW_MS) },
        { abortSignal, serverTimeoutInSeconds: Math.max(1, Math.ceil(options.timeoutMs / 1000)), requestOptions: { timeout: options.timeoutMs } },
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw logsErrorToAppError(error, filter !== undefined);
    }

    const problems: AlertSourceProblem[] = [];
    let tables: LogsTable[];
    let partial = false;
    if (result.status === LogsQueryResultStatus.Success) {
      tables = result.tables;
    } else if (result.status === LogsQueryResultStatus.PartialFailure) {
      tables = result.partialTables;
      partial = true;
      problems.push({ message: `Log Analytics returned part of the result only (${result.partialError.code}): ${describeErrorInfo(result.partialError)}` });
    } else {
      throw new AppError('UPSTREAM_ERROR', 'Log Analytics reported the Sentinel alert query as failed.');
    }

    const alerts: Alert[] = [];
    let newest: number | undefined;
    let rows = 0;
    for (const table of tables) {
      for (const row of rowsAsObjects(table)) {
        rows++;
        const generated = row.TimeGenerated instanceof Date ? row.TimeGenerated.getTime() : Date.parse(String(row.TimeGenerated ?? ''));
        // A row seen counts for the watermark even when it cannot be mapped: re-reading it forever helps no one.
        if (!Number.isNaN(generated) && (newest === undefined || generated > newest)) newest = generated;
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
    const watermark = newest === undefined || (since !== undefined && newest < since.getTime()) ? since : new Date(newest);
    log.debug({ from: from.toISOString(), rows, alerts: alerts.length, problems: problems.length, partial }, 'read Sentinel alerts');
    return { alerts, watermark, problems, partial };
  }

  return { name: 'sentinel', fetchChanged };
}

function rowsAsObjects(table: LogsTable): Record<string, unknown>[] {
  const names = table.columnDescriptors.map((column, index) => column.name ?? `Column${index}`);
  return table.rows.map((row) => Object.fromEntries(names.map((name, index) => [name, row[index]])));
}

interface ErrorInfoLike {
  code?: string;
  message?: string;
  details?: ErrorInfoLike[];
  innererror?: ErrorInfoLike;
  innerError?: ErrorInfoLike;
}

/** The most specific message of a Log Analytics error (the innermost one names the problem). */
function describeErrorInfo(info: ErrorInfoLike | undefined, depth = 0): string {
  if (!info || depth > 5) return '';
  const inner = info.innererror ?? info.innerError ?? info.details?.[0];
  const deeper = describeErrorInfo(inner, depth + 1);
  return deeper || (info.message ?? info.code ?? '');
}

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { bodyAsText?: string | null; headers?: { get(name: string): string | undefined } };
}

function logsErrorToAppError(error: unknown, customFilter: boolean): AppError {
  if (isAppError(error)) return error;
  const e = (error ?? {}) as RestErrorLike;
  const status = e.statusCode;
  let body: { error?: ErrorInfoLike } | undefined;
  try {
    body = e.response?.bodyAsText ? (JSON.parse(e.response.bodyAsText) as { error?: ErrorInfoLike }) : undefined;
  } catch {
    body = undefined;
  }
  const serviceCode = body?.error?.code ?? e.code;
  const reason = describeErrorInfo(body?.error).slice(0, 300);
  const details = { status, serviceCode };
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || /abort|timed? ?out/i.test(e.message ?? '')) {
    return new AppError('TIMEOUT', 'Log Analytics did not answer the Sentinel alert query in time.', { cause: error, details });
  }
  if (e.name === 'AuthenticationRequiredError' || e.name === 'AuthenticationError' || /AADSTS\d+/.test(e.message ?? '')) {
    const aadsts = /AADSTS\d+/.exec(e.message ?? '')?.[0];
    return new AppError('UPSTREAM_FORBIDDEN', `Entra ID refused to issue a Log Analytics token${aadsts ? ` (${aadsts})` : ''}: check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or certificate.`, { cause: error, details });
  }
  if (status === 400) {
    return customFilter
      ? new AppError('CONFIG_INVALID', `Log Analytics refused the Sentinel alert query built from SENTINEL_ALERT_FILTER: ${reason || 'the query is not valid'}. Fix the filter or remove it to use the default MDI filter.`, { cause: error, details })
      : new AppError('UPSTREAM_ERROR', `Log Analytics refused the Sentinel alert query: ${reason || 'the query is not valid'}.`, { cause: error, details });
  }
  if (status === 401 || status === 403) {
    return new AppError('UPSTREAM_FORBIDDEN', 'Log Analytics refused the app: give it the Log Analytics Reader (or Microsoft Sentinel Reader) role on the workspace, or the Data.Read permission of the Log Analytics API.', { cause: error, details });
  }
  if (status === 404) {
    return new AppError('UPSTREAM_NOT_FOUND', 'Log Analytics does not know the Sentinel workspace: check SENTINEL_WORKSPACE_ID (the workspace id, a GUID) and LOGS_ENDPOINT.', { cause: error, details });
  }
  if (status === 429) {
    const retryAfter = Number(e.response?.headers?.get('retry-after'));
    return new AppError('UPSTREAM_THROTTLED', `Log Analytics is throttling the Sentinel alert query${Number.isFinite(retryAfter) ? `; retry after ${retryAfter} seconds` : ''}.`, {
      cause: error,
      details: { ...details, ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}) },
    });
  }
  if (status !== undefined && status >= 500) {
    return new AppError('UPSTREAM_ERROR', `Log Analytics failed (HTTP ${status}) on the Sentinel alert query, also after retries.`, { cause: error, details });
  }
  return new AppError('UPSTREAM_ERROR', 'Could not reach Log Analytics for the Sentinel alert query.', { cause: error, details });
}
