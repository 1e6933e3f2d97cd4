/**
 * The AlertStore port: alerts, the posting outbox, card updates and the alert sources' watermarks.
 * Part of `Store` (./store.ts), implemented by the SqlStore in src/store/.
 *
 * Conventions: timestamps are `Date` in and out (stored as ISO-8601 UTC text in both dialects);
 * methods whose name starts with `claim`, `try` or `transition`, and those returning a boolean,
 * are conditional writes: `true` / a returned row means this caller won.
 */
import type { Alert, AlertStatus, Severity } from '../alert.ts';
import type { AlertOwner } from './alert-ownership.ts';


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
  /** Who has taken the alert (issue 15); absent while nobody has. */
  owner?: AlertOwner;
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

export interface AlertStore {
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

  // ownership: conditional writes, so two people taking at once produce one owner
  /** Sets the owner only while the alert has none: true if this caller became the owner. */
  takeAlert(key: string, owner: AlertOwner): Promise<boolean>;
  /** Replaces the owner only while it is still `expectedOwnerId` (re-assign, take over): true if this write won. */
  reassignAlert(key: string, expectedOwnerId: string, owner: AlertOwner): Promise<boolean>;

  // watermarks (opaque per-source cursors)
  getWatermark(source: string): Promise<string | undefined>;
  setWatermark(source: string, value: string, now?: Date): Promise<void>;
}
