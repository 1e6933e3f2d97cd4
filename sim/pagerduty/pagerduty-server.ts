import { randomUUID } from 'node:crypto';
import { startHttpsJsonServer, type JsonReply, type RunningServer } from '../https-json-server.ts';

/**
 * A local stand-in for the PagerDuty Events API v2 (POST /v2/enqueue), validating as the real one
 * does and recording every accepted event. Contract: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
 * and .../overview (PagerDuty/developer-docs, docs/events-API-v2/01-Overview.md, 02-Trigger-Events.md):
 * - `routing_key` (32 characters, an integration key) and `event_action` (trigger|acknowledge|resolve) required;
 * - a trigger needs payload.summary (≤ 1024), payload.source and payload.severity (critical|error|warning|info);
 * - `dedup_key` ≤ 255; a trigger without one gets a generated key;
 * - 202 {status: "success", message: "Event processed", dedup_key}; 400 {status: "invalid event",
 *   message: "Event object is invalid", errors: [...]} otherwise; an unknown routing key is accepted
 *   (202) and dropped, as PagerDuty does, so it is not recorded as an alert.
 * Alerts are kept by dedup key: a second trigger for an open alert is folded into it, a resolve closes it.
 */
export interface PagerDutyEvent {
  routingKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey: string;
  summary?: string;
  severity?: string;
  at: string;
}

export interface PagerDutyAlert {
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  summary: string;
  triggers: number;
}

export interface PagerDutyServer extends RunningServer {
  events: PagerDutyEvent[];
  alerts: Map<string, PagerDutyAlert>;
  /** Status codes to answer the next requests with (e.g. 500, 429), one per request, before validating. */
  failNext: number[];
}

const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

function invalid(errors: string[]): JsonReply {
  return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
}

export async function startPagerDutyServer(options: { routingKeys: string[] }): Promise<PagerDutyServer> {
  const events: PagerDutyEvent[] = [];
  const alerts = new Map<string, PagerDutyAlert>();
  const failNext: number[] = [];
  const server = await startHttpsJsonServer((req) => {
    if (req.method !== 'POST' || req.path !== '/v2/enqueue') return { status: 404, body: { status: 'not found' } };
    const injected = failNext.shift();
    if (injected !== undefined) return { status: injected, body: { status: 'error', message: 'injected failure' } };
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Request body must be a JSON object'] } };
    const e = body as Record<string, unknown>;
    const errors: string[] = [];
    if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) errors.push("'routing_key' is missing or invalid (must be a 32 character integration key)");
    if (typeof e.event_action !== 'string' || !ACTIONS.has(e.event_action)) errors.push("'event_action' is missing or invalid");
    if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255)) errors.push("'dedup_key' must be a string of at most 255 characters");
    const payload = (e.payload && typeof e.payload === 'object' ? e.payload : undefined) as Record<string, unknown> | undefined;
    if (e.event_action === 'trigger') {
      if (!payload) errors.push("'payload' is missing");
      else {
        if (typeof payload.summary !== 'string' || !payload.summary || payload.summary.length > 1024) errors.push("'payload.summary' is missing or longer than 1024 characters");
        if (typeof payload.source !== 'string' || !payload.source) errors.push("'payload.source' is missing");
        if (typeof payload.severity !== 'string' || !SEVERITIES.has(payload.severity)) errors.push("'payload.severity' is missing or invalid");
      }
    } else if (typeof e.dedup_key !== 'string' || !e.dedup_key) errors.push("'dedup_key' is required for acknowledge and resolve");
    if (errors.length > 0) return invalid(errors);
    const dedupKey = typeof e.dedup_key === 'string' && e.dedup_key ? e.dedup_key : randomUUID().replace(/-/g, '');
    const reply: JsonReply = { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
    // An event for a routing key that names no integration is accepted and dropped.
    if (!options.routingKeys.includes(e.routing_key as string)) return reply;
    const action = e.event_action as PagerDutyEvent['action'];
    events.push({ routingKey: e.routing_key as string, action, dedupKey, ...(payload ? { summary: String(payload.summary), severity: String(payload.severity) } : {}), at: new Date().toISOString() });
    const open = alerts.get(dedupKey);
    if (action === 'trigger') {
      if (open && open.status !== 'resolved') open.triggers += 1;
      else alerts.set(dedupKey, { dedupKey, status: 'triggered', summary: String(payload!.summary), triggers: 1 });
    } else if (open && open.status !== 'resolved') open.status = action === 'resolve' ? 'resolved' : 'acknowledged';
    return reply;
  });
  return { ...server, events, alerts, failNext };
}
