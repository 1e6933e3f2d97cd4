/**
 * The AuditLog port: the append-only record of who did what. Part of `Store` (./store.ts),
 * implemented by the SqlStore in src/store/ (the database refuses updates and deletes).
 */

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied', 'refused', 'info'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditEntry {
  at: Date;
  /** Who did it: an AAD object id, `system`, `notifier`... */
  actor?: string;
  /** What happened, dotted: `approval.requested`, `action.executed`, `alert.posted`... */
  action: string;
  /** Human-readable target (`CORP\jdoe`). */
  target?: string;
  /** Normalized account key of the target, so "everything about this person" is a query. */
  accountKey?: string;
  alertKey?: string;
  approvalId?: string;
  correlationId?: string;
  outcome: AuditOutcome;
  /** AppError code on failure. */
  code?: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  /** Monotonic sequence number assigned by the database. */
  seq: number;
}

export interface AuditQuery {
  /** Entries with this account key, or about an alert indexed under it. */
  accountKey?: string;
  alertKey?: string;
  approvalId?: string;
  limit: number;
}

export interface AuditLog {
  appendAudit(entry: AuditEntry): Promise<number>;
  /** Newest first. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
}
