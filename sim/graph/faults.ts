import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonRequest } from '../https-json-server.ts';

/**
 * Failures a test injects into a stand-in (Graph, Okta, the token endpoint):
 * `server.faults.push({ match: (r) => r.path.endsWith('/alerts_v2'), status: 429, retryAfterSeconds: 2, times: 1 })`.
 * The first matching fault with times left answers the request; each server renders the status
 * in its own vendor's error body. A fault with only `delayMs` (or `until`) slows the real answer
 * down (for timeout and ordering tests) instead of replacing it.
 */
export interface Fault {
  /** Which requests it hits (default: all). */
  match?: (req: JsonRequest) => boolean;
  /** HTTP status to answer instead of the real handler; omit to only delay. */
  status?: number;
  /** Sent as the Retry-After header (seconds). */
  retryAfterSeconds?: number;
  /** How many requests it hits (default 1; Infinity for a persistent outage). */
  times?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Hold the request until this settles (a gate the test opens), then answer (or fail) as usual. */
  until?: Promise<unknown>;
  /** Replaces the vendor-shaped error body. */
  body?: unknown;
  /** How many requests it has hit so far (maintained by the server). */
  hits?: number;
}

export interface FiredFault extends Fault {
  status: number;
}

/** Consumes one use of the first matching fault; returns it when it replaces the answer. */
export async function takeFault(faults: Fault[], req: JsonRequest): Promise<FiredFault | undefined> {
  const index = faults.findIndex((f) => (f.times ?? 1) > 0 && (f.match ? f.match(req) : true));
  if (index < 0) return undefined;
  const fault = faults[index] as Fault;
  fault.times = (fault.times ?? 1) - 1;
  fault.hits = (fault.hits ?? 0) + 1;
  if (fault.times <= 0) faults.splice(index, 1);
  if (fault.delayMs) await sleep(fault.delayMs);
  if (fault.until) await fault.until;
  return fault.status === undefined ? undefined : (fault as FiredFault);
}

export function retryAfterHeaders(fault: Fault): Record<string, string> {
  return fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
}
