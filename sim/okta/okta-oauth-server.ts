import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { JsonReply, JsonRequest } from '../https-json-server.ts';

/**
 * The org authorization server of the Okta stand-in, for OAuth 2.0 service apps:
 * POST /oauth2/v1/token with grant_type=client_credentials and private_key_jwt client
 * authentication, as Okta documents it
 * (https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/,
 * https://developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/#jwt-with-private-key):
 * the assertion must be signed by the app's registered key, iss = sub = client_id, aud = the
 * token URL, exp in the future and at most an hour away, a jti never seen before (replays are
 * refused), and every requested scope granted to the app. Access tokens are opaque here; the
 * Users API checks them and their scopes.
 */
export interface OktaServiceApp {
  clientId: string;
  /** PEM of the public key registered on the app. */
  publicKeyPem: string;
  /** Key id (kid) Okta shows for the key; an assertion naming another kid is refused. */
  keyId?: string;
  /** Okta API scopes granted to the app (Okta API Scopes tab). */
  grantedScopes: string[];
}

export interface IssuedOktaToken {
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function oauthError(status: number, error: string, description: string): JsonReply {
  return { status, body: { error, error_description: description } };
}

export function createOktaOAuth(apps: readonly OktaServiceApp[], tokenUrl: () => string, now: () => number = Date.now) {
  const keys = new Map<string, KeyObject>(apps.map((app) => [app.clientId, createPublicKey(app.publicKeyPem)]));
  const seenJti = new Set<string>();
  const issued = new Map<string, IssuedOktaToken>();

  function token(req: JsonRequest): JsonReply {
    if (req.method !== 'POST') return oauthError(405, 'invalid_request', 'The token endpoint takes POST only.');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'The request must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams(req.rawBody);
    if (form.get('grant_type') !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.');
    if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion')) {
      return oauthError(401, 'invalid_client', 'Client authentication failed: a client_assertion of type jwt-bearer is required for this client.');
    }
    const parts = String(form.get('client_assertion')).split('.');
    if (parts.length !== 3) return oauthError(401, 'invalid_client', 'The client_assertion is not a JWT.');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return oauthError(401, 'invalid_client', 'The client_assertion is not a JWT.');
    }
    const clientId = typeof claims.iss === 'string' ? claims.iss : '';
    const app = apps.find((a) => a.clientId === clientId);
    const key = keys.get(clientId);
    if (!app || !key) return oauthError(401, 'invalid_client', 'The client_assertion iss does not name a known client.');
    if (claims.sub !== clientId || (form.get('client_id') !== null && form.get('client_id') !== clientId)) {
      return oauthError(401, 'invalid_client', "The client_assertion sub must be the client's id.");
    }
    if (header.alg !== 'RS256' && header.alg !== 'RS384' && header.alg !== 'RS512') return oauthError(401, 'invalid_client', 'The client_assertion signature algorithm is not supported.');
    if (app.keyId !== undefined && header.kid !== undefined && header.kid !== app.keyId) return oauthError(401, 'invalid_client', 'The client_assertion kid does not match a registered key.');
    const hash = header.alg === 'RS384' ? 'sha384' : header.alg === 'RS512' ? 'sha512' : 'sha256';
    if (!verify(hash, Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) {
      return oauthError(401, 'invalid_client', 'The client_assertion signature is invalid.');
    }
    if (claims.aud !== tokenUrl()) return oauthError(401, 'invalid_client', 'The audience [aud] claim is invalid.');
    const nowS = now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp <= nowS) return oauthError(401, 'invalid_client', 'The client_assertion token is expired.');
    if (claims.exp > nowS + 3600) return oauthError(401, 'invalid_client', 'The client_assertion token has an expiration too far into the future.');
    if (typeof claims.jti !== 'string' || claims.jti === '') return oauthError(401, 'invalid_client', 'The client_assertion token must carry a jti.');
    if (seenJti.has(claims.jti)) return oauthError(401, 'invalid_client', 'The client_assertion token has already been used.');
    seenJti.add(claims.jti);
    const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
    if (requested.length === 0) return oauthError(400, 'invalid_scope', 'The authorization server resource does not have any configured default scopes, \'scope\' must be provided.');
    const refused = requested.filter((scope) => !app.grantedScopes.includes(scope));
    if (refused.length > 0) return oauthError(400, 'invalid_scope', `The following scopes are not allowed: ${refused.join(', ')}`);
    const accessToken = randomBytes(32).toString('base64url');
    issued.set(accessToken, { clientId, scopes: requested, expiresAt: now() + 3_600_000 });
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3600, access_token: accessToken, scope: requested.join(' ') } };
  }

  /** The live token a `Bearer` header carries, if any. */
  function bearer(authorization: string | undefined): IssuedOktaToken | undefined {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    const found = match ? issued.get(match[1] as string) : undefined;
    return found && found.expiresAt > now() ? found : undefined;
  }

  return { token, bearer, issued, seenJti };
}
