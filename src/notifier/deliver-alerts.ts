import type { Severity } from '../domain/alert.ts';
import { errorCode, isAppError } from '../domain/errors.ts';
import type { Messenger, ThreadRef } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertRecord, AlertStore, AlertThread, CardLocation } from '../domain/ports/alert-store.ts';
import type { AuditLog } from '../domain/ports/audit-log.ts';
import type { RenderAlertMessage } from './alert-message.ts';
import { snapshotOf } from './card-snapshot.ts';
import { meetsMinSeverity } from './collect-alerts.ts';
import { channelPart, referenceChannel, threadRootOf, type Destinations } from './destinations.ts';
import { alertLinks, inSpan } from '../shared/telemetry.ts';
import { telemetryMetrics } from '../shared/telemetry-metrics.ts';

export interface DeliverAlertsDeps {
  store: AlertStore & AuditLog;
  messenger: Messenger;
  render: RenderAlertMessage;
  destinations: Destinations;
  minSeverity: Severity;
  /** Alerts sharing an account within this window go into one thread; 0 = a thread per alert. */
  threadWindowMs: number;
  /** This instance's id: claims are made and checked in its name. */
  holder: string;
  /** A `posting` claim older than this belongs to a dead instance and is taken over. */
  claimStaleMs: number;
  logger: Logger;
  now?: () => Date;
  /** Alerts claimed at a time. Default 50. */
  batchSize?: number;
  /**
   * Alerts claimed and not yet done, at most (claims are made ahead of posting, so that the
   * threads that already exist take replies while new threads wait for the channel's limits).
   * Default 10 batches, and no more than one thread's sustained Teams rate (2 per second) can post
   * in half of `claimStaleMs`: a claim is done long before it could look stale.
   */
  lookahead?: number;
  /** Alerts being posted at once (each of a different account group; waiting for a turn excluded). Default 32. */
  concurrency?: number;
  /** New threads being started at once: they all count against the one channel. Default 2. */
  newThreadConcurrency?: number;
  /** Asked before each claim (and every batch of posts after the last); false ends the drain. */
  shouldContinue?: () => Promise<boolean>;
}

export interface DeliverReport {
  /** Cards that started a new thread. */
  threads: number;
  /** Cards posted as a reply in an existing thread of the same account. */
  replies: number;
  /** Claimed but below MIN_SEVERITY (a filter write that a crash interrupted). */
  filtered: number;
  /** Posts that failed; the alert went back to pending for the next round. */
  failed: number;
  /** Alerts waiting for a channel (nobody subscribed, none configured). */
  waitingForChannel: boolean;
  /** Code of the first failure, to decide the retry delay. */
  errorCode?: string;
  retryAfterMs?: number;
}

/** Sustained Teams rate of one thread (60 per 30 s), which bounds how long a claimed alert can wait. */
const THREAD_SUSTAINED_PER_SECOND = 2;

/**
 * Drains the posting outbox: claims pending alerts (a conditional write, so two instances never
 * post the same alert), posts each card to the channel, grouping alerts about the same account
 * into one thread, and records where the card lives. A failed post hands its alert back to the
 * outbox; the rest of the round stops (Teams is unhappy: retrying at once would not help).
 *
 * A pipeline, not batch after batch: claims are made ahead (up to `lookahead` alerts open) while
 * earlier ones are posted, and each alert waits only for the earlier alerts of its own accounts
 * (they start or continue its thread, and keep the order of replies), never for a whole batch. So
 * while Teams' channel limit (8 new threads per 2 s) holds new threads back, the threads that
 * exist take their replies, and a slow or retried post holds up only its account. The pacer
 * inside the messenger spreads the posts over Teams' windows.
 */
