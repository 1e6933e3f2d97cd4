import { randomBytes } from 'node:crypto';
import { startHttpsJsonServer, type JsonReply, type JsonRequest, type RunningServer } from '../https-json-server.ts';
import { retryAfterHeaders, takeFault, type Fault } from '../graph/faults.ts';
import { createTenant, findOktaUser, type OktaUser, type Tenant } from '../tenant.ts';
import { createOktaOAuth, type OktaServiceApp } from './okta-oauth-server.ts';

export type { OktaServiceApp } from './okta-oauth-server.ts';

/**
 * A local stand-in for the Okta Users API (the part incident-bot uses): get a user by id or
 * login, suspend / unsuspend, clear sessions. `Authorization: SSWS <token>`, or `Bearer` with an
 * access token from the org authorization server (okta/okta-oauth-server.ts) holding the scope
 * the endpoint needs (okta.users.read to read, okta.users.manage to change), is required; every
 * answer carries X-Rate-Limit-* headers, and errors use Okta's body shape
 * {errorCode, errorSummary, errorLink, errorId, errorCauses}.
 */

export type OktaActionKind = 'suspend' | 'unsuspend' | 'clearSessions';
export interface OktaAction {
  kind: OktaActionKind;
  userId: string;
  at: string;
  oauthTokens?: boolean;
  /** Whether remembered devices and factors were forgotten (Okta's default when the parameter is absent). */
  forgetDevices?: boolean;
}

export interface OktaServer extends RunningServer {
  tenant: Tenant;
  /** Injected failures; a 429 is rendered as E0000047 with X-Rate-Limit-Remaining: 0. */
  faults: Fault[];
  actions: OktaAction[];
  /** Requests allowed per minute window before Okta's own 429 (default 600). */
  rateLimitPerMinute: number;
}

export interface StartOktaServerOptions {
  /** SSWS API token accepted (omit to accept OAuth access tokens only). */
  apiToken?: string;
  /** OAuth 2.0 service apps registered on the org authorization server. */
  serviceApps?: OktaServiceApp[];
  /** Serve the Okta users of this tenant (shared with Graph), or... */
  tenant?: Tenant;
  /** ...of a fresh tenant holding just these users. */
  users?: OktaUser[];
  port?: number;
  rateLimitPerMinute?: number;
}

function errorId(): string {
  return `oae${randomBytes(16).toString('base64url').slice(0, 19)}`;
}

export function oktaError(status: number, errorCode: string, errorSummary: string, causes: string[] = [], headers: Record<string, string> = {}): JsonReply {
  return {
    status,
    headers,
    body: { errorCode, errorSummary, errorLink: errorCode, errorId: errorId(), errorCauses: causes.map((c) => ({ errorSummary: c })) },
  };
}

