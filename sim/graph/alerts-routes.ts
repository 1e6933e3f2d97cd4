import type { JsonReply } from '../https-json-server.ts';
import type { GraphAlert } from '../tenant.ts';
import { decodeSkipToken, encodeSkipToken, GRAPH_METADATA, graphError, ok, requireRole, type GraphContext } from './common.ts';
import { compareValues, conjuncts, ODataFilterError, parseFilter, type FilterExpr } from './odata-filter.ts';

/**
 * /v1.0/security/alerts_v2: list with $filter/$top/$orderby/$skiptoken, get one, PATCH, comments.
 * Filters: comparisons joined by `and` on serviceSource, severity, status, classification
 * (strings, eq/ne) and createdDateTime / lastUpdateDateTime (unquoted DateTimeOffset, any
 * comparison). Anything else is refused with 400 BadRequest.
 */

const READ_ROLES = ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'] as const;
const WRITE_ROLES = ['SecurityAlert.ReadWrite.All'] as const;
const STRING_PROPS = ['serviceSource', 'severity', 'status', 'classification', 'determination', 'detectionSource', 'incidentId', 'providerAlertId'];
const DATE_PROPS = ['createdDateTime', 'lastUpdateDateTime', 'firstActivityDateTime', 'lastActivityDateTime'];
const MAX_TOP = 2000;

type Predicate = (alert: GraphAlert) => boolean;

function compileAlertFilter(text: string): Predicate {
  const expr: FilterExpr = parseFilter(text);
  const parts = conjuncts(expr);
  if (!parts) throw new ODataFilterError(`Invalid filter clause: only 'and' of comparisons is supported here: '${text}'.`);
  const predicates = parts.map((part): Predicate => {
    if (part.kind !== 'compare') throw new ODataFilterError(`Invalid filter clause: function '${part.fn}' is not supported on alerts.`);
    const { property, op, value } = part;
    if (STRING_PROPS.includes(property)) {
      if (op !== 'eq' && op !== 'ne') throw new ODataFilterError(`Invalid filter clause: operator '${op}' is not supported for property '${property}'.`);
      if (value.type !== 'string' && value.type !== 'null') {
        throw new ODataFilterError(`A binary operator with incompatible types was detected. Found operand types 'Edm.String' and '${value.type}' for operator kind '${op}'.`);
      }
      const expected = value.type === 'string' ? value.value : null;
      return (alert) => (op === 'eq' ? alert[property] === expected : alert[property] !== expected);
    }
    if (DATE_PROPS.includes(property)) {
      if (value.type !== 'datetime') {
        throw new ODataFilterError(`A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.${value.type === 'string' ? 'String' : value.type}' for operator kind '${op}'.`);
      }
      const expected = Date.parse(value.value);
      if (Number.isNaN(expected)) throw new ODataFilterError(`Invalid DateTimeOffset literal '${value.value}'.`);
      return (alert) => {
        const actual = Date.parse(String(alert[property] ?? ''));
        return !Number.isNaN(actual) && compareValues(actual, op, expected);
      };
    }
    throw new ODataFilterError(`Invalid filter clause: could not find a property named '${property}' on type 'microsoft.graph.security.alert' or it does not support filtering.`);
  });
  return (alert) => predicates.every((p) => p(alert));
}

function sorter(orderby: string | undefined): ((a: GraphAlert, b: GraphAlert) => number) | undefined {
  // Without $orderby, newest created first (what the portal shows); clients must not rely on it.
  const text = orderby ?? 'createdDateTime desc';
  const match = /^(createdDateTime|lastUpdateDateTime)(?:\s+(asc|desc))?$/.exec(text.trim());
  if (!match) return undefined;
  const property = match[1] as string;
  const sign = match[2] === 'desc' ? -1 : 1;
  return (a, b) => sign * (Date.parse(String(a[property])) - Date.parse(String(b[property])) || a.id.localeCompare(b.id));
}

