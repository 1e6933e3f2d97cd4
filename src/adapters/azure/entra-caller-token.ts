import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { CallerTokenVerifier, CallerVerdict } from '../../domain/ports/caller-token-verifier.ts';

/**
 * Validates Entra ID access tokens sent to the bot's own API (the alert webhook) as Microsoft
 * documents it for resource servers
 * (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-tokens,
 * claims: https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference):
 * - signature: RS256 with a key of the tenant's JWKS, found through the tenant's OpenID metadata
 *   (`{authority}/{tenant}/v2.0/.well-known/openid-configuration` → `jwks_uri`); an unknown `kid`
 *   re-reads the keys (Entra rolls them), at most once a minute;
 * - `tid` is our tenant and `iss` is that tenant's v1 (`https://sts.windows.net/{tid}/`) or v2
 *   (the metadata's `issuer`) issuer: an app registration's `accessTokenAcceptedVersion` decides
 *   which one the caller gets, and a managed identity's tokens are v1;
 * - `aud` is one of the configured audiences (the app ID URI, or the app's client id);
 * - `exp`/`nbf` with 5 minutes of clock skew (the Microsoft.IdentityModel default);
 * - app-only: a token with `scp` was issued to a user through an app, not to a service;
 * - the caller (`appid` in v1, `azp` in v2, or the service principal's `oid`) is on the list.
 */
export interface EntraCallerTokenOptions {
  authorityHost: string;
  tenantId: string;
  /** Accepted `aud` values: the webhook's app ID URI (e.g. api://incident-bot-alerts) and/or its client id. */
  audiences: readonly string[];
  /** Client ids (appid/azp) or service principal object ids (oid) allowed to call. */
  allowedCallers: readonly string[];
  timeoutMs: number;
  now?: () => Date;
}

const CLOCK_SKEW_SECONDS = 300;
const KEY_REFRESH_MIN_MS = 60_000;
const KEY_MAX_AGE_MS = 24 * 3_600_000;

interface KeySet {
  issuer: string;
  keys: Map<string, KeyObject>;
  readAt: number;
}

function part(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function createEntraCallerTokenVerifier(options: EntraCallerTokenOptions): CallerTokenVerifier {
  const authority = options.authorityHost.replace(/\/+$/, '');
  const tenantId = options.tenantId.toLowerCase();
  const audiences = new Set(options.audiences);
  const allowed = new Set(options.allowedCallers.map((id) => id.toLowerCase()));
  const now = options.now ?? (() => new Date());
  let keySet: KeySet | undefined;
  let reading: Promise<KeySet> | undefined;
  let lastRead = 0;

  async function getJson(url: string): Promise<Record<string, unknown>> {
    const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${new URL(url).host}`);
    return (await response.json()) as Record<string, unknown>;
  }

  async function readKeys(): Promise<KeySet> {
    const metadata = await getJson(`${authority}/${encodeURIComponent(tenantId)}/v2.0/.well-known/openid-configuration`);
    const jwksUri = metadata.jwks_uri;
    const issuer = metadata.issuer;
    if (typeof jwksUri !== 'string' || typeof issuer !== 'string') throw new Error('the OpenID metadata has no jwks_uri or issuer');
    // The keys must come from the same authority: metadata pointing elsewhere is not trusted.
    if (new URL(jwksUri).origin !== new URL(authority).origin) throw new Error('the OpenID metadata points to keys on another host');
    const jwks = await getJson(jwksUri);
    const keys = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(jwks.keys) ? (jwks.keys as Record<string, unknown>[]) : []) {
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e } as JsonWebKey, format: 'jwk' }));
      } catch {
        // A key we cannot read signs nothing we accept.
      }
    }
    return { issuer: issuer.replace('{tenantid}', tenantId), keys, readAt: now().getTime() };
  }

  async function keysFor(kid: string): Promise<KeySet> {
    const at = now().getTime();
    const stale = !keySet || at - keySet.readAt > KEY_MAX_AGE_MS;
    const unknownKid = keySet !== undefined && !keySet.keys.has(kid) && at - lastRead > KEY_REFRESH_MIN_MS;
    if (stale || unknownKid) {
      reading ??= readKeys().finally(() => {
        reading = undefined;
      });
      lastRead = at;
      keySet = await reading;
    }
    return keySet!;
  }

  async function verifyToken(token: string): Promise<CallerVerdict> {
    const [h, p, s] = token.split('.');
    const header = part(h);
    const claims = part(p);
    if (!header || !claims || s === undefined || token.split('.').length !== 3) return { ok: false, reason: 'the token is not a JWT' };
    if (header.alg !== 'RS256' || typeof header.kid !== 'string') return { ok: false, reason: 'the token is not signed with RS256 and a key id' };
    let keys: KeySet;
    try {
      keys = await keysFor(header.kid);
    } catch (error) {
      return { ok: false, reason: `could not read the tenant's signing keys (${error instanceof Error ? error.message : 'unknown error'})`, unavailable: true };
    }
    const key = keys.keys.get(header.kid);
    if (!key) return { ok: false, reason: 'the token is signed with a key the tenant does not publish' };
    if (!verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return { ok: false, reason: 'the token signature is invalid' };
    const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : '';
    if (tid !== tenantId) return { ok: false, reason: 'the token is from another tenant' };
    if (claims.iss !== `https://sts.windows.net/${tid}/` && claims.iss !== keys.issuer) return { ok: false, reason: 'the token issuer is not the tenant' };
    if (typeof claims.aud !== 'string' || !audiences.has(claims.aud)) return { ok: false, reason: 'the token is for another audience' };
    const seconds = Math.floor(now().getTime() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_SECONDS <= seconds) return { ok: false, reason: 'the token is expired' };
    if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > seconds) return { ok: false, reason: 'the token is not valid yet' };
    if (claims.scp !== undefined) return { ok: false, reason: 'the token is a delegated (user) token; an app-only token is required' };
    const appId = typeof claims.appid === 'string' ? claims.appid : typeof claims.azp === 'string' ? claims.azp : '';
    const objectId = typeof claims.oid === 'string' ? claims.oid : '';
    if (!allowed.has(appId.toLowerCase()) && !allowed.has(objectId.toLowerCase())) return { ok: false, reason: 'the calling application is not an allowed caller' };
    return { ok: true, caller: { appId, objectId, tenantId: tid } };
  }

  return { verify: verifyToken };
}
