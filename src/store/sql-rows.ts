/** Row mapping shared by the SqlStore parts: database rows to the domain records of the ports. */
import type { Kysely, Selectable } from 'kysely';
import type { Alert, AlertStatus, Severity } from '../domain/alert.ts';
import type { AlertsTable, ApprovalsTable, AuditTable, Database } from './schema.ts';
import type { AlertRecord, PostState } from '../domain/ports/alert-store.ts';
import type { Approval, ApprovalState } from '../domain/ports/approval-store.ts';
import type { AuditOutcome, AuditRecord } from '../domain/ports/audit-log.ts';
import { optional, optionalDate } from './sql-values.ts';

export type AlertRow = Selectable<AlertsTable>;
export type ApprovalRow = Selectable<ApprovalsTable>;
export type AuditRow = Selectable<AuditTable>;

// ---- row mapping -----------------------------------------------------------------------------

export async function replaceAccounts(db: Kysely<Database>, alertKey: string, accountKeys: string[]): Promise<void> {
  await db.deleteFrom('alert_accounts').where('alert_key', '=', alertKey).execute();
  if (accountKeys.length > 0) {
    await db
      .insertInto('alert_accounts')
      .values(accountKeys.map((account_key) => ({ alert_key: alertKey, account_key })))
      .execute();
  }
}

export async function hydrateAlerts(db: Kysely<Database>, rows: AlertRow[]): Promise<AlertRecord[]> {
  if (rows.length === 0) return [];
  const accounts = await db
    .selectFrom('alert_accounts')
    .select(['alert_key', 'account_key'])
    .where(
      'alert_key',
      'in',
      rows.map((row) => row.key),
    )
    .orderBy('account_key')
    .execute();
  const byAlert = new Map<string, string[]>();
  for (const { alert_key, account_key } of accounts) {
    const keys = byAlert.get(alert_key) ?? [];
    keys.push(account_key);
    byAlert.set(alert_key, keys);
  }
  return rows.map((row) => toAlertRecord(row, byAlert.get(row.key) ?? []));
}

export function toAlertRecord(row: AlertRow, accountKeys: string[]): AlertRecord {
  const card =
    row.conversation_id !== null && row.activity_id !== null && row.posted_at !== null
      ? {
          conversationId: row.conversation_id,
          activityId: row.activity_id,
          threadConversationId: row.thread_conversation_id ?? row.conversation_id,
          postedAt: new Date(row.posted_at),
        }
      : undefined;
  return {
    key: row.key,
    code: row.code,
    alert: JSON.parse(row.alert_json) as Alert,
    fingerprint: row.fingerprint,
    severity: row.severity as Severity,
    status: row.status as AlertStatus,
    accountKeys: [...accountKeys].sort(),
    firstSeenAt: new Date(row.first_seen_at),
    changedAt: new Date(row.changed_at),
    postState: row.post_state as PostState,
    postClaimedBy: optional(row.post_claimed_by),
    postClaimedAt: optionalDate(row.post_claimed_at),
    card,
    updateRequested: Number(row.update_requested),
    updateApplied: Number(row.update_applied),
    updateClaimedBy: optional(row.update_claimed_by),
    updateClaimedAt: optionalDate(row.update_claimed_at),
    ...(row.owner_id !== null && row.owned_at !== null
      ? { owner: { id: row.owner_id, name: row.owner_name ?? row.owner_id, ...(row.owner_teams_id ? { teamsId: row.owner_teams_id } : {}), since: new Date(row.owned_at) } }
      : {}),
  };
}

export function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    alertKey: optional(row.alert_key),
    action: row.action,
    target: JSON.parse(row.target_json) as Record<string, unknown>,
    code: row.code,
    state: row.state as ApprovalState,
    requiredApprovals: Number(row.required_approvals),
    requestedBy: row.requested_by,
    requestedAt: new Date(row.requested_at),
    expiresAt: new Date(row.expires_at),
    updatedAt: new Date(row.updated_at),
    decidedBy: optional(row.decided_by),
    reason: optional(row.reason),
    result: row.result_json === null ? undefined : (JSON.parse(row.result_json) as Record<string, unknown>),
    errorCode: optional(row.error_code),
    startedAt: optionalDate(row.started_at),
    finishedAt: optionalDate(row.finished_at),
    card:
      row.card_conversation_id !== null && row.card_activity_id !== null
        ? { conversationId: row.card_conversation_id, activityId: row.card_activity_id }
        : undefined,
    round: Number(row.round ?? 1),
  };
}

export function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: new Date(row.at),
    actor: optional(row.actor),
    action: row.action,
    target: optional(row.target),
    accountKey: optional(row.account_key),
    alertKey: optional(row.alert_key),
    approvalId: optional(row.approval_id),
    correlationId: optional(row.correlation_id),
    outcome: row.outcome as AuditOutcome,
    code: optional(row.code),
    details: row.details_json === null ? undefined : (JSON.parse(row.details_json) as Record<string, unknown>),
  };
}
