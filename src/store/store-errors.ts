/**
 * Maps driver errors (pg, node:sqlite) to AppError codes in one place, and strips credentials
 * from database URLs before they reach a log line or an error message.
 */
import { AppError, isAppError } from '../domain/errors.ts';
import { isSqliteBusy } from './sqlite-dialect.ts';

/** `postgres://user:pw@host:5432/db?sslmode=require` -> `postgres://host:5432/db`. */
export function redactDatabaseUrl(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url; // sqlite:<path> carries no credentials
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    // Unparseable: never echo it, it may hold a password.
    return '[unparseable database url]';
  }
}

const PG_UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '3D000', '28P01', '28000']);
const NODE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN']);
// node:sqlite extended result codes.
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
const SQLITE_CANTOPEN = 14;
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;

function fields(error: unknown): { code?: unknown; errcode?: unknown; message?: unknown } {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
}

export function isUniqueViolation(error: unknown): boolean {
  const { code, errcode } = fields(error);
  return code === '23505' || errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY;
}

export function isStoreUnavailable(error: unknown): boolean {
  const { code, errcode, message } = fields(error);
  if (isSqliteBusy(error)) return true;
  if (typeof errcode === 'number' && [SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL].includes(errcode & 0xff)) return true;
  if (typeof code === 'string' && (code.startsWith('08') || PG_UNAVAILABLE_CODES.has(code) || NODE_NETWORK_CODES.has(code))) return true;
  // pg reports a dropped connection or a pool wait timeout as a bare Error.
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/** What a caller sees when a store operation fails: an AppError naming the operation, never a URL. */
export function toStoreError(error: unknown, operation: string): AppError {
  if (isAppError(error)) return error;
  const { code, errcode } = fields(error);
  const details = { operation, driverCode: code ?? errcode };
  if (isUniqueViolation(error)) {
    return new AppError('CONFLICT', `The store refused ${operation}: the record already exists.`, { cause: error, details });
  }
  if (code === '23503' || errcode === SQLITE_CONSTRAINT_FOREIGNKEY) {
    return new AppError('NOT_FOUND', `The store refused ${operation}: a referenced record does not exist.`, { cause: error, details });
  }
  if (isStoreUnavailable(error)) {
    return new AppError('STORE_UNAVAILABLE', `The database is unavailable (${operation} failed).`, { cause: error, details });
  }
  return new AppError('INTERNAL', `The store failed during ${operation}.`, { cause: error, details });
}
