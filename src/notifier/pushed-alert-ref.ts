import type { AlertSourceName } from '../domain/alert.ts';

/** Which alert a push names, and in which source to read it. Nothing else of the body is used. */
export interface PushedAlertRef {
  source: AlertSourceName;
  id: string;
}

export type PushedRefParse = { ok: true; ref: PushedAlertRef } | { ok: false; message: string };

const MAX_ID_CHARS = 200;

function idField(body: Record<string, unknown>, names: readonly string[]): string | undefined | false {
  const present = names.filter((name) => body[name] !== undefined && body[name] !== null);
  if (present.length === 0) return undefined;
  const values = new Set(present.map((name) => body[name]));
  const [value] = [...values];
  if (values.size !== 1 || typeof value !== 'string' || value.trim() === '' || value.length > MAX_ID_CHARS) return false;
  return value.trim();
}

/**
 * Reads the alert reference from a webhook body. Two shapes:
 * - `{ "alertId": "<Graph security/alerts_v2 id>" }` (or `"source": "graph"` beside it);
 * - a Microsoft Sentinel alert, as the playbook's alert trigger ("Microsoft Sentinel alert",
 *   connector azuresentinel) hands it over: the SecurityAlert record with its `SystemAlertId`
 *   (https://learn.microsoft.com/en-us/azure/sentinel/automation/playbook-triggers-actions,
 *   https://learn.microsoft.com/en-us/azure/sentinel/data-source-schema-reference#securityalert);
 *   the Logic App may forward `@{triggerBody()}` whole or just `{ "SystemAlertId": ... }`.
 * Everything else the body says (title, entities, severity) is ignored: the alert is read from
 * its source by id.
 */
export function parsePushedAlertRef(body: unknown): PushedRefParse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, message: 'The body must be a JSON object naming an alert ("alertId" or "SystemAlertId").' };
  const record = body as Record<string, unknown>;
  const graphId = idField(record, ['alertId']);
  const sentinelId = idField(record, ['SystemAlertId', 'systemAlertId']);
  if (graphId === false || sentinelId === false) return { ok: false, message: `The alert id must be one non-empty string of at most ${MAX_ID_CHARS} characters.` };
  if (graphId !== undefined && sentinelId !== undefined) return { ok: false, message: 'Name one alert: "alertId" (Graph) or "SystemAlertId" (Sentinel), not both.' };
  const declared = record.source;
  if (declared !== undefined && declared !== 'graph' && declared !== 'sentinel') return { ok: false, message: '"source" must be "graph" or "sentinel" when given.' };
  if (graphId !== undefined) {
    if (declared === 'sentinel') return { ok: false, message: '"alertId" names a Graph alert; a Sentinel alert is named by "SystemAlertId".' };
    return { ok: true, ref: { source: 'graph', id: graphId } };
  }
  if (sentinelId !== undefined) {
    if (declared === 'graph') return { ok: false, message: '"SystemAlertId" names a Sentinel alert; a Graph alert is named by "alertId".' };
    return { ok: true, ref: { source: 'sentinel', id: sentinelId } };
  }
  return { ok: false, message: 'The body names no alert: send "alertId" (a Graph alert id) or "SystemAlertId" (a Sentinel alert).' };
}