export async function startOktaServer(options: StartOktaServerOptions): Promise<OktaServer> {
  const tenant = options.tenant ?? createTenant();
  for (const user of options.users ?? []) tenant.oktaUsers.set(user.id, user);
  const faults: Fault[] = [];
  const actions: OktaAction[] = [];
  let window = { start: 0, used: 0 };
  let server: OktaServer | undefined;
  const oauth = createOktaOAuth(options.serviceApps ?? [], () => `${(server as OktaServer).url}/oauth2/v1/token`);

  function rateHeaders(): Record<string, string> {
    const limit = (server as OktaServer).rateLimitPerMinute;
    return {
      'x-rate-limit-limit': String(limit),
      'x-rate-limit-remaining': String(Math.max(0, limit - window.used)),
      'x-rate-limit-reset': String(Math.floor(window.start / 1000) + 60),
    };
  }

  function userJson(user: OktaUser): Record<string, unknown> {
    const self = `${(server as OktaServer).url}/api/v1/users/${user.id}`;
    const { sessionCount: _sessions, oauthTokenCount: _tokens, ...visible } = user;
    return {
      ...structuredClone(visible),
      type: { id: 'oty1default0000000000' },
      credentials: { password: {}, provider: { type: 'OKTA', name: 'OKTA' } },
      _links: {
        self: { href: self },
        ...(user.status === 'ACTIVE' ? { suspend: { href: `${self}/lifecycle/suspend`, method: 'POST' } } : {}),
        ...(user.status === 'SUSPENDED' ? { unsuspend: { href: `${self}/lifecycle/unsuspend`, method: 'POST' } } : {}),
      },
    };
  }

  /** The scope an endpoint needs (Okta's OAuth scopes for the Users API). */
  function neededScope(req: JsonRequest): string {
    return req.method === 'GET' ? 'okta.users.read' : 'okta.users.manage';
  }

  async function route(req: JsonRequest): Promise<JsonReply> {
    if (req.path === '/oauth2/v1/token') return oauth.token(req);
    const auth = req.headers.authorization;
    const bySsws = options.apiToken !== undefined && auth === `SSWS ${options.apiToken}`;
    const token = bySsws ? undefined : oauth.bearer(typeof auth === 'string' ? auth : undefined);
    if (!bySsws && !token) return oktaError(401, 'E0000011', 'Invalid token provided');
    if (token) {
      const needed = neededScope(req);
      // okta.users.manage includes reading users.
      const granted = token.scopes.includes(needed) || (needed === 'okta.users.read' && token.scopes.includes('okta.users.manage'));
      if (!granted) {
        return oktaError(403, 'E0000006', 'You do not have permission to perform the requested action', [], {
          'www-authenticate': `Bearer authorization_uri="${(server as OktaServer).url}/oauth2/v1/authorize", realm="${(server as OktaServer).url}", scope="${needed}", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="${req.path}"`,
        });
      }
    }
    const nowMs = Date.now();
    if (nowMs - window.start >= 60_000) window = { start: nowMs, used: 0 };
    window.used++;
    const fault = await takeFault(faults, req);
    if (fault?.status === 429 || (!fault && window.used > (server as OktaServer).rateLimitPerMinute)) {
      const reply = oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.', [], {
        ...(fault ? retryAfterHeaders(fault) : {}),
        'x-rate-limit-remaining': '0',
      });
      return fault?.body === undefined ? reply : { ...reply, body: fault.body };
    }
    if (fault) {
      const reply = oktaError(fault.status, 'E0000009', 'Internal Server Error', [], retryAfterHeaders(fault));
      return fault.body === undefined ? reply : { ...reply, body: fault.body };
    }
    const segments = req.path.split('/').filter(Boolean);
    if (segments[0] !== 'api' || segments[1] !== 'v1' || segments[2] !== 'users' || segments.length < 4) {
      return oktaError(404, 'E0000022', `The endpoint does not support the provided HTTP method`);
    }
    const key = decodeURIComponent(segments[3] as string);
    const user = findOktaUser(tenant, key);
    if (!user) return oktaError(404, 'E0000007', `Not found: Resource not found: ${key} (User)`);
    const rest = segments.slice(4).join('/');
    const now = new Date().toISOString();
    if (req.method === 'GET' && rest === '') return { status: 200, body: userJson(user) };
    if (req.method === 'POST' && rest === 'lifecycle/suspend') {
      if (user.status !== 'ACTIVE') return oktaError(400, 'E0000001', 'Api validation failed: suspendUser', ['Cannot suspend a user that is not active']);
      user.status = 'SUSPENDED';
      user.statusChanged = now;
      user.lastUpdated = now;
      actions.push({ kind: 'suspend', userId: user.id, at: now });
      return { status: 200, body: {} };
    }
    if (req.method === 'POST' && rest === 'lifecycle/unsuspend') {
      if (user.status !== 'SUSPENDED') return oktaError(400, 'E0000001', 'Api validation failed: unsuspendUser', ['Cannot unsuspend a user that is not suspended']);
      user.status = 'ACTIVE';
      user.statusChanged = now;
      user.lastUpdated = now;
      actions.push({ kind: 'unsuspend', userId: user.id, at: now });
      return { status: 200, body: {} };
    }
    if (req.method === 'DELETE' && rest === 'sessions') {
      // revokeUserSessions: oauthTokens defaults to false; forgetDevices to true (Identity Engine).
      const oauthTokens = req.query.get('oauthTokens') === 'true';
      const forgetDevices = req.query.get('forgetDevices') !== 'false';
      user.sessionCount = 0;
      if (oauthTokens) user.oauthTokenCount = 0;
      actions.push({ kind: 'clearSessions', userId: user.id, at: now, oauthTokens, forgetDevices });
      return { status: 204 };
    }
    return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
  }

  async function handle(req: JsonRequest): Promise<JsonReply> {
    const reply = await route(req);
    // Every Okta answer, errors included, carries the rate-limit headers.
    return { ...reply, headers: { ...(window.start ? rateHeaders() : {}), ...(reply.headers ?? {}) } };
  }

  const base = await startHttpsJsonServer(handle, options.port === undefined ? {} : { port: options.port });
  server = { ...base, tenant, faults, actions, rateLimitPerMinute: options.rateLimitPerMinute ?? 600 };
  return server;
}
