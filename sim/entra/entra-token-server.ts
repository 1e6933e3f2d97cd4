import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify, constants, X509Certificate, createHash } from 'node:crypto';
import { startHttpsJsonServer, type JsonReply, type JsonRequest, type RunningServer } from '../https-json-server.ts';
import { retryAfterHeaders, takeFault, type Fault } from '../graph/faults.ts';

/**
 * A local stand-in for the Microsoft identity platform token endpoint (v2.0, client credentials),
 * good enough for MSAL (@azure/identity ClientSecretCredential / ClientCertificateCredential with
 * `authorityHost` pointing here and `disableInstanceDiscovery: true`). It issues RS256 JWT access
 * tokens whose `aud` is the resource of the requested `/.default` scope and whose `roles` are the
 * client's app roles, so resource stand-ins (Graph, Log Analytics) can authenticate AND authorize.
 */

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
export const LOG_ANALYTICS_AUDIENCE = 'https://api.loganalytics.io';

/** Application permissions the bot is meant to hold; a client without `roles` gets all of them. */
export const DEFAULT_APP_ROLES = [
  'SecurityAlert.Read.All',
  'SecurityAlert.ReadWrite.All',
  'SecurityIncident.ReadWrite.All',
  'User.Read.All',
  'User.EnableDisableAccount.All',
  'User.RevokeSessions.All',
  'IdentityRiskyUser.ReadWrite.All',
  'GroupMember.Read.All',
  'RoleManagement.Read.Directory',
  'RoleEligibilitySchedule.Read.Directory',
  // Defender for Identity's identityAccounts: list/get, invokeAction.
  'SecurityIdentitiesAccount.Read.All',
  'SecurityIdentitiesActions.ReadWrite.All',
  'Data.Read',
] as const;

export interface EntraClient {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM certificate for client_assertion (certificate credentials). */
  certificatePem?: string;
  /** App roles put in every token for this client (default DEFAULT_APP_ROLES). */
  roles?: readonly string[];
  /**
   * Object id of the client's service principal (`oid`), e.g. a managed identity's principal id
   * (a Logic App calling a webhook with its identity). Default: a stable id derived from the client.
   */
  objectId?: string;
}

export interface IssuedToken {
  clientId: string;
  tenantId: string;
  audience: string;
  roles: string[];
  accessToken: string;
  expiresAt: Date;
  credential: 'secret' | 'certificate';
}

export interface TokenClaims {
  aud: string;
  iss: string;
  tid: string;
  appid: string;
  azp: string;
  oid: string;
  sub: string;
  roles: string[];
  iat: number;
  nbf: number;
  exp: number;
  ver: '1.0';
  idtyp: 'app';
  [key: string]: unknown;
}

export type VerifyFailure = 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'wrong_audience';
export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: VerifyFailure; message: string };

