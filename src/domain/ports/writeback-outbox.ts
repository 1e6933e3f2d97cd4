/**
 * The WritebackOutbox port: the durable queue of what the bot writes back to Defender (comments on
 * an alert and its incident, the alert's status/classification/owner), and the record of alerts
 * closed from the card. A job is enqueued in the store when its event happens and sent later by the
 * write-back worker, with retries and backoff; a claim is a lease, so two instances never send one
 * job at the same time, and jobs of one alert go out in the order they were made (a retried
 * `inProgress` can never land after a later `resolved`). Part of `Store` (./store.ts).
 */
export const WRITEBACK_KINDS = ['alert-comment', 'incident-comment', 'alert-update'] as const;
export type WritebackKind = (typeof WRITEBACK_KINDS)[number];

export const WRITEBACK_STATES = ['pending', 'sending', 'sent', 'failed'] as const;
export type WritebackState = (typeof WRITEBACK_STATES)[number];

/** The writable properties of a Graph alert (security-alert-update) the bot sets. */
export interface AlertUpdate {
  status?: 'inProgress' | 'resolved';
  classification?: string;
  determination?: string;
  assignedTo?: string;
}

export interface NewWritebackJob {
  /** Deterministic per event and kind: enqueueing the same event twice adds nothing. */
  id: string;
  alertKey: string;
  kind: WritebackKind;
  /** Graph alert id (alert-comment, alert-update) or incident id (incident-comment). */
  target: string;
  comment?: string;
  update?: AlertUpdate;
}

export interface WritebackJob extends NewWritebackJob {
  state: WritebackState;
  attempts: number;
  nextAttemptAt: Date;
  lastErrorCode?: string;
  createdAt: Date;
}

export interface WritebackStats {
  pending: number;
  failed: number;
  sent: number;
  /** Error code of the most recent failed attempt (an AppError code, never a message). */
  lastErrorCode?: string;
  lastErrorAt?: Date;
}

export interface AlertClosure {
  alertKey: string;
  classification: string;
  determination: string;
  /** Entra object id of the analyst. */
  closedBy: string;
  closedByName: string;
  closedAt: Date;
}

export interface WritebackOutbox {
  /** Adds the jobs whose ids are new (one statement each, ON CONFLICT DO NOTHING); the count added. */
  enqueueWriteback(jobs: readonly NewWritebackJob[], now?: Date): Promise<number>;
  /**
   * Claims up to `limit` jobs due now: pending with nextAttemptAt passed, or sending whose claim
   * lapsed (its instance died); never a job with an older unfinished job of the same alert.
   * Each claimed job's attempts count goes up by one.
   */
  claimWritebacks(holder: string, limit: number, leaseMs: number, now?: Date): Promise<WritebackJob[]>;
  /** sending → sent, only by its holder. */
  markWritebackSent(id: string, holder: string, now?: Date): Promise<boolean>;
  /** sending → pending again at `retryAt`, or → failed (given up) without it; only by its holder. */
  markWritebackFailed(id: string, holder: string, failure: { errorCode: string; retryAt?: Date }, now?: Date): Promise<boolean>;
  /** Counts over every job, or one alert's. */
  writebackStats(alertKey?: string): Promise<WritebackStats>;
  /** Records the alert as closed; false when it already was (the first close stands). */
  recordAlertClosure(closure: AlertClosure): Promise<boolean>;
  getAlertClosure(alertKey: string): Promise<AlertClosure | undefined>;
}
