import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import type { Secret } from '../../domain/secret.ts';
import { oktaErrorToAppError, type OktaErrorBody } from './okta-errors.ts';
import { createOktaTokenSource, type OktaOAuthOptions } from './okta-oauth.ts';
import { tracedFetch } from '../../shared/telemetry-http.ts';

/**
 * A small Okta Users API client on fetch: look a user up, suspend / unsuspend, clear sessions.
 * Every attempt has its own deadline; a 429 is waited out (Retry-After, else X-Rate-Limit-Reset)
 * when the wait fits the budget, otherwise it surfaces as UPSTREAM_THROTTLED. Failures are
 * AppErrors (see okta-errors.ts); the API token is sent only in the Authorization header.
 */
export type OktaUserStatus = 'STAGED' | 'PROVISIONED' | 'ACTIVE' | 'RECOVERY' | 'PASSWORD_EXPIRED' | 'LOCKED_OUT' | 'SUSPENDED' | 'DEPROVISIONED';

export interface OktaUser {
  id: string;
  /** Okta's lifecycle status as sent (an unknown future value passes through). */
  status: OktaUserStatus | (string & {});
  login: string;
  email: string | null;
  displayName: string;
  lastLogin: string | null;
  statusChanged: string | null;
}

export interface OktaCallOptions {
  signal?: AbortSignal;
}

export interface OktaClient {
  /** By Okta id or login (the UPN); UPSTREAM_NOT_FOUND when Okta has no such user. */
  getUser(idOrLogin: string, options?: OktaCallOptions): Promise<OktaUser>;
  /** ACTIVE -> SUSPENDED; Okta refuses (CONFLICT) any other status. */
  suspendUser(userId: string, options?: OktaCallOptions): Promise<void>;
  /** SUSPENDED -> ACTIVE; Okta refuses (CONFLICT) any other status. */
  unsuspendUser(userId: string, options?: OktaCallOptions): Promise<void>;
  /**
   * Ends the user's Okta (identity provider) sessions; with `oauthTokens` also revokes the OAuth
   * and OIDC tokens Okta issued; `forgetDevices: false` keeps remembered devices and factors
   * (Okta's default, true on Identity Engine, wipes them). Sessions that apps keep on their own
   * are not touched by Okta.
   * https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserSessions/#tag/UserSessions/operation/revokeUserSessions
   */
  clearSessions(userId: string, options: OktaCallOptions & { oauthTokens: boolean; forgetDevices: boolean }): Promise<void>;
}

