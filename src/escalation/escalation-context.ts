import { randomUUID } from 'node:crypto';
import type { EscalationPolicy } from '../domain/escalation-policy.ts';
import type { AuditEntry } from '../domain/ports/audit-log.ts';
import type { CardLocation } from '../domain/ports/alert-store.ts';
import type { ConversationReferenceJson, Messenger } from '../domain/ports/messenger.ts';
import type { Pager } from '../domain/ports/pager.ts';
import type { Store } from '../domain/ports/store.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * What the escalation use cases share: the ports, the policy, and this instance's claim holder
 * name. Passed explicitly to each use case (schedule, run a step, stop), like the approvals'.
 */
export interface EscalationDeps {
  store: Store;
  policy: EscalationPolicy;
  /** The configured on-call tools (none: reminders only). */
  pagers: readonly Pager[];
  messenger: Messenger;
  /** The channel reference an alert's card was posted through (thread replies). */
  channelFor(card: CardLocation): Promise<ConversationReferenceJson | undefined>;
  /** Re-renders the alert's card where it lives (the one renderer, through the approvals). */
  refreshCard(alertKey: string): Promise<void>;
  logger: Logger;
  instanceId?: string;
  now?: () => Date;
  /** Only alerts posted this recently get a schedule (default 24 h): an upgrade does not page for last month's alerts. */
  lookbackMs?: number;
  /** A claim older than this belongs to a dead instance (default 2 minutes). */
  claimStaleMs?: number;
}

export interface EscalationContext {
  deps: EscalationDeps;
  store: Store;
  policy: EscalationPolicy;
  log: Logger;
  now: () => Date;
  holder: string;
  lookbackMs: number;
  claimStaleMs: number;
}

export function createEscalationContext(deps: EscalationDeps): EscalationContext {
  return {
    deps,
    store: deps.store,
    policy: deps.policy,
    log: deps.logger.child({ component: 'escalation' }),
    now: deps.now ?? (() => new Date()),
    holder: `${deps.instanceId ?? 'escalation'}:${randomUUID().slice(0, 8)}`,
    lookbackMs: deps.lookbackMs ?? 24 * 3_600_000,
    claimStaleMs: deps.claimStaleMs ?? 120_000,
  };
}

export async function auditEscalation(ctx: EscalationContext, entry: Omit<AuditEntry, 'at' | 'actor'>): Promise<void> {
  await ctx.store.appendAudit({ at: ctx.now(), actor: 'escalation', ...entry });
}

/** Card refresh after a step: failures only logged (the next render shows the state anyway). */
export async function refresh(ctx: EscalationContext, alertKey: string): Promise<void> {
  await ctx.deps.refreshCard(alertKey).catch((error: unknown) => ctx.log.warn({ err: error, alertKey }, 'could not refresh the alert card after an escalation step'));
}
