/**
 * The ApprovalStore port: approvals, their votes (per round) and the lookup cards' offers. Part of
 * `Store` (./store.ts), implemented by the SqlStore in src/store/.
 *
 * Conventions: timestamps are `Date` in and out (stored as ISO-8601 UTC text in both dialects);
 * methods whose name starts with `claim`, `try` or `transition`, and those returning a boolean,
 * are conditional writes: `true` / a returned row means this caller won.
 */

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

export interface ApprovalStore {
  createApproval(approval: NewApproval): Promise<Approval>;
  getApproval(id: string): Promise<Approval | undefined>;
  getApprovalByCode(code: string): Promise<Approval | undefined>;
  listPendingApprovals(): Promise<Approval[]>;
  listApprovalsInState(state: ApprovalState): Promise<Approval[]>;
  /**
   * Succeeded approvals whose result still carries `awaiting` (an executor's asynchronous request
   * not yet read back: approvals/confirm-effect.ts). Found by the database, so a sweep does not read
   * every finished approval in the history; a row it returns may still be checked by the caller.
   */
  listApprovalsAwaitingConfirmation(): Promise<Approval[]>;
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
}
