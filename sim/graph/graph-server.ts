import { startHttpsJsonServer, type JsonReply, type JsonRequest, type RunningServer } from '../https-json-server.ts';
import { GRAPH_AUDIENCE, startEntraTokenServer, verifyBearer, type EntraClient, type EntraTokenServer } from '../entra/entra-token-server.ts';
import type { Tenant } from '../tenant.ts';
import { graphError, type GraphAction, type GraphContext } from './common.ts';
import { retryAfterHeaders, takeFault, type Fault } from './faults.ts';
import { routeAlerts } from './alerts-routes.ts';
import { routeIncidents } from './incidents-routes.ts';
import { routeRiskyUsers, routeUsers } from './users-routes.ts';
import { routeRoleManagement } from './roles-routes.ts';
import { routeIdentityAccounts, type MdiSettings } from './identity-accounts-routes.ts';

export type { GraphAction, GraphActionKind } from './common.ts';
export type { Fault } from './faults.ts';

/**
 * A local stand-in for Microsoft Graph v1.0 serving a simulated tenant: MDI alerts (alerts_v2, with
 * their PATCH and comments) and incident comments,
 * users, Identity Protection risky users and transitive group checks. Every call needs a Graph
 * token issued by the local Entra token server for this tenant; app roles in the token decide
 * what is allowed (403 otherwise). Point @microsoft/microsoft-graph-client at `url` with
 * `customHosts: new Set(['127.0.0.1'])`.
 */
export interface GraphServer extends RunningServer {
  tenant: Tenant;
  /** Injected failures, rendered as Graph errors (429 gets Retry-After when given). */
  faults: Fault[];
  /** Containment and alert writes in the order they happened. */
  actions: GraphAction[];
  /** Page size of alerts_v2 when the client sends no $top. */
  alertPageSize: number;
  /** Defender for Identity's identityAccounts: delay of invoked actions, what was invoked. */
  mdi: MdiSettings;
  /** Comments posted to Defender incidents, by incident id. */
  incidentComments: Map<string, unknown[]>;
}

export interface StartGraphServerOptions {
  /** The token server whose tokens this server accepts (anything with verifyBearer). */
  tokens: { verifyBearer: typeof verifyBearer };
  tenant: Tenant;
  port?: number;
  alertPageSize?: number;
  /** Clock for lastUpdateDateTime and action times (default: real time). */
  now?: () => Date;
  /** MDI's sensor action account on the DC (default: MDI's own state only). */
  onPremises?: MdiSettings['onPremises'];
}

const FAULT_CODES: Record<number, [string, string]> = {
  429: ['TooManyRequests', 'Too many requests.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'Bad gateway.'],
  503: ['ServiceNotAvailable', 'The service is temporarily unavailable.'],
  504: ['GatewayTimeout', 'The gateway timed out.'],
};

export async function startGraphServer(options: StartGraphServerOptions): Promise<GraphServer> {
  const faults: Fault[] = [];
  const actions: GraphAction[] = [];
  const incidentComments = new Map<string, unknown[]>();
  const now = options.now ?? (() => new Date());
  let server: GraphServer | undefined;

  async function handle(req: JsonRequest): Promise<JsonReply> {
    const auth = options.tokens.verifyBearer(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined, GRAPH_AUDIENCE);
    const unauthorized = { 'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"' };
    if (!auth.ok) return graphError(req, 401, 'InvalidAuthenticationToken', auth.message, unauthorized);
    if (auth.claims.tid !== options.tenant.tenantId) {
      return graphError(req, 401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid issuer or signature.', unauthorized);
    }
    // Faults come after authentication, as Graph's throttling counts per app.
    const fault = await takeFault(faults, req);
    if (fault) {
      const [code, message] = FAULT_CODES[fault.status] ?? ['UnknownError', `Injected status ${fault.status}.`];
      const reply = graphError(req, fault.status, code, message, retryAfterHeaders(fault));
      return fault.body === undefined ? reply : { ...reply, body: fault.body };
    }
    const ctx: GraphContext = {
      tenant: options.tenant,
      baseUrl: (server as GraphServer).url,
      req,
      roles: Array.isArray(auth.claims.roles) ? auth.claims.roles : [],
      appId: auth.claims.appid,
      actions,
      incidentComments,
      now,
      alertPageSize: (server as GraphServer).alertPageSize,
      mdi: (server as GraphServer).mdi,
    };
    const segments = req.path.split('/').filter(Boolean);
    if (segments[0] !== 'v1.0') return graphError(req, 400, 'BadRequest', `Invalid version: ${segments[0] ?? ''}`);
    const [first, second, third] = segments.slice(1);
    if (first === 'security' && second === 'alerts_v2') return routeAlerts(ctx, segments.slice(3));
    if (first === 'security' && second === 'identities' && third === 'identityAccounts') return routeIdentityAccounts(ctx, segments.slice(4));
    if (first === 'security' && second === 'incidents') return routeIncidents(ctx, segments.slice(3));
    if (first === 'users') return routeUsers(ctx, segments.slice(2));
    if (first === 'identityProtection' && second === 'riskyUsers') return routeRiskyUsers(ctx, segments.slice(3));
    if (first === 'roleManagement' && second === 'directory') return routeRoleManagement(ctx, segments.slice(3));
    return graphError(req, 400, 'BadRequest', `Resource not found for the segment '${third ?? second ?? first ?? ''}'.`);
  }

  const base = await startHttpsJsonServer(handle, options.port === undefined ? {} : { port: options.port });
  server = { ...base, tenant: options.tenant, faults, actions, alertPageSize: options.alertPageSize ?? 50, mdi: { delayMs: 1_000, stuck: false, invocations: [], ...(options.onPremises ? { onPremises: options.onPremises } : {}) }, incidentComments };
  return server;
}

/** An app registration of the tenant on the local token endpoint (its tenantId is the tenant's). */
export type TenantApp = Omit<EntraClient, 'tenantId'>;

/** The tenant's token endpoint with these app registrations, and a Graph stand-in that accepts its tokens. */
export async function startTokensAndGraph(
  tenant: Tenant,
  apps: TenantApp[],
  graphOptions: Omit<StartGraphServerOptions, 'tokens' | 'tenant'> = {},
): Promise<{ tokens: EntraTokenServer; graph: GraphServer }> {
  const tokens = await startEntraTokenServer({ clients: apps.map((app) => ({ tenantId: tenant.tenantId, ...app })) });
  const graph = await startGraphServer({ tokens, tenant, ...graphOptions });
  return { tokens, graph };
}
