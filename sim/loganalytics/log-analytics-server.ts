import { randomUUID } from 'node:crypto';
import { startHttpsJsonServer, type JsonReply, type JsonRequest, type RunningServer } from '../https-json-server.ts';
import { KqlError } from './kql/kql-error.ts';
import { runKql, type KqlCell, type KqlColumn, type KqlTable, type KqlType } from './kql/kql-query.ts';

/**
 * Local stand-in for the Log Analytics query API (the Sentinel workspace):
 *   POST /v1/workspaces/{workspaceId}/query  {query, timespan}
 *   -> 200 {tables:[{name:"PrimaryResult", columns:[{name,type}], rows:[[...]]}]}
 * over a `SecurityAlert` table the test seeds. Queries run through a small typed KQL evaluator
 * (kql/kql-query.ts); anything outside it is a 400 in the service's error shape, so a client
 * cannot come to depend on syntax the stand-in would silently misread.
 */

/** SecurityAlert columns in the order Log Analytics returns them, with their Kusto types. */
export const SECURITY_ALERT_COLUMNS = [
  { name: 'TenantId', type: 'string' },
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'DisplayName', type: 'string' },
  { name: 'AlertName', type: 'string' },
  { name: 'AlertSeverity', type: 'string' },
  { name: 'Description', type: 'string' },
  { name: 'ProviderName', type: 'string' },
  { name: 'VendorName', type: 'string' },
  { name: 'VendorOriginalId', type: 'string' },
  { name: 'SystemAlertId', type: 'string' },
  { name: 'ResourceId', type: 'string' },
  { name: 'SourceComputerId', type: 'string' },
  { name: 'AlertType', type: 'string' },
  { name: 'ConfidenceLevel', type: 'string' },
  { name: 'ConfidenceScore', type: 'real' },
  { name: 'IsIncident', type: 'bool' },
  { name: 'StartTime', type: 'datetime' },
  { name: 'EndTime', type: 'datetime' },
  { name: 'ProcessingEndTime', type: 'datetime' },
  { name: 'RemediationSteps', type: 'string' },
  { name: 'ExtendedProperties', type: 'string' },
  { name: 'Entities', type: 'string' },
  { name: 'SourceSystem', type: 'string' },
  { name: 'WorkspaceSubscriptionId', type: 'string' },
  { name: 'WorkspaceResourceGroup', type: 'string' },
  { name: 'ExtendedLinks', type: 'string' },
  { name: 'ProductName', type: 'string' },
  { name: 'ProductComponentName', type: 'string' },
  { name: 'AlertLink', type: 'string' },
  { name: 'Status', type: 'string' },
  { name: 'CompromisedEntity', type: 'string' },
  { name: 'Tactics', type: 'string' },
  { name: 'Techniques', type: 'string' },
  { name: 'SubTechniques', type: 'string' },
  { name: 'Type', type: 'string' },
] as const satisfies readonly KqlColumn[];

export type SecurityAlertColumn = (typeof SECURITY_ALERT_COLUMNS)[number]['name'];

/** A seeded row: omitted strings become "" (Kusto strings are never null), other types null. */
export type SecurityAlertRow = { [K in SecurityAlertColumn]?: string | Date | number | boolean | null };

export type LogAnalyticsFault =
  /** Answer with this status (429 carries Retry-After) instead of running the query. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; times?: number }
  /** 200 with the (optionally truncated) tables AND error PartialError, as the service does on partial failures. */
  | { kind: 'partial'; keepRows?: number; message?: string; times?: number }
  /** Hold the request until `until` resolves, then answer it normally (a slow or stuck service). */
  | { kind: 'hang'; until: Promise<void>; times?: number };

export interface RecordedQuery {
  workspaceId: string;
  query: string;
  timespan: string | undefined;
  status: number;
  rowCount: number | undefined;
  at: Date;
}

export interface LogAnalyticsServerOptions {
  workspaceId: string;
  /** When given, a request is answered 401 unless this accepts its Authorization header. */
  verifyToken?: (authorizationHeader: string | undefined) => boolean;
  /** The service clock for ago(), now() and timespan windows; real time by default. */
  now?: () => Date;
  port?: number;
}

export interface LogAnalyticsServer extends RunningServer {
  workspaceId: string;
  /** The endpoint to give LogsQueryClient verbatim: `${url}/v1`. */
  endpoint: string;
  /**
   * Seeds rows. Each is ingested now (the service clock) unless `ingestedAt` says when: a row
   * whose ingestion_time() is long after its TimeGenerated is a late one.
   */
  addAlerts(rows: SecurityAlertRow[], options?: { ingestedAt?: Date }): void;
  clearAlerts(): void;
  /** Queued faults, consumed in order; each applies to `times` requests (default 1). */
  injectFault(fault: LogAnalyticsFault): void;
  queries: RecordedQuery[];
}