export async function deliverAlerts(deps: DeliverAlertsDeps): Promise<DeliverReport> {
  const { store, messenger, destinations, holder } = deps;
  const now = deps.now ?? (() => new Date());
  const batchSize = Math.max(1, deps.batchSize ?? 50);
  const lookahead = Math.max(batchSize, deps.lookahead ?? Math.min(10 * batchSize, Math.floor(((deps.claimStaleMs / 2) * THREAD_SUSTAINED_PER_SECOND) / 1000)));
  const slots = createSemaphore(Math.max(1, deps.concurrency ?? 32));
  const newThreadTurns = createSemaphore(Math.max(1, deps.newThreadConcurrency ?? 2));
  const report: DeliverReport = { threads: 0, replies: 0, filtered: 0, failed: 0, waitingForChannel: false };
  const channel = destinations.primary;
  if (!channel) {
    // Nothing is claimed: the alerts stay pending and are posted once someone subscribes.
    report.waitingForChannel = true;
    return report;
  }

  /** Set by a failed post, a thrown error or shouldContinue: nothing more is posted, the rest is handed back. */
  let halted = false;
  const errors: unknown[] = [];
  /** Per account key: the last alert scheduled about it (its successor waits for it). */
  const tails = new Map<string, Promise<void>>();
  const tasks = new Set<Promise<void>>();
  let open = 0;
  let doneSinceCheck = 0;
  let progress = Promise.withResolvers<void>();

  const fail = (error: unknown) => {
    errors.push(error);
    halted = true;
  };
  const proceed = async (): Promise<boolean> => {
    doneSinceCheck = 0;
    if (halted || !deps.shouldContinue) return !halted;
    try {
      if (!(await deps.shouldContinue())) halted = true;
    } catch (error) {
      fail(error);
    }
    return !halted;
  };

  let drained = false;
  while (!halted) {
    if (!drained && open + batchSize <= lookahead) {
      if (!(await proceed())) break;
      let claimed: AlertRecord[];
      try {
        claimed = await store.claimAlertsToPost(holder, batchSize, deps.claimStaleMs, now());
      } catch (error) {
        fail(error);
        break;
      }
      for (const record of claimed) schedule(record);
      if (claimed.length < batchSize) drained = true;
      continue;
    }
    if (open === 0) break;
    await progress.promise;
    // The lease is renewed (and a shutdown noticed) as often while the last claims are posted.
    if (drained && doneSinceCheck >= batchSize) await proceed();
  }
  // Whatever has not started is handed back by its own task once `halted` is set.
  while (tasks.size > 0) await Promise.all(tasks);
  if (errors.length > 0) throw errors[0];
  return report;

  function schedule(record: AlertRecord): void {
    open++;
    const before = record.accountKeys.map((key) => tails.get(key)).filter((p): p is Promise<void> => p !== undefined);
    const task = (async () => {
      if (before.length > 0) await Promise.all(before);
      await slots.acquire();
      const slot = { held: true };
      try {
        // After a failure (or on shutdown), hand back what is left instead of hammering Teams.
        if (halted) await store.releaseClaim(record.key, holder);
        else await inSpan('notifier.post', { 'incident.alert.key': record.key, 'incident.alert.source': record.alert.source }, () => deliverOne(record, slot), { links: alertLinks(record.key) });
      } catch (error) {
        fail(error);
      } finally {
        if (slot.held) slots.release();
      }
    })();
    tasks.add(task);
    for (const key of record.accountKeys) tails.set(key, task);
    // The task never rejects (failures are recorded above).
    void task.then(() => {
      tasks.delete(task);
      for (const key of record.accountKeys) if (tails.get(key) === task) tails.delete(key);
      open--;
      doneSinceCheck++;
      progress.resolve();
      progress = Promise.withResolvers<void>();
    });
  }

  async function deliverOne(record: AlertRecord, slot: { held: boolean }): Promise<void> {
    const log = deps.logger.child({ alert: record.key, code: record.code });
    if (!meetsMinSeverity(record.severity, deps.minSeverity)) {
      if (await store.markAlertFiltered(record.key, holder)) report.filtered++;
      log.info({ severity: record.severity }, 'claimed alert is below MIN_SEVERITY: recorded as filtered');
      return;
    }
    const message = await deps.render(record);
    const thread = await recentThread(record);
    let turn = false;
    const endTurn = () => {
      if (turn) newThreadTurns.release();
      turn = false;
    };
    if (!thread) {
      // New threads queue for the channel among themselves, without keeping a slot from the
      // replies that can go meanwhile.
      slots.release();
      slot.held = false;
      await newThreadTurns.acquire();
      turn = true;
    }
    try {
      await postAndRecord(record, message, thread, log, endTurn);
    } finally {
      endTurn();
    }
  }

  async function postAndRecord(record: AlertRecord, message: Awaited<ReturnType<RenderAlertMessage>>, thread: AlertThread | undefined, log: Logger, endTurn: () => void): Promise<void> {
    // Something failed while this one waited: hand it back rather than post after the failure.
    if (halted) {
      await store.releaseClaim(record.key, holder);
      return;
    }
    let card: CardLocation;
    try {
      if (thread) {
        const ref: ThreadRef = {
          channel: channel!,
          threadConversationId: thread.threadConversationId,
          conversationId: thread.conversationId,
          rootActivityId: threadRootOf(thread.threadConversationId) ?? thread.activityId,
        };
        const posted = await messenger.reply(ref, message);
        card = { conversationId: thread.conversationId, activityId: posted.activityId, threadConversationId: thread.threadConversationId };
      } else {
        const ref = await messenger.startThread(channel!, message);
        card = { conversationId: ref.conversationId, activityId: ref.rootActivityId, threadConversationId: ref.threadConversationId };
      }
    } catch (error) {
      endTurn();
      report.failed++;
      halted = true;
      report.errorCode ??= errorCode(error);
      report.retryAfterMs ??= retryAfterOf(error);
      const released = await store.releaseClaim(record.key, holder);
      log.warn({ err: error, errorCode: errorCode(error), released }, 'posting the alert card failed; it stays queued for the next round');
      return;
    }
    endTurn();
    // The conditional write that makes the post count. Done before anything else, so the window
    // in which a crash would lead to a second card (after the claim goes stale) stays minimal.
    const marked = await store.markAlertPosted(record.key, holder, card, now());
    telemetryMetrics.cardPosted(record.alert.source, thread ? 'reply' : 'thread', record.firstSeenAt, now());
    if (thread) report.replies++;
    else report.threads++;
    if (!marked) {
      log.error({ activityId: card.activityId }, 'card posted but the claim was taken over meanwhile: the alert may have two cards (raise NOTIFIER claim staleness)');
    }
    log.info({ activityId: card.activityId, thread: card.threadConversationId, inThreadOf: thread?.alertCode }, thread ? 'alert card posted in the thread of a recent alert on the same account' : 'alert card posted');
    await store.appendAudit({
      at: now(),
      actor: 'notifier',
      action: 'alert.posted',
      target: record.alert.title,
      alertKey: record.key,
      outcome: 'success',
      // The snapshot lets a later card update say what changed, even after a restart.
      details: { code: record.code, activityId: card.activityId, threadConversationId: card.threadConversationId, groupedWith: thread?.alertCode, snapshot: snapshotOf(record.alert) },
    });
  }

  async function recentThread(record: AlertRecord): Promise<AlertThread | undefined> {
    if (deps.threadWindowMs <= 0 || record.accountKeys.length === 0) return undefined;
    const thread = await store.findRecentThreadForAccounts(record.accountKeys, new Date(now().getTime() - deps.threadWindowMs));
    // A thread in a channel that is no longer the destination is not continued there.
    if (thread && channelPart(thread.conversationId) !== (referenceChannel(channel!) ?? channelPart(thread.conversationId))) return undefined;
    return thread;
  }
}

/** A counting semaphore, first come first served. */
function createSemaphore(limit: number): { acquire(): Promise<void>; release(): void } {
  let free = limit;
  const waiting: (() => void)[] = [];
  return {
    acquire() {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

export function retryAfterOf(error: unknown): number | undefined {
  if (!isAppError(error)) return undefined;
  const { retryAfterMs, retryAfterSeconds } = error.details;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) return retryAfterMs;
  if (typeof retryAfterSeconds === 'number' && Number.isFinite(retryAfterSeconds)) return retryAfterSeconds * 1000;
  return undefined;
}