function listAlerts(ctx: GraphContext): JsonReply {
  const denied = requireRole(ctx, READ_ROLES, 'security');
  if (denied) return denied;
  const q = ctx.req.query;
  const skipToken = q.get('$skiptoken');
  let state: { filter?: string; top: number; orderby?: string; offset: number };
  if (skipToken !== null) {
    const decoded = decodeSkipToken(skipToken);
    if (!decoded || typeof decoded.offset !== 'number' || typeof decoded.top !== 'number') {
      return graphError(ctx.req, 400, 'BadRequest', 'Invalid $skiptoken value.');
    }
    state = decoded as typeof state;
  } else {
    const topText = q.get('$top');
    const top = topText === null ? ctx.alertPageSize : Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      return graphError(ctx.req, 400, 'BadRequest', `Invalid $top value '${topText}': it must be an integer between 1 and ${MAX_TOP}.`);
    }
    state = { top, offset: 0, ...(q.get('$filter') === null ? {} : { filter: q.get('$filter') as string }), ...(q.get('$orderby') === null ? {} : { orderby: q.get('$orderby') as string }) };
  }
  for (const unsupported of ['$search', '$expand', '$skip', '$count']) {
    if (q.has(unsupported)) return graphError(ctx.req, 400, 'BadRequest', `Query option '${unsupported}' is not supported on this resource.`);
  }
  let predicate: Predicate = () => true;
  if (state.filter !== undefined) {
    try {
      predicate = compileAlertFilter(state.filter);
    } catch (error) {
      if (error instanceof ODataFilterError) return graphError(ctx.req, 400, 'BadRequest', error.message);
      throw error;
    }
  }
  const compare = sorter(state.orderby);
  if (!compare) return graphError(ctx.req, 400, 'BadRequest', `Invalid $orderby value '${state.orderby}'.`);
  const matching = [...ctx.tenant.alerts.values()].filter(predicate).sort(compare);
  const page = matching.slice(state.offset, state.offset + state.top);
  const body: Record<string, unknown> = { '@odata.context': `${GRAPH_METADATA}#security/alerts_v2` };
  if (state.offset + state.top < matching.length) {
    const next = new URL(`${ctx.baseUrl}/v1.0/security/alerts_v2`);
    if (state.filter !== undefined) next.searchParams.set('$filter', state.filter);
    next.searchParams.set('$top', String(state.top));
    next.searchParams.set('$skiptoken', encodeSkipToken({ ...state, offset: state.offset + state.top }));
    body['@odata.nextLink'] = next.toString();
  }
  body.value = page.map((alert) => structuredClone(alert));
  return ok(ctx.req, 200, body);
}

// Enum members of the alert resource (https://learn.microsoft.com/en-us/graph/api/resources/security-alert,
// microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/resources/security-alert.md): an
// unknown member is refused as Graph refuses any value outside an enum.
const ALERT_STATUSES = ['unknown', 'new', 'inProgress', 'resolved', 'unknownFutureValue'];
const ALERT_CLASSIFICATIONS = ['unknown', 'falsePositive', 'truePositive', 'informationalExpectedActivity', 'unknownFutureValue'];
const ALERT_DETERMINATIONS = [
  'unknown', 'apt', 'malware', 'securityPersonnel', 'securityTesting', 'unwantedSoftware', 'other', 'multiStagedAttack', 'compromisedUser',
  'phishing', 'maliciousUserActivity', 'clean', 'insufficientData', 'confirmedUserActivity', 'lineOfBusinessApplication', 'unknownFutureValue',
];
const ENUMS: Record<string, readonly string[]> = { status: ALERT_STATUSES, classification: ALERT_CLASSIFICATIONS, determination: ALERT_DETERMINATIONS };
/** What the update page lists as updatable (security-alert-update.md: status, classification, determination, assignedTo). */
const UPDATABLE = ['status', 'classification', 'determination', 'assignedTo', 'customDetails'];

/**
 * PATCH /security/alerts_v2/{id} (https://learn.microsoft.com/en-us/graph/api/security-alert-update):
 * needs SecurityAlert.ReadWrite.All; answers 200 with the updated alert. Enum values are checked,
 * `assignedTo` is a string or null. The docs name no refused classification/determination pair.
 */
