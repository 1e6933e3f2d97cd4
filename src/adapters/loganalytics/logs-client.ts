import { LogsQueryClient, LogsQueryResultStatus } from '@azure/monitor-query-logs';
import type { LogsErrorInfo, LogsTable, QueryTimeInterval } from '@azure/monitor-query-logs';
import type { TokenCredential } from '../azure/azure-credential.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { tracedAttempt } from '../../shared/telemetry-http.ts';

/**
 * What the Sentinel adapters share about the Log Analytics query API: one way to build the client
 * (endpoint, national-cloud token resource, retries), one way to run a query under a deadline, and
 * one mapping of its failures to AppErrors with a sentence.
 */
export interface CreateLogsClientOptions {
  credential: TokenCredential;
  /** Log Analytics query endpoint INCLUDING the version, e.g. https://api.loganalytics.io/v1 (the SDK uses it verbatim). */
  endpoint: string;
  /** Retries of throttled or failed requests by the SDK (honours Retry-After). Default 3. */
  maxRetries?: number;
}

/** Log Analytics hosts of the national clouds and their token resource. */
const LOGS_RESOURCES: Record<string, string> = {
  'api.loganalytics.io': 'https://api.loganalytics.io',
  'api.loganalytics.us': 'https://api.loganalytics.us',
  'api.loganalytics.azure.cn': 'https://api.loganalytics.azure.cn',
};

export function createLogsClient(options: CreateLogsClientOptions): LogsQueryClient {
  const resource = LOGS_RESOURCES[new URL(options.endpoint).hostname.toLowerCase()];
  return new LogsQueryClient(options.credential, {
    endpoint: options.endpoint.replace(/\/+$/, ''),
    retryOptions: { maxRetries: options.maxRetries ?? 3, maxRetryDelayInMs: 30_000 },
    // A client span per attempt (the SDK's own tracing needs an Azure instrumentation we do not load).
    additionalPolicies: [{ position: 'perRetry', policy: { name: 'incidentBotTracing', sendRequest: (request, next) => tracedAttempt('loganalytics.request', request, () => next(request)) } }],
    // The SDK asks for api.loganalytics.io whatever the endpoint; national clouds need their own
    // resource (a local stand-in or proxy fronts the public one).
    ...(resource && resource !== LOGS_RESOURCES['api.loganalytics.io'] ? { credentials: { scopes: [`${resource}/.default`] } } : {}),
  });
}

export interface RunLogsQueryOptions {
  workspaceId: string;
  query: string;
  /** What the service scans; the query's own where clause does the filtering. */
  timespan: QueryTimeInterval;
  /** Upper bound for each HTTP attempt; also sent as the server-side query timeout. */
  timeoutMs: number;
  /** The caller giving up (its reason is rethrown as is). */
  signal?: AbortSignal;
  /** The query as error sentences name it: "the Sentinel alert query". */
  what: string;
  /** True when an operator's SENTINEL_ALERT_FILTER is part of the query (a 400 then blames it). */
  customFilter: boolean;
}

export interface LogsQueryOutcome {
  tables: LogsTable[];
  /** Set when the service answered with part of the result only (its tables are what came). */
  partial?: { code: string; message: string };
}

/** Runs one query; a failure is an AppError with a sentence, a partial answer is returned as such. */
export async function runLogsQuery(client: LogsQueryClient, options: RunLogsQueryOptions): Promise<LogsQueryOutcome> {
  const { signal, timeoutMs } = options;
  const abortSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  let result: Awaited<ReturnType<LogsQueryClient['queryWorkspace']>>;
  try {
    result = await client.queryWorkspace(options.workspaceId, options.query, options.timespan, {
      abortSignal,
      serverTimeoutInSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)),
      requestOptions: { timeout: timeoutMs },
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw logsErrorToAppError(error, options.what, options.customFilter);
  }
  if (result.status === LogsQueryResultStatus.Success) return { tables: result.tables };
  if (result.status === LogsQueryResultStatus.PartialFailure) {
    return { tables: result.partialTables, partial: { code: result.partialError.code, message: describeErrorInfo(result.partialError) } };
  }
  throw new AppError('UPSTREAM_ERROR', `Log Analytics reported ${options.what} as failed.`);
}

/** Rows as objects keyed by column name (datetime columns come as Date from the SDK). */
export function rowsAsObjects(table: LogsTable): Record<string, unknown>[] {
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
export function describeErrorInfo(info: ErrorInfoLike | LogsErrorInfo | undefined, depth = 0): string {
  if (!info || depth > 5) return '';
  const like = info as ErrorInfoLike;
  const inner = like.innererror ?? like.innerError ?? like.details?.[0];
  const deeper = describeErrorInfo(inner, depth + 1);
  return deeper || (like.message ?? like.code ?? '');
}

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { bodyAsText?: string | null; headers?: { get(name: string): string | undefined } };
}

/** A failed query as one sentence naming `what` ("the Sentinel alert query") and what to check. */
export function logsErrorToAppError(error: unknown, what: string, customFilter: boolean): AppError {
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
    return new AppError('TIMEOUT', `Log Analytics did not answer ${what} in time.`, { cause: error, details });
  }
  if (e.name === 'AuthenticationRequiredError' || e.name === 'AuthenticationError' || /AADSTS\d+/.test(e.message ?? '')) {
    const aadsts = /AADSTS\d+/.exec(e.message ?? '')?.[0];
    return new AppError('UPSTREAM_FORBIDDEN', `Entra ID refused to issue a Log Analytics token${aadsts ? ` (${aadsts})` : ''}: check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or certificate.`, { cause: error, details });
  }
  if (status === 400) {
    return customFilter
      ? new AppError('CONFIG_INVALID', `Log Analytics refused ${what} built from SENTINEL_ALERT_FILTER: ${reason || 'the query is not valid'}. Fix the filter or remove it to use the default MDI filter.`, { cause: error, details })
      : new AppError('UPSTREAM_ERROR', `Log Analytics refused ${what}: ${reason || 'the query is not valid'}.`, { cause: error, details });
  }
  if (status === 401 || status === 403) {
    return new AppError('UPSTREAM_FORBIDDEN', 'Log Analytics refused the app: give it the Log Analytics Reader (or Microsoft Sentinel Reader) role on the workspace, or the Data.Read permission of the Log Analytics API.', { cause: error, details });
  }
  if (status === 404) {
    return new AppError('UPSTREAM_NOT_FOUND', 'Log Analytics does not know the Sentinel workspace: check SENTINEL_WORKSPACE_ID (the workspace id, a GUID) and LOGS_ENDPOINT.', { cause: error, details });
  }
  if (status === 429) {
    const retryAfter = Number(e.response?.headers?.get('retry-after'));
    return new AppError('UPSTREAM_THROTTLED', `Log Analytics is throttling ${what}${Number.isFinite(retryAfter) ? `; retry after ${retryAfter} seconds` : ''}.`, {
      cause: error,
      details: { ...details, ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}) },
    });
  }
  if (status !== undefined && status >= 500) {
    return new AppError('UPSTREAM_ERROR', `Log Analytics failed (HTTP ${status}) on ${what}, also after retries.`, { cause: error, details });
  }
  return new AppError('UPSTREAM_ERROR', `Could not reach Log Analytics for ${what}.`, { cause: error, details });
}
