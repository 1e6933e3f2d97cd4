/**
 * Typed errors with stable codes. Every failure a user or operator may see is an AppError whose
 * `message` is a sentence safe to show (no secrets, no stack), and whose `code` is kept in logs
 * and the audit. Mapping of vendor errors to these codes happens in the adapters; mapping of
 * codes to HTTP answers or chat replies happens in one place (src/http and src/bot).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INPUT_INVALID'
  | 'NOT_AUTHORIZED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  /** The action does not fit this account (e.g. disabling a synced user in Entra ID): use another. */
  | 'ACTION_NOT_APPLICABLE'
  | 'STORE_UNAVAILABLE'
  | 'DIRECTORY_UNAVAILABLE'
  | 'DIRECTORY_POLICY'
  | 'DIRECTORY_RIGHTS'
  | 'DIRECTORY_NO_SUCH_OBJECT'
  | 'DIRECTORY_TLS_REQUIRED'
  | 'UPSTREAM_THROTTLED'
  | 'UPSTREAM_FORBIDDEN'
  | 'UPSTREAM_NOT_FOUND'
  | 'UPSTREAM_ERROR'
  | 'TIMEOUT'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Extra, non-secret facts for logs and the audit (vendor code, HTTP status...). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** The stable code of any error: an AppError's own, INTERNAL for anything else (a bug, a vendor's raw error). */
export function errorCode(error: unknown): ErrorCode {
  return isAppError(error) ? error.code : 'INTERNAL';
}
