import type { DefenderWriteback } from '../../domain/ports/defender-writeback.ts';
import type { AlertUpdate } from '../../domain/ports/writeback-outbox.ts';
import { graphErrorToAppError, type GraphClient } from './graph-client.ts';

/**
 * Write-back to Defender XDR over Microsoft Graph:
 * - alert comments: POST /security/alerts_v2/{id}/comments, body `@odata.type` alertComment +
 *   `comment` (https://learn.microsoft.com/en-us/graph/api/security-alert-post-comments), SecurityAlert.ReadWrite.All;
 * - alert update: PATCH /security/alerts_v2/{id} with status / classification / determination /
 *   assignedTo (https://learn.microsoft.com/en-us/graph/api/security-alert-update), SecurityAlert.ReadWrite.All;
 * - incident comments: POST /security/incidents/{id}/comments, same body
 *   (https://learn.microsoft.com/en-us/graph/api/security-incident-post-comments), SecurityIncident.ReadWrite.All.
 * The client should not retry by itself (maxRetries 0): the outbox retries later, with backoff,
 * without holding anything while it waits.
 */
const COMMENT_TYPE = 'microsoft.graph.security.alertComment';

export function createGraphDefenderWriteback(deps: { client: GraphClient }): DefenderWriteback {
  const { client } = deps;
  const call = async (what: string, permission: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      throw graphErrorToAppError(error, { action: what, permission });
    }
  };
  const withSignal = <T extends { option(key: string, value: unknown): T }>(request: T, signal?: AbortSignal): T => (signal ? request.option('signal', signal) : request);
  return {
    commentAlert: (alertId, comment, options = {}) =>
      call('comment on the Defender alert', 'SecurityAlert.ReadWrite.All', () => withSignal(client.api(`/security/alerts_v2/${encodeURIComponent(alertId)}/comments`), options.signal).post({ '@odata.type': COMMENT_TYPE, comment })),
    commentIncident: (incidentId, comment, options = {}) =>
      call('comment on the Defender incident', 'SecurityIncident.ReadWrite.All', () => withSignal(client.api(`/security/incidents/${encodeURIComponent(incidentId)}/comments`), options.signal).post({ '@odata.type': COMMENT_TYPE, comment })),
    updateAlert: (alertId, update: AlertUpdate, options = {}) =>
      call('update the Defender alert', 'SecurityAlert.ReadWrite.All', () => withSignal(client.api(`/security/alerts_v2/${encodeURIComponent(alertId)}`), options.signal).patch(update)),
  };
}
