import type { AlertOwnershipListener } from '../domain/ports/alert-ownership.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import type { Store } from '../domain/ports/store.ts';
import type { Logger } from '../observability/logger.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';

/**
 * What the ownership use cases (take, assign) share. Who may do what is decided from the turn's
 * authenticated identity:
 * - take: readers and approvers (the people who may see alerts at all);
 * - re-assign, or take over an alert someone else owns: leads (LEAD_GROUP_IDS / LEAD_USER_IDS;
 *   none configured: the approvers);
 * - the person an alert is assigned to must be a reader or an approver too.
 */
export interface OwnershipDeps {
  store: Store;
  approvers: ApproverCheck;
  /** READER_*; absent or unconfigured: approvers only. */
  readers?: ReaderCheck;
  /** The leads' check (an ApproverCheck over LEAD_*), or the approvers' when no lead is configured. */
  leads: ApproverCheck;
  /** Told after the store has the new owner (the write-back of Defender's `assignedTo`). */
  listener: AlertOwnershipListener;
  /** Stops the alert's escalation and resolves a page that went out. */
  stopEscalation(alertKey: string, reason: string): Promise<void>;
  /** Re-renders the alert card where it lives (the one renderer); undefined card: not posted. */
  updateCard(alertKey: string, statusLine?: string): Promise<void>;
  /** The card re-rendered for the clicker's answer. */
  renderCard(alertKey: string, statusLine?: string): Promise<OutboundMessage | undefined>;
  /** A line in the alert's thread. */
  replyInThread(alertKey: string, text: string): Promise<void>;
  logger: Logger;
  now?: () => Date;
}

export interface OwnershipContext {
  deps: OwnershipDeps;
  store: Store;
  log: Logger;
  now: () => Date;
  /** Card updates and thread lines after the answer, awaited by idle(). */
  inflight: Set<Promise<void>>;
}

export function createOwnershipContext(deps: OwnershipDeps): OwnershipContext {
  return { deps, store: deps.store, log: deps.logger.child({ component: 'ownership' }), now: deps.now ?? (() => new Date()), inflight: new Set() };
}

/** Runs `work` after the person has had their answer; failures only logged. */
export function afterAnswer(ctx: OwnershipContext, what: string, work: () => Promise<void>): void {
  const task = work().catch((error: unknown) => ctx.log.error({ err: error, what }, 'ownership follow-up failed'));
  ctx.inflight.add(task);
  void task.finally(() => ctx.inflight.delete(task));
}
