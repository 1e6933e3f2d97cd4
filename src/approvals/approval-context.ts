import { telemetryMetrics } from '../shared/telemetry-metrics.ts';
import { resultComment } from '../writeback/comments.ts';
import { randomUUID } from 'node:crypto';
import type { ActionPolicy } from '../actions/action-policy.ts';
import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import { plain } from '../cards/alert-card.ts';
import type { AlertAccount } from '../domain/alert.ts';
import type { Actor } from '../domain/ports/chat.ts';
import type { ConversationReferenceJson, Messenger } from '../domain/ports/messenger.ts';
import type { Remediation } from '../domain/remediation.ts';
import type { Logger } from '../observability/logger.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import type { AuditEntry } from '../domain/ports/audit-log.ts';
import type { CardLocation } from '../domain/ports/alert-store.ts';
import type { Store } from '../domain/ports/store.ts';
import type { PrivateMessenger } from '../domain/ports/private-messenger.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import { createExecutionCap, type ExecutionCap } from './execution-cap.ts';
import type { GuardSettings } from './guard-rails.ts';
import type { AlertWriteback, WritebackEntry } from '../domain/ports/alert-writeback.ts';

/**
 * The one context every approval use case shares: the ports, the settings, and the little state a
 * process keeps (what it runs right now, background work, Teams ids seen). Passed explicitly, so
 * each use case is a plain function of (context, request) in a file of its own.
 */
export interface ApprovalSettings extends GuardSettings {
  ttlMinutes: number;
  maxActionsPerHour: number;
  dryRun: boolean;
  tempPasswordDelivery: 'private' | 'none';
  /** CARD_FOOTER: shown on every card. */
  cardFooter?: string;
  /** Bound on one Remediation.run (default 60 s). */
  runTimeoutMs?: number;
  /** Bound on Remediation.inspect while the clicker waits (default 4 s). */
  inspectTimeoutMs?: number;
  /**
   * Lifetime of the store lease a running execution holds and renews (default 15 s). A `running`
   * approval whose lease has lapsed belongs to a dead process and is reconciled.
   */
  runLeaseMs?: number;
  /** How long an action an executor only accepted (Defender for Identity) is read back before "not yet confirmed" (default 10 min). */
  confirmTimeoutMs?: number;
}

export interface ApprovalWorkflowDeps {
  store: Store;
  remediation: Remediation;
  messenger: Messenger;
  approvers: ApproverCheck;
  policy: ActionPolicy;
  capabilities: DirectoryCapabilities;
  settings: ApprovalSettings;
  logger: Logger;
  /** The channel reference the alert's card was posted through (for updates and thread replies). */
  channelFor(card: CardLocation): Promise<ConversationReferenceJson | undefined>;
  /** 1:1 delivery of temporary passwords; without it (or with delivery 'none') nobody sees them. */
  privateMessenger?: PrivateMessenger;
  /**
   * Person-level requests (lookup cards carry no alert): finds the person a card's target key
   * names in the directory / Entra ID, server-side. Without it such buttons are refused.
   */
  resolvePerson?: (targetKey: string) => Promise<AlertAccount | undefined>;
  /** Defender write-back of decisions, results and closes (an outbox; never blocks an action). */
  writeback?: AlertWriteback;
  /** Prefix of this process's run-lease tokens (default: random); each run attempt adds its own part. */
  instanceId?: string;
  now?: () => Date;
}

export interface ApprovalContext {
  deps: ApprovalWorkflowDeps;
  store: Store;
  settings: ApprovalSettings;
  log: Logger;
  now: () => Date;
  runTimeoutMs: number;
  inspectTimeoutMs: number;
  runLeaseMs: number;
  confirmTimeoutMs: number;
  /** Aborted when the workflow shuts down: waits for requested effects stop. */
  closing: AbortController;
  instanceId: string;
  cap: ExecutionCap;
  /**
   * Approvals this process is starting or running (their leases are renewed here). Two local
   * starts of one approval (resume() and the sweeper's reconcile(), a vote and a retry) never
   * overlap: the second returns at once.
   */
  runningHere: Set<string>;
  /** Approvals whose requested effect this process is waiting for (confirm-effect.ts). */
  confirmingHere: Set<string>;
  /** Background work started so far (runs, card updates), for idle(). */
  inflight: Set<Promise<void>>;
  /** Teams ids of people seen clicking, so a password can reach them in a 1:1 chat. */
  teamsIds: Map<string, string>;
}

