import { randomUUID } from 'node:crypto';
import { startHttpsJsonServer, type JsonReply, type RunningServer } from '../https-json-server.ts';

/**
 * A local stand-in for the Opsgenie Alert API (the part incident-bot uses), validating as the real
 * one does and recording what it accepted. Contract: https://docs.opsgenie.com/docs/alert-api
 * ("Create Alert", "Close Alert") and https://docs.opsgenie.com/docs/authentication:
 * - every request needs `Authorization: GenieKey <api key>` (401 otherwise);
 * - POST /v2/alerts: `message` required (≤ 130 characters), `alias` ≤ 512, `priority` P1–P5;
 *   an open alert with the same alias is not created again (its count grows);
 * - POST /v2/alerts/{identifier}/close?identifierType=id|alias|tiny (default id);
 * - requests are processed asynchronously: 202 {result: "Request will be processed", took, requestId};
 *   an invalid request is 422 {message, took, requestId}.
 */
export interface OpsgenieAlert {
  alias: string;
  message: string;
  priority: string;
  status: 'open' | 'closed';
  count: number;
}

export interface OpsgenieRequestRecord {
  kind: 'create' | 'close';
  alias: string;
  at: string;
}

export interface OpsgenieServer extends RunningServer {
  alerts: Map<string, OpsgenieAlert>;
  accepted: OpsgenieRequestRecord[];
}

const PRIORITIES = new Set(['P1', 'P2', 'P3', 'P4', 'P5']);

function answer(status: number, extra: Record<string, unknown>): JsonReply {
  return { status, body: { ...extra, took: 0.01, requestId: randomUUID() } };
}

export async function startOpsgenieServer(options: { apiKey: string }): Promise<OpsgenieServer> {
  const alerts = new Map<string, OpsgenieAlert>();
  const accepted: OpsgenieRequestRecord[] = [];
  const server = await startHttpsJsonServer((req) => {
    if (req.headers.authorization !== `GenieKey ${options.apiKey}`) return answer(401, { message: 'Could not authenticate' });
    const body = (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as Record<string, unknown>;
    if (req.method === 'POST' && req.path === '/v2/alerts') {
      if (typeof body.message !== 'string' || !body.message.trim()) return answer(422, { message: 'Message can not be empty.' });
      if (body.message.length > 130) return answer(422, { message: 'Message can not be longer than 130 characters.' });
      if (body.alias !== undefined && (typeof body.alias !== 'string' || body.alias.length > 512)) return answer(422, { message: 'Alias can not be longer than 512 characters.' });
      if (body.priority !== undefined && !PRIORITIES.has(String(body.priority))) return answer(422, { message: 'Priority should be one of [P1, P2, P3, P4, P5]' });
      const alias = typeof body.alias === 'string' && body.alias ? body.alias : randomUUID();
      const open = alerts.get(alias);
      if (open && open.status === 'open') open.count += 1;
      else alerts.set(alias, { alias, message: body.message, priority: String(body.priority ?? 'P3'), status: 'open', count: 1 });
      accepted.push({ kind: 'create', alias, at: new Date().toISOString() });
      return answer(202, { result: 'Request will be processed' });
    }
    const close = /^\/v2\/alerts\/([^/]+)\/close$/.exec(req.path);
    if (req.method === 'POST' && close) {
      const identifierType = req.query.get('identifierType') ?? 'id';
      if (!['id', 'alias', 'tiny'].includes(identifierType)) return answer(422, { message: `Invalid identifierType: ${identifierType}` });
      const alias = decodeURIComponent(close[1]!);
      // The request is accepted asynchronously either way; only an alias that names an alert closes one.
      const alert = identifierType === 'alias' ? alerts.get(alias) : undefined;
      if (alert) alert.status = 'closed';
      accepted.push({ kind: 'close', alias, at: new Date().toISOString() });
      return answer(202, { result: 'Request will be processed' });
    }
    return answer(404, { message: 'Not found' });
  });
  return { ...server, alerts, accepted };
}