// One signing key per process: verifyBearer is a plain module export, usable by every stand-in
// in the same process (tests and the local lab run them all in one process).
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyId = createHash('sha256').update(signingKey.publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 27);

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function signJwt(claims: TokenClaims): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: keyId, x5t: keyId }));
  const body = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${body}`), signingKey.privateKey);
  return `${header}.${body}.${b64url(signature)}`;
}

/** Decodes a compact JWT without verifying it. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const [h, p] = token.split('.');
  if (!h || !p) return undefined;
  try {
    return { header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')), payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) };
  } catch {
    return undefined;
  }
}

/**
 * Checks an `Authorization` header value ("Bearer <jwt>") against the tokens this module issues:
 * signature, expiry and audience (e.g. GRAPH_AUDIENCE). Resource servers map failures to their
 * own 401 bodies.
 */
export function verifyBearer(header: string | undefined, audience: string): VerifyResult {
  if (!header) return { ok: false, reason: 'missing', message: 'Access token is empty.' };
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) return { ok: false, reason: 'malformed', message: 'Authorization header is not a Bearer token.' };
  const token = match[1] as string;
  const parts = token.split('.');
  const decoded = decodeJwt(token);
  if (parts.length !== 3 || !decoded) return { ok: false, reason: 'malformed', message: 'IDX14100: JWT is not well formed, there are no dots (.).' };
  const valid = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), signingKey.publicKey, Buffer.from(parts[2] as string, 'base64url'));
  if (!valid || decoded.header.alg !== 'RS256') return { ok: false, reason: 'bad_signature', message: 'Access token validation failure. Invalid signature.' };
  const claims = decoded.payload as TokenClaims;
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) return { ok: false, reason: 'expired', message: 'Lifetime validation failed, the token is expired.' };
  if (claims.aud !== audience) return { ok: false, reason: 'wrong_audience', message: 'Access token validation failure. Invalid audience.' };
  return { ok: true, claims };
}

export interface EntraTokenServer extends RunningServer {
  clients: EntraClient[];
  issued: IssuedToken[];
  /** Injected failures for the token endpoint (e.g. 503, or a delay). */
  faults: Fault[];
  /** Seconds until a new token expires (default 3599, as AAD). */
  tokenLifetimeSeconds: number;
  verifyBearer: typeof verifyBearer;
  /** The authority MSAL should use for a tenant: `${url}/${tenantId}`. */
  authority(tenantId: string): string;
}

export interface StartEntraTokenServerOptions {
  clients: EntraClient[];
  port?: number;
  tokenLifetimeSeconds?: number;
  /** Extra resources a `/.default` scope may name (besides Graph and Log Analytics). */
  extraAudiences?: string[];
}

function aadError(status: number, error: string, code: number, description: string): JsonReply {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

/** `https://graph.microsoft.com/.default` -> `https://graph.microsoft.com`; undefined for anything else. */
function resourceOfScope(scope: string, known: string[]): string | undefined {
  const scopes = scope.split(' ').filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
  if (scopes.length !== 1) return undefined;
  const only = scopes[0] as string;
  if (!only.endsWith('/.default')) return undefined;
  const resource = only.slice(0, -'/.default'.length).replace(/\/$/, '');
  if (resource === '00000003-0000-0000-c000-000000000000') return GRAPH_AUDIENCE;
  return known.find((k) => k.toLowerCase() === resource.toLowerCase()) ?? resource;
}

/** Verifies an RS256/PS256 client assertion signed with the key of the client's certificate. */
function checkAssertion(assertion: string, client: EntraClient, tokenEndpoint: string): string | undefined {
  if (!client.certificatePem) return 'no certificate registered for the application';
  const parts = assertion.split('.');
  const decoded = decodeJwt(assertion);
  if (parts.length !== 3 || !decoded) return 'client assertion is not a JWT';
  const publicKey = createPublicKey(new X509Certificate(client.certificatePem).publicKey.export({ type: 'spki', format: 'pem' }));
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2] as string, 'base64url');
  const alg = decoded.header.alg;
  const ok =
    alg === 'RS256'
      ? verify('sha256', data, publicKey, signature)
      : alg === 'PS256'
        ? verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
        : false;
  if (!ok) return 'client assertion signature is invalid';
  const p = decoded.payload;
  if (p.iss !== client.clientId || p.sub !== client.clientId) return 'client assertion iss/sub must be the client id';
  if (typeof p.exp !== 'number' || p.exp * 1000 < Date.now()) return 'client assertion is expired';
  if (p.aud !== tokenEndpoint) return `client assertion audience ${String(p.aud)} is not ${tokenEndpoint}`;
  return undefined;
}

