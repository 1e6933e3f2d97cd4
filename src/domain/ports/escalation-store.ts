/**
 * The EscalationStore port: the durable escalation schedule, one row per alert. Part of `Store`
 * (./store.ts), implemented by the SqlStore in src/store/ (sql-escalations.ts).
 *
 * A row moves remind → page → done, or, once someone takes the alert or decides, to `resolve`
 * (when a page went out and must be closed) and then `done`. Every move is a conditional write on
 * (step, claim holder): a step is claimed by one instance at a time, a claim older than
 * `staleAfterMs` belongs to a crashed instance and may be taken over, and `stopEscalation` wins
 * over any claim, so a take between claim and advance ends the escalation all the same.
 */

export const ESCALATION_STEPS = ['remind', 'page', 'resolve', 'done'] as const;
export type EscalationStep = (typeof ESCALATION_STEPS)[number];

export interface Escalation {
  alertKey: string;
  step: EscalationStep;
  /** When the step is due. */
  dueAt: Date;
  remindedAt?: Date;
  pagedAt?: Date;
  /** Pagers that accepted the page (`pagerduty`, `opsgenie`), for the resolve. */
  pagedVia: string[];
  /** When the page was resolved at the pager(s). */
  pageResolvedAt?: Date;
  stoppedAt?: Date;
  /** Why the escalation stopped: `taken`, `decided`, `resolved`, `no-policy`. */
  stopReason?: string;
  claimedBy?: string;
  claimedAt?: Date;
  /** Failed attempts at the current step (a pager or Teams that did not answer). */
  attempts: number;
}

/** What the step that ran changes on the row (besides `step`, `dueAt`). */
export interface EscalationProgress {
  step: EscalationStep;
  dueAt: Date;
  remindedAt?: Date;
  pagedAt?: Date;
  pagedVia?: string[];
  pageResolvedAt?: Date;
}

export interface EscalationCandidate {
  alertKey: string;
  severity: string;
  postedAt: Date;
}

export interface EscalationStore {
  /** Posted, unowned, unresolved alerts of these severities posted since `since`, without a schedule yet. */
  listAlertsToSchedule(severities: readonly string[], since: Date, limit: number): Promise<EscalationCandidate[]>;
  /** Creates the alert's schedule unless it has one: true if this caller created it. */
  scheduleEscalation(alertKey: string, step: EscalationStep, dueAt: Date): Promise<boolean>;
  getEscalation(alertKey: string): Promise<Escalation | undefined>;
  /** Claims up to `limit` rows whose step is due (not done, not claimed by a live holder). */
  claimDueEscalations(holder: string, now: Date, limit: number, staleAfterMs: number): Promise<Escalation[]>;
  /** The claimed step is done: moves on, only if `holder` still holds the claim at step `from`. */
  advanceEscalation(alertKey: string, holder: string, from: EscalationStep, progress: EscalationProgress): Promise<boolean>;
  /** The claimed step failed: try again at `retryAt` (attempts counted), only while `holder` holds it. */
  retryEscalation(alertKey: string, holder: string, from: EscalationStep, retryAt: Date): Promise<boolean>;
  /**
   * Ends the escalation (someone took it, decided, or the alert was resolved): a page that went
   * out and is not resolved yet leaves the row at `resolve`, due now and claimed by `holder` (who
   * resolves it; if it dies, the claim goes stale and the sweeper does); otherwise `done`. Whatever
   * claim was held before. Returns the row after the change, or undefined when it was already
   * stopped or never scheduled.
   */
  stopEscalation(alertKey: string, reason: string, holder: string, now: Date): Promise<Escalation | undefined>;
  /** Rows whose page went out, is not resolved and whose escalation is not stopped (to stop once someone decides). */
  listOpenPages(limit: number): Promise<Escalation[]>;
  /** Claims the reminder before an approval (this round) expires: true once, for one caller. */
  claimExpiryReminder(approvalId: string, round: number, at: Date): Promise<boolean>;
  /** A page that went out while the escalation was being stopped: recorded on the stopped row and left at `resolve`. */
  notePageAfterStop(alertKey: string, pagedVia: string[], at: Date): Promise<boolean>;
}
