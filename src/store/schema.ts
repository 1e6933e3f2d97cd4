/**
 * Row types of the tables, as Kysely sees them. Identical in both dialects: timestamps are
 * ISO-8601 UTC text (`Date#toISOString`, fixed width, so text order is time order), JSON is text,
 * counters are integers. Only the audit sequence column differs in DDL (see migrations.ts).
 */
import type { Generated } from 'kysely';

export interface SubscriptionsTable {
  id: string;
  conversation_reference: string;
  created_by: string;
  created_at: string;
}

export interface AlertsTable {
  key: string;
  code: string;
  source: string;
  source_id: string;
  title: string;
  severity: string;
  status: string;
  alert_json: string;
  fingerprint: string;
  first_seen_at: string;
  changed_at: string;
  post_state: string;
  post_claimed_by: string | null;
  post_claimed_at: string | null;
  conversation_id: string | null;
  activity_id: string | null;
  thread_conversation_id: string | null;
  posted_at: string | null;
  update_requested: Generated<number>;
  update_applied: Generated<number>;
  update_claimed_by: string | null;
  update_claimed_at: string | null;
  owner_id: string | null;
  owner_name: string | null;
  owner_teams_id: string | null;
  owned_at: string | null;
}

export interface AlertAccountsTable {
  alert_key: string;
  account_key: string;
}

export interface WatermarksTable {
  source: string;
  value: string;
  updated_at: string;
}

export interface LeasesTable {
  name: string;
  holder: string;
  acquired_at: string;
  expires_at: string;
}

export interface ApprovalsTable {
  id: string;
  alert_key: string | null;
  action: string;
  target_json: string;
  code: string;
  state: string;
  required_approvals: number;
  requested_by: string;
  requested_at: string;
  expires_at: string;
  updated_at: string;
  decided_by: string | null;
  reason: string | null;
  result_json: string | null;
  error_code: string | null;
  started_at: string | null;
  finished_at: string | null;
  card_conversation_id: string | null;
  card_activity_id: string | null;
  round: Generated<number>;
}

export interface ApprovalVotesTable {
  approval_id: string;
  round: number;
  approver_id: string;
  approver_name: string;
  voted_at: string;
}

export interface CardOffersTable {
  conversation_id: string;
  activity_id: string;
  target_key: string;
  actions_json: string;
  offered_to: string;
  created_at: string;
  expires_at: string;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
  updated_by: string | null;
}

export interface AuditTable {
  seq: Generated<number>;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  account_key: string | null;
  alert_key: string | null;
  approval_id: string | null;
  correlation_id: string | null;
  outcome: string;
  code: string | null;
  details_json: string | null;
}

export interface AlertEscalationsTable {
  alert_key: string;
  step: string;
  due_at: string;
  reminded_at: string | null;
  paged_at: string | null;
  paged_via: string | null;
  page_resolved_at: string | null;
  stopped_at: string | null;
  stop_reason: string | null;
  claimed_by: string | null;
  claimed_at: string | null;
  attempts: Generated<number>;
}

export interface ApprovalExpiryRemindersTable {
  approval_id: string;
  round: number;
  reminded_at: string;
}

export interface WritebackJobsTable {
  id: string;
  alert_key: string;
  kind: string;
  target: string;
  payload_json: string;
  order_key: string;
  state: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: string;
  claimed_by: string | null;
  claim_expires_at: string | null;
  last_error_code: string | null;
  last_error_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertClosuresTable {
  alert_key: string;
  classification: string;
  determination: string;
  closed_by: string;
  closed_by_name: string;
  closed_at: string;
}

export interface Database {
  subscriptions: SubscriptionsTable;
  alerts: AlertsTable;
  alert_accounts: AlertAccountsTable;
  watermarks: WatermarksTable;
  leases: LeasesTable;
  approvals: ApprovalsTable;
  approval_votes: ApprovalVotesTable;
  card_offers: CardOffersTable;
  settings: SettingsTable;
  audit: AuditTable;
  alert_escalations: AlertEscalationsTable;
  approval_expiry_reminders: ApprovalExpiryRemindersTable;
  writeback_jobs: WritebackJobsTable;
  alert_closures: AlertClosuresTable;
}
