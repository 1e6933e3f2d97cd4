/** What a failed Teams connector call was (status, network, timeout), whether it is worth another try, and the AppError it ends as. */
import { AppError, type ErrorCode } from '../domain/errors.ts';

/** The Teams messenger's operations, named in logs and errors. */
export type Operation = 'startThread' | 'reply' | 'update' | 'sendPrivate';

/** What failed in one attempt, reduced to what the retry decision and the final error need. */
export type Failure =
  | { kind: 'status'; status: number; retryAfterMs?: number; vendorCode?: string }
  | { kind: 'network'; code: string }
  | { kind: 'timeout'; scope: 'attempt' | 'deadline' }
  | { kind: 'unexpected'; error: unknown };

const RETRY_STATUSES: ReadonlySet<number> = new Set([412, 429, 502, 503, 504]);
// Connection-level failures worth another try (the request may not have reached Teams, or Teams dropped it).
const RETRY_NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function classify(error: unknown, now: number): Failure {
  const e = error as { statusCode?: unknown; code?: unknown; cause?: { code?: unknown }; response?: { status?: unknown; headers?: { get?: (name: string) => string | undefined | null }; parsedBody?: unknown; bodyAsText?: unknown } };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.response?.status === 'number' ? e.response.status : undefined;
  if (status !== undefined && status > 0) {
    const headers = e.response?.headers;
    const header = (name: string) => (typeof headers?.get === 'function' ? headers.get(name) : undefined);
    const retryAfterMsHeader = Number(header('retry-after-ms'));
    const retryAfterMs = Number.isFinite(retryAfterMsHeader) && header('retry-after-ms') ? retryAfterMsHeader : parseRetryAfter(header('retry-after'), now);
    return { kind: 'status', status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...vendorCodeOf(e.response) };
  }
  const codes = [e?.code, e?.cause?.code].filter((c): c is string => typeof c === 'string');
  const network = codes.find((c) => RETRY_NETWORK_CODES.has(c));
  if (network) return { kind: 'network', code: network };
  // Azure core wraps socket failures as REQUEST_SEND_ERROR, with the socket's code in the message.
  if (codes.includes('REQUEST_SEND_ERROR')) {
    const inMessage = [...RETRY_NETWORK_CODES].find((c) => String((error as Error).message).includes(c));
    return { kind: 'network', code: inMessage ?? 'REQUEST_SEND_ERROR' };
  }
  return { kind: 'unexpected', error };
}

export function vendorCodeOf(response: { parsedBody?: unknown; bodyAsText?: unknown } | undefined): { vendorCode?: string } {
  let body = response?.parsedBody;
  if (body === undefined && typeof response?.bodyAsText === 'string') {
    try {
      body = JSON.parse(response.bodyAsText);
    } catch {
      return {};
    }
  }
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? { vendorCode: code } : {};
}

export function isRetryable(failure: Failure, idempotent: boolean): boolean {
  switch (failure.kind) {
    case 'status':
      return RETRY_STATUSES.has(failure.status);
    case 'network':
      return true;
    case 'timeout':
      // A POST that timed out may have landed: a second one would post the message twice.
      return failure.scope === 'attempt' && idempotent;
    case 'unexpected':
      return false;
  }
}

export function toAppError(failure: Failure, facts: { operation: Operation; conversationId: string }, attempts: number): AppError {
  const details: Record<string, unknown> = { ...facts, attempts };
  switch (failure.kind) {
    case 'status': {
      Object.assign(details, { status: failure.status }, failure.vendorCode ? { vendorCode: failure.vendorCode } : {}, failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {});
      const code: ErrorCode =
        failure.status === 429 ? 'UPSTREAM_THROTTLED' : failure.status === 401 || failure.status === 403 ? 'UPSTREAM_FORBIDDEN' : failure.status === 404 ? 'UPSTREAM_NOT_FOUND' : 'UPSTREAM_ERROR';
      const what = code === 'UPSTREAM_THROTTLED' ? 'kept throttling the bot' : code === 'UPSTREAM_FORBIDDEN' ? 'refused the bot access' : code === 'UPSTREAM_NOT_FOUND' ? 'does not know the conversation or message' : 'failed';
      return new AppError(code, `Teams ${what} (HTTP ${failure.status}, ${facts.operation}, ${attempts} attempt${attempts > 1 ? 's' : ''}).`, { details });
    }
    case 'network':
      return new AppError('UPSTREAM_ERROR', `Could not reach Teams (${failure.code}, ${facts.operation}, ${attempts} attempt${attempts > 1 ? 's' : ''}).`, { details: { ...details, networkCode: failure.code } });
    case 'timeout':
      return new AppError('TIMEOUT', failure.scope === 'deadline' ? `Teams did not take the message before its deadline (${facts.operation}).` : `Teams did not answer in time (${facts.operation}).`, { details: { ...details, scope: failure.scope } });
    case 'unexpected':
      return new AppError('UPSTREAM_ERROR', `Posting to Teams failed (${facts.operation}).`, { cause: failure.error, details });
  }
}

export function describe(failure: Failure): string {
  switch (failure.kind) {
    case 'status':
      return `HTTP ${failure.status}${failure.retryAfterMs !== undefined ? ` retry-after ${failure.retryAfterMs}ms` : ''}`;
    case 'network':
      return failure.code;
    case 'timeout':
      return `timeout (${failure.scope})`;
    case 'unexpected':
      return 'unexpected error';
  }
}