export interface CreateOktaClientOptions {
  /** https://<org>.okta.com */
  orgUrl: string;
  /** OAuth 2.0 service app (private_key_jwt): the recommended way; see okta-oauth.ts. */
  oauth?: OktaOAuthOptions;
  /** API token (SSWS): the fallback when no OAuth service app is configured. */
  apiToken?: Secret;
  /** Upper bound for each HTTP attempt. */
  timeoutMs: number;
  logger: Logger;
  /** How many times a 429 is retried (default 2). */
  maxRetries?: number;
  /** A rate-limit wait longer than this is not waited out; the caller backs off (default 10). */
  maxWaitSeconds?: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export function createOktaClient(options: CreateOktaClientOptions): OktaClient {
  const base = new URL(options.orgUrl);
  if (base.protocol !== 'https:') throw new AppError('CONFIG_INVALID', 'The Okta org URL must start with https://.');
  const origin = base.origin;
  const doFetch = tracedFetch(options.fetch ?? fetch, 'okta.request');
  const maxRetries = Math.max(0, options.maxRetries ?? 2);
  const maxWaitSeconds = options.maxWaitSeconds ?? 10;
  const log = options.logger.child({ component: 'okta-client' });
  if (!options.oauth && !options.apiToken) throw new AppError('CONFIG_INVALID', 'Okta needs an OAuth service app (client id and private key) or an API token.');
  const tokens = options.oauth ? createOktaTokenSource({ origin, oauth: options.oauth, fetch: doFetch }) : undefined;
  const apiToken = options.apiToken;
  const authorization = (signal: AbortSignal) => (tokens ? tokens.authorization(signal) : Promise.resolve(`SSWS ${(apiToken as Secret).reveal()}`));

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, action: string, callOptions: OktaCallOptions = {}): Promise<unknown> {
    let renewedToken = false;
    for (let attempt = 0; ; attempt += 1) {
      const started = performance.now();
      const deadline = AbortSignal.timeout(options.timeoutMs);
      const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, deadline]) : deadline;
      let response: Response;
      let text: string;
      try {
        const auth = await authorization(signal);
        response = await doFetch(`${origin}${path}`, {
          method,
          headers: { Authorization: auth, Accept: 'application/json', ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}) },
          ...(method === 'POST' ? { body: '{}' } : {}),
          redirect: 'error',
          signal,
        });
        text = await response.text();
      } catch (error) {
        throw transportError(error, action, callOptions.signal, options.timeoutMs);
      }
      const ms = Math.round(performance.now() - started);
      log.debug({ method, path, status: response.status, ms, rateRemaining: response.headers.get('x-rate-limit-remaining') }, 'okta call');
      if (response.ok) return text === '' ? undefined : parseJson(text);
      // An access token Okta no longer takes (revoked, expired early): one fresh token, once.
      if (response.status === 401 && tokens && !renewedToken) {
        renewedToken = true;
        tokens.invalidate();
        attempt -= 1;
        continue;
      }
      const wait = response.status === 429 ? rateLimitWaitSeconds(response.headers) : undefined;
      if (response.status === 429 && attempt < maxRetries && wait !== undefined && wait <= maxWaitSeconds) {
        log.info({ method, path, attempt: attempt + 1, waitSeconds: wait }, 'Okta rate limit hit; waiting for the window to reset');
        try {
          await sleep(Math.ceil(wait * 1000) + 100, undefined, callOptions.signal ? { signal: callOptions.signal } : {});
        } catch (error) {
          throw transportError(error, action, callOptions.signal, options.timeoutMs);
        }
        continue;
      }
      const body = parseJson(text) as OktaErrorBody | undefined;
      const mapped = oktaErrorToAppError({ status: response.status, body: body && typeof body === 'object' ? body : undefined, ...(wait === undefined ? {} : { retryAfterSeconds: Math.ceil(wait) }) }, { action, credential: tokens ? 'oauth' : 'api-token' });
      log.warn({ method, path, code: mapped.code, details: mapped.details, ms }, 'okta call failed');
      throw mapped;
    }
  }

  const userPath = (idOrLogin: string) => {
    if (idOrLogin.trim() === '' || idOrLogin.length > 256 || /[\u0000-\u001f]/.test(idOrLogin)) {
      throw new AppError('INPUT_INVALID', 'The Okta user id or login is empty or malformed.');
    }
    return `/api/v1/users/${encodeURIComponent(idOrLogin)}`;
  };

  return {
    async getUser(idOrLogin, callOptions) {
      const raw = await call('GET', userPath(idOrLogin), `look up ${idOrLogin}`, callOptions);
      return toOktaUser(raw);
    },
    async suspendUser(userId, callOptions) {
      await call('POST', `${userPath(userId)}/lifecycle/suspend`, `suspend user ${userId}`, callOptions);
    },
    async unsuspendUser(userId, callOptions) {
      await call('POST', `${userPath(userId)}/lifecycle/unsuspend`, `unsuspend user ${userId}`, callOptions);
    },
    async clearSessions(userId, callOptions) {
      const query = `oauthTokens=${callOptions.oauthTokens ? 'true' : 'false'}&forgetDevices=${callOptions.forgetDevices ? 'true' : 'false'}`;
      await call('DELETE', `${userPath(userId)}/sessions?${query}`, `clear the sessions of user ${userId}`, callOptions);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function toOktaUser(raw: unknown): OktaUser {
  const user = raw as { id?: unknown; status?: unknown; lastLogin?: unknown; statusChanged?: unknown; profile?: Record<string, unknown> } | undefined;
  if (!user || typeof user.id !== 'string' || typeof user.status !== 'string' || !user.profile || typeof user.profile.login !== 'string') {
    throw new AppError('UPSTREAM_ERROR', 'Okta answered a user lookup with something that is not a user.');
  }
  const profile = user.profile;
  const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const name = [str(profile.firstName), str(profile.lastName)].filter(Boolean).join(' ');
  return {
    id: user.id,
    status: user.status,
    login: profile.login as string,
    email: str(profile.email),
    displayName: str(profile.displayName) ?? (name || (profile.login as string)),
    lastLogin: str(user.lastLogin),
    statusChanged: str(user.statusChanged),
  };
}

/**
 * Retry-After when sent, else the epoch second X-Rate-Limit-Reset names, counted from the
 * server's own Date header: Okta's guidance is to compare the reset with the response's Date,
 * not with the local clock, which may be off
 * (https://developer.okta.com/docs/reference/rl-best-practices/). The local clock only when
 * the answer has no usable Date.
 */
export function rateLimitWaitSeconds(headers: Headers, localNowMs: number = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && /^\d+$/.test(retryAfter.trim())) return Number(retryAfter);
  const reset = headers.get('x-rate-limit-reset');
  if (reset === null || !/^\d+$/.test(reset.trim())) return undefined;
  const serverDate = Date.parse(headers.get('date') ?? '');
  const nowMs = Number.isNaN(serverDate) ? localNowMs : serverDate;
  return Math.max(0, Number(reset) - nowMs / 1000);
}

function transportError(error: unknown, action: string, callerSignal: AbortSignal | undefined, timeoutMs: number): AppError {
  if (isAppError(error)) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (callerSignal?.aborted) return new AppError('TIMEOUT', `The call to Okta to ${action} was cancelled before it finished.`, { cause: error });
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new AppError('TIMEOUT', `Okta did not answer within ${timeoutMs} ms while trying to ${action}.`, { cause: error, details: { timeoutMs } });
  }
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return new AppError('UPSTREAM_ERROR', `Could not reach Okta to ${action}.`, { cause: error, details: typeof code === 'string' ? { errno: code } : {} });
}
