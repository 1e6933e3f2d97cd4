import type { Severity } from '../domain/alert.ts';
import { errorCode } from '../domain/errors.ts';
import type { AlertStore, PostState } from '../domain/ports/alert-store.ts';
import type { AuditLog } from '../domain/ports/audit-log.ts';
import type { AlertSource } from '../domain/ports/alert-source.ts';
import type { Logger } from '../observability/logger.ts';
import type { PushedAlertRef } from './pushed-alert-ref.ts';
import { recordAlertOnce } from './record-alert.ts';

export interface IngestPushedAlertDeps {
  store: AlertStore & AuditLog;
  /** The configured alert sources; a push is read from the one it names. */
  sources: readonly AlertSource[];
  minSeverity: Severity;
  logger: Logger;
  now?: () => Date;
  /** Asks the notifier to post what the outbox holds now (not awaited: the caller is answered first). */
  deliverNow: () => Promise<unknown>;
  /** Bound on the read from the source. Default 15 s. */
  fetchTimeoutMs?: number;
}

export type PushOutcome =
  | { outcome: 'recorded'; code: string; created: boolean; postState: PostState }
  | { outcome: 'not-found'; reason: string }
  | { outcome: 'source-not-configured'; source: string };

/**
 * A pushed notification, as the story goes: the push only NAMES an alert; the alert is read from
 * its source by that id (what the push says about it is never used), recorded exactly as a polled
 * alert is (same key, de-duplication, MIN_SEVERITY), and the notifier is asked to post the outbox
 * now. Polling stays the safety net: the next poll finds the alert stored and posts nothing more.
 * Unknown ids record and post nothing, and say so in the log.
 */
export async function ingestPushedAlert(deps: IngestPushedAlertDeps, ref: PushedAlertRef, caller: string): Promise<PushOutcome> {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'alert-push', source: ref.source, sourceId: ref.id, caller });
  const audit = (outcome: 'info' | 'refused', details: Record<string, unknown>, alertKey?: string) =>
    deps.store.appendAudit({ at: now(), actor: caller, action: 'alert.pushed', target: `${ref.source}:${ref.id}`, ...(alertKey ? { alertKey } : {}), outcome, details: { source: ref.source, sourceId: ref.id, ...details } });
  const source = deps.sources.find((s) => s.name === ref.source);
  if (!source) {
    log.warn('pushed alert names a source this bot does not read (ALERT_SOURCES): nothing recorded');
    return { outcome: 'source-not-configured', source: ref.source };
  }
  const lookup = await source.fetchById(ref.id, AbortSignal.timeout(deps.fetchTimeoutMs ?? 15_000));
  if (!lookup.found) {
    log.warn({ reason: lookup.reason }, 'pushed alert id not found at its source: nothing recorded or posted');
    await audit('refused', { reason: lookup.reason });
    return { outcome: 'not-found', reason: lookup.reason };
  }
  for (const problem of lookup.problems) log.warn({ problem: problem.message }, 'alert source reported a problem');
  const recorded = await recordAlertOnce({ store: deps.store, minSeverity: deps.minSeverity, logger: log, now }, lookup.alert);
  const record = recorded.record!;
  log.info({ alert: record.key, code: record.code, created: recorded.created, postState: record.postState }, recorded.created ? 'pushed alert read from its source and queued for posting' : 'pushed alert already known: nothing new to post');
  await audit('info', { code: record.code, created: recorded.created }, record.key);
  // Posting happens behind the answer; a failure there is the notifier's to retry (the alert is in the outbox).
  void deps.deliverNow().catch((error: unknown) => log.warn({ err: error, errorCode: errorCode(error) }, 'posting after a push failed; the next round retries'));
  return { outcome: 'recorded', code: record.code, created: recorded.created, postState: record.postState };
}
