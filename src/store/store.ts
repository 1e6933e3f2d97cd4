/**
 * The Store port: everything the bot needs to resume after a restart, and every compare-and-set
 * that keeps several instances from doing the same thing twice. The rest of the bot depends on
 * this interface only (never on Kysely or a driver); `openStore` picks SQLite or PostgreSQL.
 *
 * Conventions: timestamps are `Date` in and out (stored as ISO-8601 UTC text in both dialects);
 * methods whose name starts with `claim`, `try` or `transition`, and those returning a boolean,
 * are conditional writes: `true` / a returned row means this caller won.
 */
import type { Alert, AlertStatus, Severity } from '../domain/alert.ts';

// ---- subscriptions ---------------------------------------------------------------------------

/** A Teams channel (conversation) the bot posts alert cards to. */
export interface Subscription {
  id: string;
  /** Bot Framework ConversationReference, kept verbatim for continueConversation. */
  conversationReference: Record<string, unknown>;
  createdBy: string;
  createdAt: Date;
}

// ---- alerts ----------------------------------------------------------------------------------

/**
 * Outbox state of an alert card:
 * pending -> posting (claimed by one instance) -> posted; or pending -> filtered (not worth a card).
 * A `posting` claim older than `staleAfterMs` belongs to a crashed instance and may be reclaimed.
 */
export const POST_STATES = ['pending', 'posting', 'posted', 'filtered'] as const;
export type PostState = (typeof POST_STATES)[number];

/** Where an alert's card lives in Teams, so it can be updated and replied to after a restart. */
export interface CardLocation {
  /** Conversation the card was posted in (the channel conversation id). */
  conversationId: string;
  /** Activity id of the card (the thread root), the one `updateActivity` needs. */
  activityId: string;
  /** Conversation id of the thread (`19:...;messageid=<root>`), for replies in the thread. */
  threadConversationId: string;
}

export interface AlertRecord {
  key: string;
  /** Short human-typable reference (e.g. `K7M2QX`), unique, fixed at creation. */
  code: string;
  alert: Alert;
  fingerprint: string;
  severity: Severity;
  status: AlertStatus;
  /** Normalized account keys (see account-keys.ts) this alert is indexed under. */
  accountKeys: string[];
  firstSeenAt: Date;
  /** When the stored alert last changed (creation or a fingerprint change). */
  changedAt: Date;
  postState: PostState;
  postClaimedBy?: string;
  postClaimedAt?: Date;
  card?: CardLocation & { postedAt: Date };
  /**
   * Card-update bookkeeping: `updateRequested` grows on every change that needs the card
   * re-rendered; `updateApplied` is the highest request a card render has covered. The card is
   * stale while requested > applied.
   */
  updateRequested: number;
  updateApplied: number;
  updateClaimedBy?: string;
  updateClaimedAt?: Date;
}

export interface UpsertAlertResult {
  /** First time this alert key was seen (the card is now pending). */
  created: boolean;
  /** Existing alert whose fingerprint differs: stored alert replaced and a card update requested. */
  changed: boolean;
  record: AlertRecord;
}

/** A claim on a card update: pass `version` back to `markAlertUpdated`. */
export interface UpdateClaim {
  record: AlertRecord;
  /** The update request this render covers; later requests stay pending. */
  version: number;
}

export interface AlertThread {
  alertKey: string;
  alertCode: string;
  conversationId: string;
  activityId: string;
  threadConversationId: string;
  postedAt: Date;
}

// ---- approvals -------------------------------------------------------------------------------

