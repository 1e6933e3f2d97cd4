/**
 * The DefenderWriteback port: what the bot writes to Microsoft Defender XDR about an alert it
 * handled (implemented over Graph in src/adapters/graph/graph-defender-writeback.ts). Each call
 * throws an AppError on failure (UPSTREAM_ERROR/TIMEOUT/UPSTREAM_THROTTLED are worth a retry);
 * the write-back worker decides about retries, never the caller of an approval.
 */
import type { AlertUpdate } from './writeback-outbox.ts';

export interface DefenderWriteback {
  /** POST /security/alerts_v2/{id}/comments. */
  commentAlert(alertId: string, comment: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** POST /security/incidents/{id}/comments. */
  commentIncident(incidentId: string, comment: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** PATCH /security/alerts_v2/{id}. */
  updateAlert(alertId: string, update: AlertUpdate, options?: { signal?: AbortSignal }): Promise<void>;
}

/** An in-memory DefenderWriteback for unit tests: records calls; `fail` makes the next calls throw. */
export function createMemoryDefenderWriteback(): DefenderWriteback & { calls: { kind: string; target: string; body: unknown }[]; fail: Error[] } {
  const calls: { kind: string; target: string; body: unknown }[] = [];
  const fail: Error[] = [];
  const record = async (kind: string, target: string, body: unknown) => {
    const error = fail.shift();
    if (error) throw error;
    calls.push({ kind, target, body });
  };
  return {
    calls,
    fail,
    commentAlert: (id, comment) => record('alert-comment', id, { comment }),
    commentIncident: (id, comment) => record('incident-comment', id, { comment }),
    updateAlert: (id, update) => record('alert-update', id, update),
  };
}
