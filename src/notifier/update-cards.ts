import { errorCode } from '../domain/errors.ts';
import type { Messenger } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import type { AuditLog } from '../domain/ports/audit-log.ts';
import type { AlertStore, UpdateClaim } from '../domain/ports/alert-store.ts';
import type { RenderAlertMessage } from './alert-message.ts';
import { describeChanges, parseSnapshot, snapshotOf, type CardSnapshot } from './card-snapshot.ts';
import { retryAfterOf } from './deliver-alerts.ts';
import { threadRootOf, type Destinations } from './destinations.ts';
import { alertLinks, inSpan } from '../shared/telemetry.ts';
import { telemetryMetrics } from '../shared/telemetry-metrics.ts';

export interface UpdateCardsDeps {
  store: AlertStore & AuditLog;
  messenger: Messenger;
  render: RenderAlertMessage;
  destinations: Destinations;
  holder: string;
  /** An update claim older than this belongs to a dead instance and is taken over. */
  claimStaleMs: number;
  logger: Logger;
  now?: () => Date;
  batchSize?: number;
  shouldContinue?: () => Promise<boolean>;
}

export interface UpdateReport {
  updated: number;
  /** Thread lines posted ("Status: new → resolved"). */
  lines: number;
  failed: number;
  errorCode?: string;
  retryAfterMs?: number;
}

const SNAPSHOT_ACTIONS: ReadonlySet<string> = new Set(['alert.posted', 'alert.updated']);

/**
 * Brings posted cards up to date with their alert: re-renders the card in place (updateActivity),
 * and says in the card's thread what changed, so the people following the thread notice. The
 * previous state comes from the audit entry of the last post or update; that entry is written
 * right after the line and before the update is marked done, so a retry after a crash past that
 * point finds nothing new to announce (only a crash between the line and the audit write repeats
 * the line: Teams offers no idempotent post).
 */
export async function updateCards(deps: UpdateCardsDeps): Promise<UpdateReport> {
  const { store, messenger, holder } = deps;
  const now = deps.now ?? (() => new Date());
  const report: UpdateReport = { updated: 0, lines: 0, failed: 0 };
  for (;;) {
    if (deps.shouldContinue && !(await deps.shouldContinue())) break;
    const claims = await store.claimAlertsToUpdate(holder, deps.batchSize ?? 20, deps.claimStaleMs, now());
    if (claims.length === 0) break;
    // Updates are rare and each is two calls into one thread: one at a time is fast enough.
    for (const claim of claims) {
      if (report.failed > 0) await store.releaseUpdateClaim(claim.record.key, holder);
      else await inSpan('notifier.update', { 'incident.alert.key': claim.record.key }, () => updateOne(claim), { links: alertLinks(claim.record.key) });
    }
    if (report.failed > 0 || claims.length < (deps.batchSize ?? 20)) break;
  }
  return report;

  async function updateOne({ record, version }: UpdateClaim): Promise<void> {
    const log = deps.logger.child({ alert: record.key, code: record.code });
    const card = record.card;
    const channel = card ? deps.destinations.forConversation(card.conversationId) : undefined;
    if (!card || !channel) {
      // Posted cards always have a location; no channel means nobody is subscribed any more.
      await store.releaseUpdateClaim(record.key, holder);
      log.warn({ hasCard: Boolean(card) }, 'card update postponed: no channel to reach the card through');
      return;
    }
    const after = snapshotOf(record.alert);
    const before = await lastSnapshot(record.key);
    const changes = before ? describeChanges(before, after) : [`now ${record.alert.severity} severity, status ${record.alert.status}`];
    try {
      await messenger.update(channel, card.threadConversationId, card.activityId, await deps.render(record));
      if (changes.length > 0) {
        const thread = {
          channel,
          threadConversationId: card.threadConversationId,
          conversationId: card.conversationId,
          rootActivityId: threadRootOf(card.threadConversationId) ?? card.activityId,
        };
        await messenger.reply(thread, { text: `Alert ${record.code} updated: ${changes.join(' · ')}` });
        report.lines++;
      }
    } catch (error) {
      report.failed++;
      report.errorCode ??= errorCode(error);
      report.retryAfterMs ??= retryAfterOf(error);
      await store.releaseUpdateClaim(record.key, holder);
      log.warn({ err: error, errorCode: errorCode(error) }, 'card update failed; retried next round');
      return;
    }
    report.updated++;
    telemetryMetrics.cardUpdated('alert');
    await store.appendAudit({
      at: now(),
      actor: 'notifier',
      action: 'alert.updated',
      target: record.alert.title,
      alertKey: record.key,
      outcome: 'success',
      details: { code: record.code, version, changes, snapshot: after },
    });
    if (!(await store.markAlertUpdated(record.key, holder, version))) {
      log.warn({ version }, 'card updated but the update claim was taken over meanwhile');
    }
    log.info({ changes, version }, 'alert card updated');
  }

  async function lastSnapshot(alertKey: string): Promise<CardSnapshot | undefined> {
    const entries = await store.listAudit({ alertKey, limit: 20 });
    for (const entry of entries) {
      if (!SNAPSHOT_ACTIONS.has(entry.action)) continue;
      const snapshot = parseSnapshot(entry.details?.snapshot);
      if (snapshot) return snapshot;
    }
    return undefined;
  }
}
