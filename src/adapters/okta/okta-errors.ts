import { AppError } from '../../domain/errors.ts';

/** Okta's error body: {errorCode, errorSummary, errorLink, errorId, errorCauses:[{errorSummary}]}. */
export interface OktaErrorBody {
  errorCode?: string;
  errorSummary?: string;
  errorId?: string;
  errorCauses?: Array<{ errorSummary?: string }>;
}

export interface OktaCallDescription {
  /** What was attempted, e.g. "suspend alice@corp.example.test". */
  action: string;
  /** Which credential the bot used: the words of a 401/403 differ. Default 'api-token'. */
  credential?: 'api-token' | 'oauth';
}

export interface OktaHttpFailure {
  status: number;
  body: OktaErrorBody | undefined;
  /** Seconds until Okta's rate-limit window resets (X-Rate-Limit-Reset), when known. */
  retryAfterSeconds?: number;
}

/**
 * The one place Okta answers become AppErrors, in words an analyst understands. The Okta code
 * (E0000007...) and errorId stay in details for the audit; the token never appears anywhere.
 */
export function oktaErrorToAppError(failure: OktaHttpFailure, call: OktaCallDescription): AppError {
  const { status, body } = failure;
  const oktaCode = body?.errorCode;
  const cause = body?.errorCauses?.map((c) => c.errorSummary).find((s): s is string => typeof s === 'string' && s.length > 0);
  const details: Record<string, unknown> = { status, oktaCode, oktaErrorId: body?.errorId, ...(cause ? { oktaCause: cause.slice(0, 200) } : {}) };
  const tag = oktaCode ? ` (${oktaCode})` : ` (HTTP ${status})`;
  if (call.credential === 'oauth' && (status === 401 || oktaCode === 'E0000011')) {
    return new AppError('UPSTREAM_FORBIDDEN', `Okta refused the bot's OAuth access token while trying to ${call.action}${tag}: check the service app (OKTA_CLIENT_ID, its public key) and that it is active.`, { details });
  }
  if (call.credential === 'oauth' && (status === 403 || oktaCode === 'E0000006')) {
    return new AppError('UPSTREAM_FORBIDDEN', `Okta does not allow the bot's OAuth service app to ${call.action}${tag}: grant it the okta.users.manage and okta.users.read scopes and an admin role that may manage this user's lifecycle.`, { details });
  }
  if (status === 401 || oktaCode === 'E0000011') {
    return new AppError('UPSTREAM_FORBIDDEN', `Okta refused the bot's API token while trying to ${call.action}${tag}: check OKTA_API_TOKEN and that the token has not been revoked or expired.`, { details });
  }
  if (status === 403 || oktaCode === 'E0000006') {
    return new AppError('UPSTREAM_FORBIDDEN', `Okta does not allow the bot's API token to ${call.action}${tag}: the admin who created the token needs a role that may manage this user's lifecycle.`, { details });
  }
  if (status === 404 || oktaCode === 'E0000007') {
    return new AppError('UPSTREAM_NOT_FOUND', `No such user in Okta: could not ${call.action}${tag}.`, { details });
  }
  if (status === 429 || oktaCode === 'E0000047') {
    const wait = failure.retryAfterSeconds;
    return new AppError('UPSTREAM_THROTTLED', `Okta is rate limiting the bot while it tries to ${call.action}${tag}${wait === undefined ? '' : `; retry after ${wait} seconds`}.`, {
      details: { ...details, retryAfterSeconds: wait },
    });
  }
  if (oktaCode === 'E0000001') {
    // Api validation failed: for lifecycle calls, the user is not in a state that allows it.
    const reason = cause ? lowerFirst(cause) : 'the request failed validation';
    return new AppError('CONFLICT', `Okta refused to ${call.action}: ${reason}${tag}.`, { details });
  }
  if (status >= 500) {
    return new AppError('UPSTREAM_ERROR', `Okta failed (HTTP ${status}) while trying to ${call.action}${tag}.`, { details });
  }
  return new AppError('UPSTREAM_ERROR', `Okta rejected the request to ${call.action}${tag}${body?.errorSummary ? `: ${body.errorSummary.slice(0, 200)}` : ''}.`, { details });
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}