export async function startLogAnalyticsServer(options: LogAnalyticsServerOptions): Promise<LogAnalyticsServer> {
  const columns: KqlColumn[] = [...SECURITY_ALERT_COLUMNS];
  const rows: KqlCell[][] = [];
  const ingestion = new WeakMap<KqlCell[], number>();
  const faults: { fault: LogAnalyticsFault; left: number }[] = [];
  const queries: RecordedQuery[] = [];
  const now = options.now ?? (() => new Date());

  const handler = async (req: JsonRequest): Promise<JsonReply> => {
    const match = /^\/v1\/workspaces\/([^/]+)\/query$/.exec(req.path);
    if (!match) return errorReply(404, 'PathNotFoundError', 'The requested path does not exist');
    if (req.method !== 'POST') return errorReply(405, 'MethodNotAllowed', `The requested method ${req.method} is not supported here (the stand-in serves POST only)`);
    if (options.verifyToken && !options.verifyToken(header(req, 'authorization'))) {
      return errorReply(401, 'AuthorizationRequiredError', 'Valid authentication was not provided', { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' });
    }
    const workspaceId = decodeURIComponent(match[1]!);
    const body = req.body as { query?: unknown; timespan?: unknown } | undefined;
    const record = (status: number, rowCount?: number) => {
      queries.push({ workspaceId, query: typeof body?.query === 'string' ? body.query : '', timespan: typeof body?.timespan === 'string' ? body.timespan : undefined, status, rowCount, at: now() });
    };
    if (workspaceId !== options.workspaceId) {
      record(404);
      return errorReply(404, 'WorkspaceNotFoundError', `The workspace could not be found: ${workspaceId}`);
    }
    if (typeof body?.query !== 'string' || body.query.trim() === '') {
      record(400);
      return errorReply(400, 'BadArgumentError', 'The request had some invalid properties', undefined, { code: 'QueryValidationError', message: "Required property 'query' is missing or empty" });
    }
    const fault = takeFault(faults);
    if (fault?.kind === 'hang') await fault.until;
    if (fault?.kind === 'status') {
      record(fault.status);
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      const code = fault.status === 429 ? 'ThrottledError' : fault.status >= 500 ? 'InternalServerError' : 'BadRequest';
      return errorReply(fault.status, code, `Injected fault: status ${fault.status}`, headers);
    }
    const clock = now().getTime();
    let windowed: KqlTable;
    try {
      windowed = { columns, rows: applyTimespan(rows, typeof body.timespan === 'string' ? body.timespan : undefined, clock) };
    } catch (error) {
      record(400);
      return errorReply(400, 'BadArgumentError', 'The request had some invalid properties', undefined, { code: 'InvalidTimespan', message: (error as Error).message });
    }
    let result: KqlTable;
    try {
      result = runKql(body.query, { tables: { SecurityAlert: windowed }, now: clock, ingestionTimeOf: (row) => ingestion.get(row) ?? null });
    } catch (error) {
      if (!(error instanceof KqlError)) throw error;
      record(400);
      return queryErrorReply(error);
    }
    if (fault?.kind === 'partial') {
      const kept = fault.keepRows === undefined ? result.rows : result.rows.slice(0, fault.keepRows);
      record(200, kept.length);
      return {
        status: 200,
        body: {
          tables: [toWireTable({ columns: result.columns, rows: kept })],
          error: {
            code: 'PartialError',
            message: 'There were some errors when processing your query.',
            correlationId: randomUUID(),
            details: [{ code: 'EngineError', message: fault.message ?? 'Query result set has exceeded the internal data size limit', innererror: { code: 'E_QUERY_RESULT_SET_TOO_LARGE', message: fault.message ?? 'Query result set has exceeded the internal data size limit', severity: 2, severityName: 'Error' } }],
          },
        },
      };
    }
    record(200, result.rows.length);
    return { status: 200, body: { tables: [toWireTable(result)] } };
  };

  const server = await startHttpsJsonServer(handler, options.port === undefined ? {} : { port: options.port });
  return {
    ...server,
    workspaceId: options.workspaceId,
    endpoint: `${server.url}/v1`,
    queries,
    addAlerts(seed, seedOptions = {}) {
      const at = (seedOptions.ingestedAt ?? now()).getTime();
      for (const row of seed) {
        const stored = toStoredRow(row);
        ingestion.set(stored, at);
        rows.push(stored);
      }
    },
    clearAlerts() {
      rows.length = 0;
    },
    injectFault(fault) {
      faults.push({ fault, left: fault.times ?? 1 });
    },
  };
}

function takeFault(faults: { fault: LogAnalyticsFault; left: number }[]): LogAnalyticsFault | undefined {
  const head = faults[0];
  if (!head) return undefined;
  head.left--;
  if (head.left <= 0) faults.shift();
  return head.fault;
}

function header(req: JsonRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function toStoredRow(row: SecurityAlertRow): KqlCell[] {
  const known = new Set<string>(SECURITY_ALERT_COLUMNS.map((c) => c.name));
  for (const key of Object.keys(row)) {
    // A typo in a seeded column would silently become an empty cell: refuse it.
    if (!known.has(key)) throw new Error(`SecurityAlert has no column '${key}'`);
  }
  return SECURITY_ALERT_COLUMNS.map((column) => {
    const value = row[column.name];
    if (column.name === 'Type') return value ?? 'SecurityAlert';
    return toCell(column.type, value, column.name);
  });
}

function toCell(type: KqlType, value: SecurityAlertRow[SecurityAlertColumn], name: string): KqlCell {
  if (value === undefined || value === null) return type === 'string' ? '' : null;
  switch (type) {
    case 'datetime': {
      const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(ms)) throw new Error(`SecurityAlert.${name}: not a datetime: ${String(value)}`);
      return ms;
    }
    case 'string':
      if (typeof value !== 'string') throw new Error(`SecurityAlert.${name}: expected a string`);
      return value;
    case 'real':
      if (typeof value !== 'number') throw new Error(`SecurityAlert.${name}: expected a number`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new Error(`SecurityAlert.${name}: expected a boolean`);
      return value;
    default:
      return value as KqlCell;
  }
}

/** The wire form: datetimes as ISO strings, dynamic as JSON text (the SDK parses both back). */
function toWireTable(table: KqlTable): { name: string; columns: KqlColumn[]; rows: unknown[][] } {
  return {
    name: 'PrimaryResult',
    columns: table.columns.map((c) => ({ name: c.name, type: c.type })),
    rows: table.rows.map((row) =>
      row.map((cell, i) => {
        const type = table.columns[i]!.type;
        if (cell === null) return null;
        if (type === 'datetime') return new Date(cell as number).toISOString();
        if (type === 'dynamic') return JSON.stringify(cell);
        if (type === 'timespan') return formatTimespan(cell as number);
        return cell;
      }),
    ),
  };
}

function formatTimespan(ms: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(ms / 86_400_000);
  const rest = ms % 86_400_000;
  const time = `${pad(Math.floor(rest / 3_600_000))}:${pad(Math.floor((rest % 3_600_000) / 60_000))}:${pad(Math.floor((rest % 60_000) / 1000))}`;
  return days > 0 ? `${days}.${time}` : time;
}

/** Filters TimeGenerated by the body's timespan: "PT1H", "start/end", "start/PT1H" or "PT1H/end". */
function applyTimespan(rows: KqlCell[][], timespan: string | undefined, now: number): KqlCell[][] {
  if (timespan === undefined) return rows;
  const [first, second] = timespan.split('/');
  let start: number;
  let end: number;
  if (second === undefined) {
    end = now;
    start = now - parseIsoDuration(first!);
  } else if (first!.startsWith('P')) {
    end = parseInstant(second);
    start = end - parseIsoDuration(first!);
  } else if (second.startsWith('P')) {
    start = parseInstant(first!);
    end = start + parseIsoDuration(second);
  } else {
    start = parseInstant(first!);
    end = parseInstant(second);
  }
  const timeIndex = SECURITY_ALERT_COLUMNS.findIndex((c) => c.name === 'TimeGenerated');
  return rows.filter((row) => {
    const t = row[timeIndex];
    return typeof t === 'number' && t >= start && t <= end;
  });
}

function parseInstant(text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`Invalid timespan instant '${text}'`);
  return ms;
}

function parseIsoDuration(text: string): number {
  const m = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) throw new Error(`Invalid ISO 8601 duration '${text}' (the stand-in supports W, D, H, M, S)`);
  const [, w, d, h, min, s] = m.map((v) => Number(v ?? 0));
  return (((w! * 7 + d!) * 24 + h!) * 60 + min!) * 60_000 + s! * 1000;
}

function errorReply(status: number, code: string, message: string, headers?: Record<string, string>, innererror?: Record<string, unknown>): JsonReply {
  return {
    status,
    headers: headers ?? {},
    body: { error: { message, code, correlationId: randomUUID(), ...(innererror ? { innererror } : {}) } },
  };
}

function queryErrorReply(error: KqlError): JsonReply {
  const detail: Record<string, unknown> = { code: error.detailCode, message: error.message };
  if (error.line !== undefined) Object.assign(detail, { line: error.line, pos: error.pos, token: error.token });
  const outer = error.kind === 'SyntaxError' ? 'A recognition error occurred in the query.' : 'A semantic error occurred.';
  return errorReply(400, 'BadArgumentError', 'The request had some invalid properties', undefined, { code: error.kind, message: outer, innererror: detail });
}
