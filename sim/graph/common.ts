import { randomUUID } from 'node:crypto';
import type { JsonReply, JsonRequest } from '../https-json-server.ts';
import type { Tenant } from '../tenant.ts';
import type { MdiSettings } from './identity-accounts-routes.ts';

/** What a containment call did, in order, for tests to assert on without parsing the request log. */
export type GraphActionKind = 'disableUser' | 'enableUser' | 'revokeSignInSessions' | 'confirmCompromised' | 'dismissRisk' | 'updateAlert' | 'commentAlert' | 'commentIncident';
export interface GraphAction {
  kind: GraphActionKind;
  /** User object id or alert id. */
  target: string;
  at: string;
  appId: string;
  /** What an alert/incident write sent (PATCH changes, comment text), for tests to read. */
  body?: Record<string, unknown>;
}

export interface GraphContext {
  tenant: Tenant;
  /** Base URL of this server, for @odata.nextLink. */
  baseUrl: string;
  req: JsonRequest;
  roles: string[];
  appId: string;
  actions: GraphAction[];
  /** Comments of Defender incidents, by incident id (an incident exists when an alert names it). */
  incidentComments: Map<string, unknown[]>;
  now: () => Date;
  alertPageSize: number;
  /** The Defender for Identity side (identityAccounts). */
  mdi: MdiSettings;
}

export const GRAPH_METADATA = 'https://graph.microsoft.com/v1.0/$metadata';

/** Graph's error body: {"error":{"code","message","innerError":{date,request-id,client-request-id}}}. */
export function graphError(req: JsonRequest, status: number, code: string, message: string, headers: Record<string, string> = {}): JsonReply {
  const requestId = randomUUID();
  const clientRequestId = String(req.headers['client-request-id'] ?? requestId);
  return {
    status,
    headers: { 'request-id': requestId, 'client-request-id': clientRequestId, ...headers },
    body: {
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': clientRequestId },
      },
    },
  };
}

export function ok(req: JsonRequest, status: number, body?: unknown): JsonReply {
  const requestId = randomUUID();
  return {
    status,
    headers: { 'request-id': requestId, 'client-request-id': String(req.headers['client-request-id'] ?? requestId) },
    ...(body === undefined ? {} : { body }),
  };
}

/**
 * Application permission check: the token must hold one of `anyOf`. Directory routes answer
 * Authorization_RequestDenied; security / identity protection routes answer Forbidden naming
 * the roles, as those services do.
 */
export function requireRole(ctx: GraphContext, anyOf: readonly string[], style: 'directory' | 'security' = 'directory'): JsonReply | undefined {
  if (anyOf.some((role) => ctx.roles.includes(role))) return undefined;
  if (style === 'directory') return graphError(ctx.req, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  return graphError(ctx.req, 403, 'Forbidden', `Missing application roles. API required roles: ${anyOf.join(', ')}. Application roles: ${ctx.roles.join(', ')}.`);
}

/** Opaque continuation token for @odata.nextLink: the offset plus the query that produced it. */
export function encodeSkipToken(state: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeSkipToken(token: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