export function createApprovalContext(deps: ApprovalWorkflowDeps): ApprovalContext {
  const { settings } = deps;
  return {
    deps,
    store: deps.store,
    settings,
    log: deps.logger.child({ component: 'approvals' }),
    now: deps.now ?? (() => new Date()),
    runTimeoutMs: settings.runTimeoutMs ?? 60_000,
    inspectTimeoutMs: settings.inspectTimeoutMs ?? 4_000,
    runLeaseMs: settings.runLeaseMs ?? 15_000,
    confirmTimeoutMs: settings.confirmTimeoutMs ?? 600_000,
    closing: new AbortController(),
    instanceId: deps.instanceId ?? `approvals-${randomUUID()}`,
    cap: createExecutionCap(deps.store, settings.maxActionsPerHour),
    runningHere: new Set(),
    confirmingHere: new Set(),
    inflight: new Set(),
    teamsIds: new Map(),
  };
}

/** Runs `work` after the clicker has had their answer; failures only logged; idle() waits for it. */
export function background(ctx: ApprovalContext, what: string, work: () => Promise<void>): void {
  const task = work().catch((error: unknown) => ctx.log.error({ err: error, what }, 'background approval work failed'));
  ctx.inflight.add(task);
  void task.finally(() => ctx.inflight.delete(task));
}

/** A lease holder for one run attempt or one reconciliation: never shared, not even in this process. */
export function leaseToken(ctx: ApprovalContext, what: string): string {
  return `${ctx.instanceId}:${what}:${randomUUID()}`;
}

export function runLease(id: string): string {
  return `approval-run:${id}`;
}

export async function audit(ctx: ApprovalContext, entry: Omit<AuditEntry, 'at'>): Promise<void> {
  await ctx.store.appendAudit({ at: ctx.now(), ...entry });
}

type ApprovalAuditFields = 'at' | 'approvalId' | 'alertKey' | 'target' | 'accountKey' | 'correlationId';

/**
 * An audit entry about one approval: its ids and target, and in `details.action` the action it
 * is for, so every vote, approval, denial and run says what was voted on (`history <who>`).
 */
export async function auditApproval(ctx: ApprovalContext, approval: Approval, correlationId: string, entry: Omit<AuditEntry, ApprovalAuditFields>): Promise<void> {
  telemetryMetrics.approvalStep(approval.action, entry.action, entry.outcome);
  const target = parseActionTarget(approval.target);
  await audit(ctx, {
    ...entry,
    approvalId: approval.id,
    ...(approval.alertKey ? { alertKey: approval.alertKey } : {}),
    target: targetLabel(target),
    accountKey: target.accountKey,
    correlationId,
    details: { ...entry.details, action: approval.action, round: approval.round },
  });
}

/** Tells Defender about an alert's event (enqueued; the recorder never throws). Lookup-card approvals have no alert. */
export async function writeBack(ctx: ApprovalContext, alertKey: string | undefined, entry: WritebackEntry): Promise<void> {
  if (alertKey && ctx.deps.writeback) await ctx.deps.writeback.record(alertKey, entry);
}

/**
 * An action's outcome as a comment on its alert. One event id per (approval, round, outcome): a run
 * that finished and a reconcile that settled it after a restart write it back once between them.
 */
export function writeBackResult(ctx: ApprovalContext, approval: Approval, outcome: 'succeeded' | 'failed', line: string): Promise<void> {
  return writeBack(ctx, approval.alertKey, { eventId: `${approval.id}:r${approval.round}:${outcome}`, comment: resultComment(outcome, line, ctx.now()) });
}

export function actionLog(ctx: ApprovalContext, approval: Approval, correlationId: string): Logger {
  return ctx.log.child({ approval: approval.id, action: approval.action, target: parseActionTarget(approval.target).accountKey, correlationId });
}

/**
 * Who voted / acted, as stored and compared: the Entra object id, lower-case (Teams and Graph may
 * spell a GUID in either case, and one person must never count twice).
 */
export function approverIdOf(actor: Actor): string {
  return (actor.aadObjectId ?? actor.id).trim().toLowerCase();
}

const MAX_CHAT_LINE = 1_000;

/**
 * Text for a chat message (thread reply, command answer) built around names, deny reasons and
 * error messages from people, alerts and directories: each line through the cards' `plain()`
 * (markdown escaped, so `[x](https://evil)` stays text; control characters gone).
 */
export function chatSafe(text: string): string {
  return text
    .split('\n')
    .map((line) => plain(line, MAX_CHAT_LINE))
    .join('\n');
}
