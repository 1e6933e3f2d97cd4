import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CallerTokenVerifier, VerifiedCaller } from '../domain/ports/caller-token-verifier.ts';
import type { LeaseStore } from '../domain/ports/lease-store.ts';

/**
 * Who may push to POST /api/alerts/notify. Two ways, each configured on its own:
 * - an Entra ID access token (`Authorization: Bearer`), verified completely from the headers,
 *   before a byte of the body is read: the way to prefer (a Logic App's managed identity, no
 *   secret to hold or rotate);
 * - for a caller that cannot get one, an HMAC-SHA256 over `<timestamp>.<raw body>` with a shared
 *   secret: `X-Incident-Bot-Timestamp: <unix seconds>` and `X-Incident-Bot-Signature: sha256=<hex>`.
 *   The headers (shape, timestamp within the window) are checked before the body is read, the
 *   MAC right after it is read (it covers the body) and before it is parsed; each signature is
 *   accepted once (a store lease, so a replay to another instance fails too), and a timestamp
 *   outside the window is refused, so a captured request cannot be replayed later either.
 */
export const PUSH_TIMESTAMP_HEADER = 'x-incident-bot-timestamp';
export const PUSH_SIGNATURE_HEADER = 'x-incident-bot-signature';

export interface HmacSettings {
  secret: string;
  /** A request's timestamp may differ from our clock by at most this. */
  windowSeconds: number;
}

export interface AlertPushAuthDeps {
  entra?: CallerTokenVerifier;
  hmac?: HmacSettings;
  /** Replays of an HMAC-signed request are refused through leases (with the database's clock). */
  leases: LeaseStore;
  now?: () => Date;
}

export type PushCaller = { kind: 'entra'; caller: VerifiedCaller } | { kind: 'hmac'; timestamp: string; signature: Buffer };
export type PushAdmission = { ok: true; caller: PushCaller } | { ok: false; status: 401 | 503; reason: string };

export interface AlertPushAuth {
  /** From the headers alone (no body read yet). */
  admitHeaders(headers: IncomingHttpHeaders): Promise<PushAdmission>;
  /** With the raw body, before it is parsed: the HMAC and its single use. */
  admitBody(caller: PushCaller, raw: Buffer): Promise<PushAdmission>;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const TIMESTAMP = /^[0-9]{9,11}$/;
const MAX_AUTHORIZATION_CHARS = 16 * 1024;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

/** The signature a sender computes: HMAC-SHA256(secret, `${timestamp}.${rawBody}`), hex. */
export function pushSignature(secret: string, timestamp: string, raw: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest('hex');
}

/** Prefix of the replay guard's leases; the expired ones are purged now and then. */
export const REPLAY_LEASE_PREFIX = 'alert-push-replay:';
const PURGE_EVERY_MS = 10 * 60_000;

export function createAlertPushAuth(deps: AlertPushAuthDeps): AlertPushAuth {
  const now = deps.now ?? (() => new Date());
  let lastPurge = 0;
  /** The markers are never released (that would allow the replay); expired ones are deleted instead. */
  const purgeNowAndThen = () => {
    if (Date.now() - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = Date.now();
    void deps.leases.purgeExpiredLeases(REPLAY_LEASE_PREFIX).catch(() => undefined);
  };
  const refuse = (reason: string): PushAdmission => ({ ok: false, status: 401, reason });

  return {
    async admitHeaders(headers) {
      const authorization = single(headers.authorization);
      if (authorization !== undefined) {
        if (!deps.entra) return refuse('bearer token sent, but Entra ID callers are not configured (ALERT_PUSH_AUDIENCE)');
        const match = authorization.length <= MAX_AUTHORIZATION_CHARS ? BEARER.exec(authorization) : null;
        if (!match) return refuse('the Authorization header is not a bearer JWT');
        const verdict = await deps.entra.verify(match[1]!);
        if (!verdict.ok) return { ok: false, status: verdict.unavailable ? 503 : 401, reason: verdict.reason };
        return { ok: true, caller: { kind: 'entra', caller: verdict.caller } };
      }
      const signature = single(headers[PUSH_SIGNATURE_HEADER]);
      const timestamp = single(headers[PUSH_TIMESTAMP_HEADER]);
      if (signature === undefined && timestamp === undefined) return refuse('no credentials (bearer token or signature)');
      if (!deps.hmac) return refuse('signature sent, but signed pushes are not configured (ALERT_PUSH_HMAC_SECRET)');
      const mac = signature === undefined ? null : SIGNATURE.exec(signature.trim().toLowerCase());
      if (!mac || timestamp === undefined || !TIMESTAMP.test(timestamp)) return refuse('signature or timestamp header missing or malformed');
      const skew = Math.abs(now().getTime() / 1000 - Number(timestamp));
      if (skew > deps.hmac.windowSeconds) return refuse('the signed timestamp is outside the accepted window (old or replayed request, or a clock off)');
      return { ok: true, caller: { kind: 'hmac', timestamp, signature: Buffer.from(mac[1]!, 'hex') } };
    },

    async admitBody(caller, raw) {
      if (caller.kind !== 'hmac') return { ok: true, caller };
      if (!deps.hmac) return refuse('signed pushes are not configured');
      const expected = Buffer.from(pushSignature(deps.hmac.secret, caller.timestamp, raw), 'hex');
      // Both are 32 bytes (the header's shape was checked), so the comparison takes constant time.
      if (!timingSafeEqual(expected, caller.signature)) return refuse('the signature does not match the body');
      // Single use within (twice) the window: the lease name is the signature's hash, the holder
      // unique to this request, so a second use finds the lease held by someone else.
      const name = `${REPLAY_LEASE_PREFIX}${createHash('sha256').update(caller.signature).digest('hex').slice(0, 40)}`;
      const first = await deps.leases.tryAcquireLease(name, randomUUID(), 2 * deps.hmac.windowSeconds * 1000);
      if (!first) return refuse('this signed request was already used (replay)');
      purgeNowAndThen();
      return { ok: true, caller };
    },
  };
}
