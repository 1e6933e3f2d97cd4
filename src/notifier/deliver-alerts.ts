import type { Severity } from '../domain/alert.ts';
import { isAppError } from '../domain/errors.ts';
import type { Messenger, ThreadRef } from '../domain/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import type { AlertRecord, AlertThread, CardLocation, Store } from '../store/store.ts';
import type { RenderAlertMessage } from './alert-message.ts';
import { snapshotOf } from './card-snapshot.ts';
import { meetsMinSeverity } from './collect-alerts.ts';
import { channelPart, referenceChannel, threadRootOf, type Destinations } from './destinations.ts';
import { runPool } from './run-pool.ts';

export interface DeliverAlertsDeps {
  store: Store;
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
  /** Account groups posted in parallel (each group in order). Default 8. */
  concurrency?: number;
  /** Asked before each batch; false ends the drain (lease lost, shutting down). */
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

/**
 * Drains the posting outbox: claims pending alerts (a conditional write, so two instances never
 * post the same alert), posts each card to the channel, grouping alerts about the same account
 * into one thread, and records where the card lives. A failed post hands its alert back to the
 * outbox; the rest of the round stops (Teams is unhappy: retrying at once would not help).
 */
export async function deliverAlerts(deps: DeliverAlertsDeps): Promise<DeliverReport> {
  const { store, messenger, destinations, holder } = deps;
  const now = deps.now ?? (() => new Date());
  const batchSize = deps.batchSize ?? 50;
  const report: DeliverReport = { threads: 0, replies: 0, filtered: 0, failed: 0, waitingForChannel: false };
  const channel = destinations.primary;
  if (!channel) {
    // Nothing is claimed: the alerts stay pending and are posted once someone subscribes.
    report.waitingForChannel = true;
    return report;
  }

  for (;;) {
    if (deps.shouldContinue && !(await deps.shouldContinue())) break;
    const claimed = await store.claimAlertsToPost(holder, batchSize, deps.claimStaleMs, now());
    if (claimed.length === 0) break;
    await runPool(groupByAccount(claimed), deps.concurrency ?? 8, async (group) => {
      for (const record of group) {
        // After a failure, hand back what is left instead of hammering Teams.
        if (report.failed > 0) await store.releaseClaim(record.key, holder);
        else await deliverOne(record);
      }
    });
    if (report.failed > 0 || claimed.length < batchSize) break;
  }
  return report;

  async function deliverOne(record: AlertRecord): Promise<void> {
    const log = deps.logger.child({ alert: record.key, code: record.code });
    if (!meetsMinSeverity(record.severity, deps.minSeverity)) {
      if (await store.markAlertFiltered(record.key, holder)) report.filtered++;
      log.info({ severity: record.severity }, 'claimed alert is below MIN_SEVERITY: recorded as filtered');
      return;
    }
    const message = await deps.render(record);
    const thread = await recentThread(record);
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
      report.failed++;
      report.errorCode ??= isAppError(error) ? error.code : 'INTERNAL';
      report.retryAfterMs ??= retryAfterOf(error);
      const released = await store.releaseClaim(record.key, holder);
      log.warn({ err: error, errorCode: isAppError(error) ? error.code : undefined, released }, 'posting the alert card failed; it stays queued for the next round');
      return;
    }
    // The conditional write that makes the post count. Done before anything else, so the window
    // in which a crash would lead to a second card (after the claim goes stale) stays minimal.
    const marked = await store.markAlertPosted(record.key, holder, card, now());
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

/**
 * Splits a batch into groups of alerts that share an account (transitively): a group is posted in
 * order, so its second alert finds the thread the first one started; groups run in parallel.
 */
export function groupByAccount(records: readonly AlertRecord[]): AlertRecord[][] {
  const parent = records.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const owner = new Map<string, number>();
  records.forEach((record, i) => {
    for (const key of record.accountKeys) {
      const other = owner.get(key);
      if (other === undefined) owner.set(key, i);
      else parent[find(i)] = find(other);
    }
  });
  const groups = new Map<number, AlertRecord[]>();
  records.forEach((record, i) => {
    const root = find(i);
    const group = groups.get(root) ?? [];
    group.push(record);
    groups.set(root, group);
  });
  // Ordered by each group's oldest alert, which keeps the overall posting order close to arrival.
  return [...groups.values()];
}

export function retryAfterOf(error: unknown): number | undefined {
  if (!isAppError(error)) return undefined;
  const { retryAfterMs, retryAfterSeconds } = error.details;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) return retryAfterMs;
  if (typeof retryAfterSeconds === 'number' && Number.isFinite(retryAfterSeconds)) return retryAfterSeconds * 1000;
  return undefined;
}
