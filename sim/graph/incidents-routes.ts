import type { JsonReply } from '../https-json-server.ts';
import { commentOf } from './alerts-routes.ts';
import { GRAPH_METADATA, graphError, ok, requireRole, type GraphContext } from './common.ts';

/**
 * /v1.0/security/incidents/{id}/comments, POST only
 * (https://learn.microsoft.com/en-us/graph/api/security-incident-post-comments; microsoftgraph/
 * microsoft-graph-docs-contrib api-reference/v1.0/api/security-incident-post-comments.md): an
 * alertComment body, SecurityIncident.ReadWrite.All, 200 with every comment of the incident. An
 * incident exists here when one of the tenant's alerts belongs to it; any other id is 404.
 */
const WRITE_ROLES = ['SecurityIncident.ReadWrite.All'] as const;

export function routeIncidents(ctx: GraphContext, rest: string[]): JsonReply {
  const method = ctx.req.method;
  const id = rest[0] === undefined ? undefined : decodeURIComponent(rest[0]);
  if (id === undefined || rest.length !== 2 || rest[1] !== 'comments' || method !== 'POST') {
    return graphError(ctx.req, 400, 'BadRequest', `Resource not found for the segment '${rest.at(-1) ?? 'incidents'}'.`);
  }
  const denied = requireRole(ctx, WRITE_ROLES, 'security');
  if (denied) return denied;
  const known = [...ctx.tenant.alerts.values()].some((alert) => alert.incidentId === id);
  if (!known) return graphError(ctx.req, 404, 'NotFound', `Incident with id '${id}' was not found.`);
  const parsed = commentOf(ctx);
  if (!('comment' in parsed)) return parsed;
  const now = ctx.now().toISOString();
  const comments = [...(ctx.incidentComments.get(id) ?? []), { comment: parsed.comment, createdByDisplayName: ctx.appId, createdDateTime: now }];
  ctx.incidentComments.set(id, comments);
  ctx.actions.push({ kind: 'commentIncident', target: id, at: now, appId: ctx.appId, body: { comment: parsed.comment } });
  return ok(ctx.req, 200, { '@odata.context': `${GRAPH_METADATA}#security/incidents('${id}')/comments`, value: comments });
}