export async function startEntraTokenServer(options: StartEntraTokenServerOptions): Promise<EntraTokenServer> {
  const knownAudiences = [GRAPH_AUDIENCE, LOG_ANALYTICS_AUDIENCE, ...(options.extraAudiences ?? [])];
  const issued: IssuedToken[] = [];
  const faults: Fault[] = [];
  let baseUrl = '';

  const tenantKnown = (tenant: string) => options.clients.some((c) => c.tenantId === tenant);

  function openIdConfiguration(tenant: string): JsonReply {
    const base = `${baseUrl}/${tenant}`;
    return {
      status: 200,
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${baseUrl}/${tenant}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${baseUrl}/${tenant}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'roles'],
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
      },
    };
  }

  function issueToken(req: JsonRequest, tenant: string): JsonReply {
    const form = (req.body ?? {}) as Record<string, string>;
    if (form.grant_type !== 'client_credentials') {
      return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.grant_type ?? ''}'.`);
    }
    if (!tenantKnown(tenant)) return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    // client_secret_basic: MSAL uses the form, but accept Basic as AAD does.
    let clientId = form.client_id;
    let secret = form.client_secret;
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [id, pw] = Buffer.from(basic[1] as string, 'base64').toString('utf8').split(':');
      clientId ??= decodeURIComponent(id ?? '');
      secret ??= decodeURIComponent(pw ?? '');
    }
    if (!clientId) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const client = options.clients.find((c) => c.tenantId === tenant && c.clientId === clientId);
    if (!client) {
      return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
    }
    let credential: IssuedToken['credential'];
    if (form.client_assertion !== undefined) {
      if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return aadError(400, 'invalid_request', 50027, 'Invalid client_assertion_type.');
      }
      const problem = checkAssertion(form.client_assertion, client, `${baseUrl}/${tenant}/oauth2/v2.0/token`);
      if (problem) return aadError(401, 'invalid_client', 700027, `Client assertion failed signature validation or claims check: ${problem}.`);
      credential = 'certificate';
    } else if (secret !== undefined) {
      if (!client.clientSecret || secret !== client.clientSecret) {
        return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
      }
      credential = 'secret';
    } else {
      return aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const scope = form.scope ?? '';
    const audience = resourceOfScope(scope, knownAudiences);
    if (!audience) {
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    if (!knownAudiences.includes(audience)) {
      return aadError(400, 'invalid_resource', 500011, `The resource principal named ${audience} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
    }
    const now = Math.floor(Date.now() / 1000);
    const lifetime = server.tokenLifetimeSeconds;
    const roles = [...(client.roles ?? DEFAULT_APP_ROLES)];
    const claims: TokenClaims = {
      aud: audience,
      iss: `https://sts.windows.net/${tenant}/`,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      appid: client.clientId,
      azp: client.clientId,
      idtyp: 'app',
      // A stable service principal object id per client.
      oid: client.objectId ?? createHash('sha256').update(`${tenant}/${client.clientId}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5'),
      sub: client.clientId,
      roles,
      tid: tenant,
      uti: randomUUID(),
      ver: '1.0',
    };
    const accessToken = signJwt(claims);
    issued.push({ clientId: client.clientId, tenantId: tenant, audience, roles, accessToken, expiresAt: new Date((now + lifetime) * 1000), credential });
    return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken } };
  }

  async function handle(req: JsonRequest): Promise<JsonReply> {
    const fault = await takeFault(faults, req);
    if (fault) {
      const reply = aadError(fault.status, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.');
      return { ...reply, headers: retryAfterHeaders(fault), ...(fault.body === undefined ? {} : { body: fault.body }) };
    }
    const segments = req.path.split('/').filter(Boolean);
    const tenant = segments[0] ?? '';
    const rest = segments.slice(1).join('/');
    if (req.method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') {
      if (!tenantKnown(tenant) && tenant !== 'common' && tenant !== 'organizations') {
        return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
      }
      return openIdConfiguration(tenant);
    }
    if (req.method === 'GET' && rest === '.well-known/openid-configuration') {
      // The v1 endpoint's metadata names the v1 issuer, the one v1 access tokens (managed
      // identities, apps without accessTokenAcceptedVersion 2) carry
      // (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer).
      if (!tenantKnown(tenant)) return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
      const v2 = openIdConfiguration(tenant).body as Record<string, unknown>;
      return { status: 200, body: { ...v2, issuer: `https://sts.windows.net/${tenant}/`, jwks_uri: `${baseUrl}/${tenant}/discovery/keys` } };
    }
    if (req.method === 'GET' && (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys')) {
      const jwk = signingKey.publicKey.export({ format: 'jwk' });
      return { status: 200, body: { keys: [{ kty: 'RSA', use: 'sig', kid: keyId, x5t: keyId, n: jwk.n, e: jwk.e, issuer: `${baseUrl}/${tenant}/v2.0` }] } };
    }
    if (req.method === 'POST' && rest === 'oauth2/v2.0/token') return issueToken(req, tenant);
    return { status: 404, body: { error: 'not_found', error_description: `No route for ${req.method} ${req.path}` } };
  }

  const base = await startHttpsJsonServer(handle, options.port === undefined ? {} : { port: options.port });
  baseUrl = base.url;
  const server: EntraTokenServer = {
    ...base,
    clients: options.clients,
    issued,
    faults,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    verifyBearer,
    authority: (tenantId: string) => `${base.url}/${tenantId}`,
  };
  return server;
}
