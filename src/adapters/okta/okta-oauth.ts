import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { AppError } from '../../domain/errors.ts';
import type { Secret } from '../../domain/secret.ts';

/**
 * OAuth 2.0 for Okta with a service app, the way Okta recommends for service integrations
 * (https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/): the client
 * credentials grant at the org authorization server (`{org}/oauth2/v1/token`), the client
 * authenticated by `private_key_jwt` (a JWT signed with the app's private key,
 * https://developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/#jwt-with-private-key),
 * and scoped access tokens sent as `Authorization: Bearer`. The private key never leaves this
 * process; the assertion lives 5 minutes and carries a fresh jti, so it cannot be replayed.
 * DPoP-bound tokens are not supported: the app's "Require DPoP" must be off.
 */
export interface OktaOAuthOptions {
  clientId: string;
  /** PEM (PKCS#8 or PKCS#1) of the RSA private key whose public key is registered on the app. */
  privateKeyPem: Secret;
  /** The key's id (kid) as Okta shows it; sent in the assertion header when given. */
  keyId?: string;
  /** Default OKTA_SCOPES. */
  scopes?: readonly string[];
}

/** What the bot does in Okta: read users, and suspend / unsuspend / clear their sessions. */
export const OKTA_SCOPES = ['okta.users.read', 'okta.users.manage'] as const;

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_LIFETIME_S = 300;
/** A token is renewed this long before Okta says it expires. */
const RENEW_BEFORE_MS = 60_000;

export interface OktaTokenSource {
  /** The Authorization header value for the next API call. */
  authorization(signal: AbortSignal): Promise<string>;
  /** Forget the cached token (after Okta refused it). */
  invalidate(): void;
}

export function createOktaTokenSource(options: { origin: string; oauth: OktaOAuthOptions; fetch: typeof fetch; now?: () => number }): OktaTokenSource {
  const { origin, oauth } = options;
  const now = options.now ?? Date.now;
  const tokenUrl = `${origin}/oauth2/v1/token`;
  const scopes = [...(oauth.scopes ?? OKTA_SCOPES)];
  let key: KeyObject;
  try {
    key = createPrivateKey(oauth.privateKeyPem.reveal());
  } catch (error) {
    throw new AppError('CONFIG_INVALID', 'The Okta private key is not a readable PEM private key.', { cause: error });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new AppError('CONFIG_INVALID', 'The Okta private key must be an RSA key (the service app signs with RS256).');
  let cached: { header: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  function assertion(): string {
    const iat = Math.floor(now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', ...(oauth.keyId ? { kid: oauth.keyId } : {}) };
    const claims = { iss: oauth.clientId, sub: oauth.clientId, aud: tokenUrl, iat, exp: iat + ASSERTION_LIFETIME_S, jti: randomUUID() };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
  }

  async function fetchToken(signal: AbortSignal): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', scope: scopes.join(' '), client_assertion_type: ASSERTION_TYPE, client_assertion: assertion() });
    let response: Response;
    let text: string;
    try {
      response = await options.fetch(tokenUrl, { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString(), redirect: 'error', signal });
      text = await response.text();
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new AppError('TIMEOUT', 'Okta did not answer the token request in time.', { cause: error });
      throw new AppError('UPSTREAM_ERROR', 'Could not reach Okta to get an access token.', { cause: error });
    }
    const reply = parse(text);
    if (!response.ok) {
      // {error, error_description}: safe to show; the assertion is never echoed.
      const code = typeof reply.error === 'string' ? reply.error : `HTTP ${response.status}`;
      const description = typeof reply.error_description === 'string' ? reply.error_description : 'no description';
      const status = response.status;
      const appCode = status >= 500 ? 'UPSTREAM_ERROR' : status === 429 ? 'UPSTREAM_THROTTLED' : 'UPSTREAM_FORBIDDEN';
      throw new AppError(appCode, `Okta refused the bot's OAuth service app ${oauth.clientId} (${code}: ${description}). Check the client id, the registered public key and the granted scopes (${scopes.join(', ')}).`, {
        details: { status, oauthError: code, clientId: oauth.clientId },
      });
    }
    const token = reply.access_token;
    const type = reply.token_type;
    if (typeof token !== 'string' || token === '' || typeof type !== 'string' || type.toLowerCase() !== 'bearer') {
      throw new AppError('UPSTREAM_ERROR', `Okta answered the token request without a Bearer access token${typeof type === 'string' ? ` (token type ${type}; DPoP must be off for this app)` : ''}.`);
    }
    const lifetimeS = typeof reply.expires_in === 'number' && reply.expires_in > 0 ? reply.expires_in : 3600;
    cached = { header: `Bearer ${token}`, expiresAt: now() + lifetimeS * 1000 };
    return cached.header;
  }

  return {
    async authorization(signal) {
      if (cached && now() < cached.expiresAt - RENEW_BEFORE_MS) return cached.header;
      // Concurrent calls share one token request.
      pending ??= fetchToken(signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function parse(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