function patchAlert(ctx: GraphContext, alert: GraphAlert): JsonReply {
  const denied = requireRole(ctx, WRITE_ROLES, 'security');
  if (denied) return denied;
  const body = ctx.req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(ctx.req, 400, 'BadRequest', 'Empty Payload. JSON content expected.');
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key === '@odata.type') continue;
    if (!UPDATABLE.includes(key)) {
      return graphError(ctx.req, 400, 'BadRequest', `The property '${key}' does not exist on type 'microsoft.graph.security.alert' or cannot be updated.`);
    }
    const members = ENUMS[key];
    if (members && (typeof value !== 'string' || !members.includes(value))) {
      return graphError(ctx.req, 400, 'BadRequest', `The value '${String(value)}' is not valid for property '${key}'.`);
    }
    if (key === 'assignedTo' && value !== null && typeof value !== 'string') {
      return graphError(ctx.req, 400, 'BadRequest', "Cannot convert the literal to the expected type 'Edm.String' for property 'assignedTo'.");
    }
    changes[key] = value;
  }
  const now = ctx.now().toISOString();
  const updated: GraphAlert = { ...alert, ...changes, lastUpdateDateTime: now };
  if (changes.status === 'resolved') updated.resolvedDateTime = now;
  ctx.tenant.alerts.set(alert.id, updated);
  ctx.actions.push({ kind: 'updateAlert', target: alert.id, at: now, appId: ctx.appId, body: structuredClone(changes) });
  return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#security/alerts_v2/$entity`, ...structuredClone(updated) });
}

const COMMENT_TYPES = ['microsoft.graph.security.alertComment', '#microsoft.graph.security.alertComment'];

/** The body of a comment POST: `@odata.type` alertComment (when given) and a non-empty `comment` string. */
export function commentOf(ctx: GraphContext): { comment: string } | JsonReply {
  const body = ctx.req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(ctx.req, 400, 'BadRequest', 'Empty Payload. JSON content expected.');
  const fields = body as Record<string, unknown>;
  const type = fields['@odata.type'];
  if (type !== undefined && !COMMENT_TYPES.includes(String(type))) return graphError(ctx.req, 400, 'BadRequest', `Invalid @odata.type '${String(type)}': expected microsoft.graph.security.alertComment.`);
  for (const key of Object.keys(fields)) {
    if (key !== '@odata.type' && key !== 'comment') return graphError(ctx.req, 400, 'BadRequest', `The property '${key}' does not exist on type 'microsoft.graph.security.alertComment'.`);
  }
  if (typeof fields.comment !== 'string' || fields.comment.trim() === '') return graphError(ctx.req, 400, 'BadRequest', "The 'comment' property is required.");
  return { comment: fields.comment };
}

/**
 * POST /security/alerts_v2/{id}/comments (https://learn.microsoft.com/en-us/graph/api/security-alert-post-comments):
 * SecurityAlert.ReadWrite.All; 200 with every alertComment of the alert, the new one last.
 */
function commentAlert(ctx: GraphContext, alert: GraphAlert): JsonReply {
  const denied = requireRole(ctx, WRITE_ROLES, 'security');
  if (denied) return denied;
  const parsed = commentOf(ctx);
  if (!('comment' in parsed)) return parsed;
  const now = ctx.now().toISOString();
  const comments = [...((alert.comments as unknown[] | undefined) ?? []), { comment: parsed.comment, createdByDisplayName: ctx.appId, createdDateTime: now }];
  ctx.tenant.alerts.set(alert.id, { ...alert, comments, lastUpdateDateTime: now });
  ctx.actions.push({ kind: 'commentAlert', target: alert.id, at: now, appId: ctx.appId, body: { comment: parsed.comment } });
  return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#security/alerts_v2('${alert.id}')/comments`, value: comments });
}

/** Routes under /v1.0/security/alerts_v2; `rest` is the path after it, split on '/'. */
export function routeAlerts(ctx: GraphContext, rest: string[]): JsonReply {
  const method = ctx.req.method;
  if (rest.length === 0) {
    if (method === 'GET') return listAlerts(ctx);
    return graphError(ctx.req, 405, 'BadRequest', `The HTTP method '${method}' is not allowed on alerts_v2.`);
  }
  const id = decodeURIComponent(rest[0] as string);
  const alert = ctx.tenant.alerts.get(id);
  const denied = requireRole(ctx, READ_ROLES, 'security');
  if (denied) return denied;
  if (!alert) return graphError(ctx.req, 404, 'NotFound', `Alert with id '${id}' was not found.`);
  if (rest.length === 1 && method === 'GET') return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#security/alerts_v2/$entity`, ...structuredClone(alert) });
  if (rest.length === 1 && method === 'PATCH') return patchAlert(ctx, alert);
  if (rest.length === 2 && rest[1] === 'comments' && method === 'POST') return commentAlert(ctx, alert);
  return graphError(ctx.req, 400, 'BadRequest', `Resource not found for the segment '${rest.at(-1)}'.`);
}