export const APPROVAL_STATES = ['pending', 'approved', 'running', 'succeeded', 'failed', 'denied', 'expired', 'refused'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

export interface NewApproval {
  id: string;
  alertKey?: string;
  /** Action catalog name, e.g. `ad.disableAccount`. */
  action: string;
  /** What the action applies to (account identifiers...), JSON. */
  target: Record<string, unknown>;
  /** Short unique code analysts can type (`approve K7M2QX`). */
  code: string;
  requiredApprovals: number;
  requestedBy: string;
  requestedAt?: Date;
  expiresAt: Date;
}

export interface Approval {
  id: string;
  alertKey?: string;
  action: string;
  target: Record<string, unknown>;
  code: string;
  state: ApprovalState;
  requiredApprovals: number;
  requestedBy: string;
  requestedAt: Date;
  expiresAt: Date;
  updatedAt: Date;
  /** Who made the last decision (denier, last approver, the runner...). */
  decidedBy?: string;
  reason?: string;
  /** Outcome of the execution, JSON (what was changed, vendor ids...). */
  result?: Record<string, unknown>;
  errorCode?: string;
  startedAt?: Date;
  finishedAt?: Date;
  /** Where the approval card lives, so it can be updated after a restart. */
  card?: { conversationId: string; activityId: string };
  /**
   * Round of votes, from 1. A retry after a failure opens the next round, which needs the full
   * count of distinct approvers again; votes of earlier rounds do not count.
   */
  round: number;
}

/** What `reopenApproval` sets for the new round. */
export interface ApprovalRound {
  requiredApprovals: number;
  expiresAt: Date;
  requestedBy: string;
}

/** A lookup card the bot posted: where it lives, whom it is about, which actions it offered. */
export interface CardOffer {
  conversationId: string;
  activityId: string;
  /** Primary account key of the person the card shows. */
  targetKey: string;
  actions: string[];
  /** Who asked for the lookup (the card was answered to them). */
  offeredTo: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Fields a transition may set alongside the new state. Undefined fields are left as they are. */
export type ApprovalPatch = Partial<Pick<Approval, 'decidedBy' | 'reason' | 'result' | 'errorCode' | 'startedAt' | 'finishedAt' | 'card' | 'requiredApprovals'>>;

export interface Vote {
  approverId: string;
  approverName: string;
  at: Date;
}

// ---- audit -----------------------------------------------------------------------------------

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

// ---- the port --------------------------------------------------------------------------------

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';

  // subscriptions
  saveSubscription(subscription: Subscription): Promise<void>;
  removeSubscription(id: string): Promise<boolean>;
  listSubscriptions(): Promise<Subscription[]>;

  // alerts
  upsertAlert(alert: Alert, fingerprint: string, now?: Date): Promise<UpsertAlertResult>;
  getAlertByKey(key: string): Promise<AlertRecord | undefined>;
  /** Case-insensitive: analysts type codes in lower case. */
  getAlertByCode(code: string): Promise<AlertRecord | undefined>;
  /** Alerts not resolved, newest first. */
  listOpenAlerts(limit: number): Promise<AlertRecord[]>;
  listAlertsForAccount(accountKey: string, limit: number): Promise<AlertRecord[]>;
  /** Thread of the most recently posted alert (posted at or after `since`) sharing an account key. */
  findRecentThreadForAccounts(accountKeys: string[], since: Date): Promise<AlertThread | undefined>;

  // posting outbox
  /** Atomically claims up to `limit` pending alerts (and stale `posting` ones), oldest first. */
  claimAlertsToPost(holder: string, limit: number, staleAfterMs: number, now?: Date): Promise<AlertRecord[]>;
  /** posting -> posted, only if `holder` still holds the claim. */
  markAlertPosted(key: string, holder: string, card: CardLocation, now?: Date): Promise<boolean>;
  /** pending/posting -> filtered (if `holder` is given, only while it holds the claim). */
  markAlertFiltered(key: string, holder?: string): Promise<boolean>;
  /** filtered -> pending, e.g. when an alert's severity rose above the posting threshold. */
  requeueFilteredAlert(key: string): Promise<boolean>;
  /** posting -> pending, giving up this holder's claim (posting failed, try again later). */
  releaseClaim(key: string, holder: string): Promise<boolean>;

  // card updates: never lost (a counter, not a flag) and never done twice at once (a claim)
  markAlertNeedsUpdate(key: string): Promise<boolean>;
  /** Claims posted alerts whose card is stale and not claimed by a live holder. */
  claimAlertsToUpdate(holder: string, limit: number, staleAfterMs: number, now?: Date): Promise<UpdateClaim[]>;
  /** Records that the render covered `version` and drops the claim; false if the claim was lost. */
  markAlertUpdated(key: string, holder: string, version: number): Promise<boolean>;
  releaseUpdateClaim(key: string, holder: string): Promise<boolean>;

  // watermarks (opaque per-source cursors)
  getWatermark(source: string): Promise<string | undefined>;
  setWatermark(source: string, value: string, now?: Date): Promise<void>;

  // leases
  /**
   * Takes the lease if free, expired, or already ours (one conditional statement). Without `now`
   * the DATABASE's clock is used, so instances with skewed clocks agree on when a lease lapsed.
   */
  tryAcquireLease(name: string, holder: string, ttlMs: number, now?: Date): Promise<boolean>;
  /** Extends our lease; false if it is no longer ours (taken over after expiry). Clock as above. */
  renewLease(name: string, holder: string, ttlMs: number, now?: Date): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<boolean>;

  // approvals
  createApproval(approval: NewApproval): Promise<Approval>;
  getApproval(id: string): Promise<Approval | undefined>;
  getApprovalByCode(code: string): Promise<Approval | undefined>;
  listPendingApprovals(): Promise<Approval[]>;
  listApprovalsInState(state: ApprovalState): Promise<Approval[]>;
  listApprovalsForAlert(alertKey: string): Promise<Approval[]>;
  /**
   * Conditional write: moves the approval to `to` only if it is currently in `from`. True only for
   * the one caller that won. Entering `running` stamps startedAt, entering succeeded/failed stamps
   * finishedAt, unless the patch sets them.
   */
  transitionApproval(id: string, from: ApprovalState | ApprovalState[], to: ApprovalState, patch?: ApprovalPatch, now?: Date): Promise<boolean>;
  setApprovalCard(id: string, card: { conversationId: string; activityId: string }): Promise<boolean>;
  /**
   * One vote per approver per round: the same person twice adds nothing. Without `round`, the
   * approval's current round. Votes (of that round) come back oldest first.
   */
  addApprovalVote(approvalId: string, approverId: string, approverName: string, at: Date, round?: number): Promise<{ added: boolean; votes: Vote[] }>;
  /** Votes of one round (default: the approval's current round), oldest first. */
  listApprovalVotes(approvalId: string, round?: number): Promise<Vote[]>;
  /**
   * Conditional write: `from` → pending in the next round (round + 1) with a fresh count and
   * expiry; the previous outcome (decision, error, result, times) is cleared. True for the winner.
   */
  reopenApproval(id: string, from: ApprovalState, next: ApprovalRound, now?: Date): Promise<boolean>;
  /** Records a lookup card the bot posted (replaces one at the same location). */
  saveCardOffer(offer: CardOffer): Promise<void>;
  getCardOffer(conversationId: string, activityId: string): Promise<CardOffer | undefined>;
  /** Approvals that started running at or after `since` (hourly execution cap). */
  countExecutionsSince(since: Date): Promise<number>;

  // settings (small key/value: pause flag...)
  getSetting(key: string): Promise<string | undefined>;
  /**
   * Without `expected`: unconditional set. With `expected: null`: only if the key is absent.
   * With a string: only if the current value equals it. True when the write happened.
   */
  setSetting(key: string, value: string, options?: { expected?: string | null; updatedBy?: string; now?: Date }): Promise<boolean>;

  // audit (append-only: no update or delete here, and the database refuses them)
  appendAudit(entry: AuditEntry): Promise<number>;
  /** Newest first. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;

  // lifecycle
  /** Readiness: a trivial query; throws AppError STORE_UNAVAILABLE. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
