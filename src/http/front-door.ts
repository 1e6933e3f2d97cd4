import { timingSafeEqual, createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hostOfHostHeader, isLoopbackHost, isLoopbackUrl } from '../shared/loopback.ts';

/**
 * Who may knock before a body is read. With authentication on, a request without a plausible
 * Bot Framework bearer token is refused from its headers alone (the token itself is validated by
 * botbuilder once the body is parsed: its `serviceurl` claim must match the activity's
 * serviceUrl). In the lab mode (BOT_AUTH=off) the per-run secret header is the authentication,
 * the Host header must name loopback (a DNS-rebinding page sends its own host name), and every
 * activity's serviceUrl must be loopback too, so no reply can be steered off the machine.
 */
export type FrontDoorAuth = { kind: 'bearer' } | { kind: 'lab'; secret: string };

/** Header the lab, the tests and anything else driving a BOT_AUTH=off bot must send. */
export const LAB_SECRET_HEADER = 'x-incident-bot-lab-secret';

export interface Refusal {
  status: 401 | 403;
  /** For the log only; the answer has no body (nothing that helps a guesser). */
  reason: string;
}

// A JWS compact serialization: three base64url parts (RFC 7515 §7.1). Tokens are a few KB.
const BEARER = /^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_AUTHORIZATION_CHARS = 16 * 1024;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function refuseByCredentials(headers: IncomingHttpHeaders, auth: FrontDoorAuth): Refusal | undefined {
  if (auth.kind === 'bearer') {
    const header = single(headers.authorization);
    if (header === undefined || header.length > MAX_AUTHORIZATION_CHARS || !BEARER.test(header)) return { status: 401, reason: 'no bearer token' };
    return undefined;
  }
  const host = single(headers.host);
  if (host === undefined || !isLoopbackHost(hostOfHostHeader(host))) return { status: 403, reason: 'lab mode: Host is not loopback' };
  const secret = single(headers[LAB_SECRET_HEADER]);
  if (secret === undefined || !sameSecret(secret, auth.secret)) return { status: 401, reason: 'lab mode: missing or wrong lab secret header' };
  return undefined;
}

/** Lab mode only: the activity's serviceUrl (where replies go) must be on this machine. */
export function refuseByActivity(body: unknown, auth: FrontDoorAuth): Refusal | undefined {
  if (auth.kind !== 'lab') return undefined;
  const serviceUrl = typeof body === 'object' && body !== null ? (body as { serviceUrl?: unknown }).serviceUrl : undefined;
  if (typeof serviceUrl !== 'string' || !isLoopbackUrl(serviceUrl)) return { status: 403, reason: 'lab mode: serviceUrl is not loopback' };
  return undefined;
}

/**
 * The front door for the configured mode. BOT_AUTH=off: the lab secret is BOT_LAB_SECRET, or
 * one generated for this run and printed once through `print` (never logged: logs are kept).
 */
export function frontDoorAuthFor(options: { botAuth: 'on' | 'off'; labSecret?: string; print: (line: string) => void }): FrontDoorAuth {
  if (options.botAuth === 'on') return { kind: 'bearer' };
  if (options.labSecret) return { kind: 'lab', secret: options.labSecret };
  const secret = randomBytes(24).toString('base64url');
  options.print(`incident-bot: BOT_AUTH=off lab secret for this run (send it as ${LAB_SECRET_HEADER}): ${secret}`);
  return { kind: 'lab', secret };
}
