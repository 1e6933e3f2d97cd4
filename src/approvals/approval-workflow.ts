import { randomUUID } from 'node:crypto';
import { ACTION_CATALOG, isDestructive, undoOf, type ActionName } from '../actions/action-names.ts';
import { requiredApprovals, type ActionPolicy } from '../actions/action-policy.ts';
import { proposeActions, type DirectoryCapabilities, type ProposedAction } from '../actions/propose-actions.ts';
import { plain } from '../cards/alert-card.ts';
import { CARD_VERBS } from '../cards/verbs.ts';
import type { Actor, CardAction, CardActionOutcome, ChatTurn } from '../domain/chat.ts';
import { primaryAccountKey } from '../domain/account-key.ts';
import type { AlertAccount } from '../domain/alert.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { ConversationReferenceJson, Messenger, OutboundMessage, ThreadRef } from '../domain/messenger.ts';
import type { ActionTarget, Remediation } from '../domain/remediation.ts';
import type { Logger } from '../observability/logger.ts';
import { generateReferenceCode } from '../store/reference-code.ts';
import type { AlertRecord, Approval, AuditEntry, CardLocation, Store } from '../store/store.ts';
import { renderApprovalCard, type ApprovalView } from './approval-card.ts';
import type { PrivateMessenger, PrivateRecipient } from './approval-ports.ts';
import { parseAlertRef, parseApprovalCommand, parseApproveButton } from './approval-request.ts';
import { actionTargetOf, approvalIdFor, findAccount, parseActionTarget, targetLabel } from './approval-target.ts';
import { actionLabel, names, seconds, stateLine, successLine } from './approval-text.ts';
import type { ApproverCheck } from './approver-check.ts';
import { createExecutionCap, type ExecutionCap } from './execution-cap.ts';
import { decideGuardRails, type GuardSettings } from './guard-rails.ts';

/**
 * The approval workflow: an analyst presses Approve on an alert card; the action runs exactly
 * once, by the right people, and the result lands in the thread.
 *
 * Every must-happen-once step is a conditional write in the store (create by deterministic id,
 * one vote per approver, pending → approved → running → succeeded/failed), so double clicks,
 * Teams' invoke retries, concurrent approvers and several bot instances converge on one run.
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
  /** Prefix of this process's run-lease tokens (default: random); each run attempt adds its own part. */
  instanceId?: string;
  now?: () => Date;
}

export interface ApprovalWorkflow {
  /** TurnHandlers.onCardAction: verbs approve, retry, deny. */
  onCardAction(action: CardAction, turn: ChatTurn): Promise<CardActionOutcome>;
  /** For the command handler: true when `text` was an approval command (and was answered). */
  onCommand(text: string, turn: ChatTurn): Promise<boolean>;
  approveByCode(code: string, choice: string | undefined, turn: ChatTurn): Promise<string>;
  denyByCode(code: string, reason: string | undefined, turn: ChatTurn): Promise<string>;
  resume(turn: ChatTurn): Promise<string>;
  listPending(): Promise<Approval[]>;
  /** Pending approvals past their TTL → expired, cards updated. Returns how many. */
  sweepExpired(): Promise<number>;
  /**
   * Approvals left `running` for longer than `staleAfterMs` (a crashed process) are read back from
   * the directory and settled, never re-run; approvals left `approved` (not paused) are started.
   */
  reconcile(options?: { staleAfterMs?: number }): Promise<number>;
  /** The alert card with approval states, for the notifier's card updates. */
  renderCard(alertKey: string, statusLine?: string): Promise<OutboundMessage | undefined>;
  /** Resolves when background executions and card updates started so far are done (tests, shutdown). */
  idle(): Promise<void>;
}

/** No vote count reaches this: rows created only to be refused or denied can never run. */
const UNREACHABLE_APPROVALS = 1_000_000;
const CODE_ATTEMPTS = 5;
const MAX_CHAT_LINE = 1_000;

export function createApprovalWorkflow(deps: ApprovalWorkflowDeps): ApprovalWorkflow {
  const { store, remediation, messenger, approvers, policy, capabilities, settings } = deps;
  const log = deps.logger.child({ component: 'approvals' });
  const now = deps.now ?? (() => new Date());
  const runTimeoutMs = settings.runTimeoutMs ?? 60_000;
  const inspectTimeoutMs = settings.inspectTimeoutMs ?? 4_000;
  const runLeaseMs = settings.runLeaseMs ?? 15_000;
  const instanceId = deps.instanceId ?? `approvals-${randomUUID()}`;
  /**
   * Approvals this process is starting or running (their leases are renewed here). Two local
   * starts of one approval (resume() and the sweeper's reconcile(), a vote and a retry) never
   * overlap: the second returns at once.
   */
  const runningHere = new Set<string>();
  /** A lease holder for one run attempt or one reconciliation: never shared, not even in this process. */
  const leaseToken = (what: string) => `${instanceId}:${what}:${randomUUID()}`;
  const runLease = (id: string) => `approval-run:${id}`;
  const cap: ExecutionCap = createExecutionCap(store, settings.maxActionsPerHour);
  const inflight = new Set<Promise<void>>();
  /** Teams ids of people seen clicking, so a password can reach them in a 1:1 chat. */
  const teamsIds = new Map<string, string>();

  // ---- small helpers ------------------------------------------------------------------------

  function background(what: string, work: () => Promise<void>): void {
    const task = work().catch((error: unknown) => log.error({ err: error, what }, 'background approval work failed'));
    inflight.add(task);
    void task.finally(() => inflight.delete(task));
  }

  async function audit(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    await store.appendAudit({ at: now(), ...entry });
  }

  function auditOf(approval: Approval, correlationId: string): Pick<AuditEntry, 'approvalId' | 'alertKey' | 'target' | 'accountKey' | 'correlationId'> {
    const target = parseActionTarget(approval.target);
    return { approvalId: approval.id, ...(approval.alertKey ? { alertKey: approval.alertKey } : {}), target: targetLabel(target), accountKey: target.accountKey, correlationId };
  }

  /**
   * An audit entry about one approval: its ids and target, and in `details.action` the action it
   * is for, so every vote, approval, denial and run says what was voted on (`history <who>`).
   */
  async function auditApproval(approval: Approval, correlationId: string, entry: Omit<AuditEntry, 'at' | 'approvalId' | 'alertKey' | 'target' | 'accountKey' | 'correlationId'>): Promise<void> {
    await audit({ ...entry, ...auditOf(approval, correlationId), details: { ...entry.details, action: approval.action } });
  }

  function actionLog(approval: Approval, correlationId: string): Logger {
    return log.child({ approval: approval.id, action: approval.action, target: parseActionTarget(approval.target).accountKey, correlationId });
  }

  async function requireApprover(actor: Actor, what: string, context: Partial<AuditEntry>, correlationId: string, action?: string): Promise<void> {
    let allowed = false;
    let code: string | undefined;
    try {
      allowed = await approvers.isApprover(actor, { log });
    } catch (error) {
      // Fail closed: when Graph cannot say, the answer is no, and the clicker is told why.
      code = isAppError(error) ? error.code : 'INTERNAL';
      log.warn({ err: error, actor: actor.aadObjectId }, 'approver check failed');
    }
    if (allowed) return;
    await audit({ actor: approverIdOf(actor), action: 'approval.unauthorized', outcome: 'refused', correlationId, details: { attempted: what, name: actor.name, ...(action ? { action } : {}) }, ...(code ? { code } : {}), ...context });
    throw new AppError(
      'NOT_AUTHORIZED',
      code ? 'Your approver rights could not be checked right now, so nothing was changed. Try again in a minute.' : `You are not an approver, so you cannot ${what}. Nothing was changed.`,
    );
  }

  async function loadAlert(ref: { alertKey?: string; code?: string }): Promise<AlertRecord> {
    const record = (ref.alertKey ? await store.getAlertByKey(ref.alertKey) : undefined) ?? (ref.code ? await store.getAlertByCode(ref.code) : undefined);
    if (!record) throw new AppError('NOT_FOUND', 'That alert is not known to the bot (any more).');
    return record;
  }

  function proposalsOf(record: AlertRecord): ProposedAction[] {
    return proposeActions(record.alert, policy, capabilities);
  }

  /** Server-side validation of a click: the action must be proposed for that account on the stored alert, or be the undo of one that succeeded. */
  async function validateAction(record: AlertRecord, action: ActionName, target: string): Promise<number> {
    const proposals = proposalsOf(record);
    const proposal = proposals.find((p) => p.action === action && p.target === target);
    if (proposal) return proposal.requiredApprovals;
    const original = proposals.find((p) => p.target === target && undoOf(p.action) === action);
    if (original) {
      const done = await store.getApproval(approvalIdFor(record.key, original.action, target));
      if (done?.state === 'succeeded') return requiredApprovals(policy, action);
    }
    throw new AppError('INPUT_INVALID', 'That action is not offered for this account on this alert.');
  }

  async function viewsFor(alertKey: string): Promise<ApprovalView[]> {
    const approvals = await store.listApprovalsForAlert(alertKey);
    const views: ApprovalView[] = [];
    for (const approval of approvals) views.push({ approval, votes: await store.listApprovalVotes(approval.id) });
    return views;
  }

  async function renderCard(alertKey: string, statusLine?: string): Promise<OutboundMessage | undefined> {
    const record = await store.getAlertByKey(alertKey);
    if (!record) return undefined;
    const paused = (await cap.pausedState()) !== undefined;
    return renderApprovalCard({ record, proposals: proposalsOf(record), approvals: await viewsFor(alertKey), dryRun: settings.dryRun, paused, ttlMinutes: settings.ttlMinutes, ...(statusLine ? { statusLine } : {}), ...(settings.cardFooter ? { footer: settings.cardFooter } : {}) });
  }

  async function threadOf(record: AlertRecord): Promise<ThreadRef | undefined> {
    if (!record.card) return undefined;
    const channel = await deps.channelFor(record.card);
    if (!channel) return undefined;
    return { channel, conversationId: record.card.conversationId, threadConversationId: record.card.threadConversationId, rootActivityId: record.card.activityId };
  }

  /** Re-renders the card from the store's current state and replaces it for everyone. */
  async function updateCard(alertKey: string, statusLine?: string): Promise<void> {
    const record = await store.getAlertByKey(alertKey);
    const thread = record ? await threadOf(record) : undefined;
    if (!record || !thread) return;
    const message = await renderCard(alertKey, statusLine);
    // Addressed like the notifier does (and like botbuilder inside an invoke from the thread): the
    // thread's conversation id, and the card's own activity id (a reply card is not the root).
    if (message && record.card) await messenger.update(thread.channel, record.card.threadConversationId, record.card.activityId, message);
  }

  async function replyInThread(alertKey: string | undefined, text: string): Promise<void> {
    if (!alertKey) return;
    const record = await store.getAlertByKey(alertKey);
    const thread = record ? await threadOf(record) : undefined;
    if (thread) await messenger.reply(thread, { text: chatSafe(text) });
  }

  /** Where a person-level request (a lookup card) is answered: the clicker's conversation. */
  function replyDestination(approval: Approval): ThreadRef | undefined {
    const to = approval.target.replyTo;
    if (!to || typeof to !== 'object') return undefined;
    const { reference, conversationId, activityId } = to as Record<string, unknown>;
    if (!reference || typeof reference !== 'object' || typeof conversationId !== 'string' || typeof activityId !== 'string') return undefined;
    return { channel: reference as ConversationReferenceJson, threadConversationId: conversationId, conversationId: conversationId.split(';messageid=')[0] ?? conversationId, rootActivityId: activityId };
  }

  /** The alert's thread, or for a person-level request the lookup card's conversation. */
  async function replyFor(approval: Approval, text: string): Promise<void> {
    if (approval.alertKey) return replyInThread(approval.alertKey, text);
    const destination = replyDestination(approval);
    if (destination) await messenger.reply(destination, { text: chatSafe(text) });
  }

  /** Card update and thread reply after the clicker has had their answer; failures only logged. */
  function announce(alertKey: string | undefined, statusLine: string | undefined, threadText?: string): void {
    if (!alertKey) return;
    background('announce', async () => {
      await updateCard(alertKey, statusLine);
      if (threadText) await replyInThread(alertKey, threadText);
    });
  }

  // ---- request: one approval per (alert, action, target) -------------------------------------

  async function getOrCreateApproval(record: AlertRecord, action: ActionName, target: string, actor: Actor, policyApprovals: number, correlationId: string): Promise<Approval> {
    const id = approvalIdFor(record.key, action, target);
    const existing = await store.getApproval(id);
    if (existing) return existing;
    const account = findAccount(record.alert.accounts, target);
    if (!account) throw new AppError('INPUT_INVALID', 'That account is not on this alert.');
    return createChecked(id, record.key, action, actionTargetOf(account, target), actor, policyApprovals, correlationId);
  }

  /** Inspects the target, applies the guard rails and inserts the approval (refused when they say so). */
  async function createChecked(id: string, alertKey: string | undefined, action: ActionName, actionTarget: ActionTarget, actor: Actor, policyApprovals: number, correlationId: string, extra: Record<string, unknown> = {}): Promise<Approval> {
    const target = actionTarget.accountKey;
    const label = targetLabel(actionTarget);
    if (!remediation.supports(action)) throw new AppError('INPUT_INVALID', `${actionLabel(action)} is not configured in this deployment.`);
    const inspectLog = log.child({ approval: id, action, target, correlationId });
    let inspection;
    try {
      inspection = await remediation.inspect(action, actionTarget, { log: inspectLog, signal: AbortSignal.timeout(inspectTimeoutMs) });
    } catch (error) {
      // Fail closed: an account whose privileges cannot be checked is not approved by one click.
      inspectLog.warn({ err: error }, 'target inspection failed');
      throw new AppError(isAppError(error) ? error.code : 'DIRECTORY_UNAVAILABLE', `Could not check ${label} before approving: ${isAppError(error) ? error.message : 'the directory did not answer'}. Nothing was changed.`, { cause: error });
    }
    const decision = decideGuardRails(action, actionTarget, inspection, policyApprovals, settings, label);
    const required = decision.kind === 'allow' ? decision.requiredApprovals : UNREACHABLE_APPROVALS;
    const { approval: created, inserted } = await insertApproval(alertKey, id, action, actionTarget, required, actor, extra);
    if (!inserted) return created;
    await auditApproval(created, correlationId, { actor: created.requestedBy, action: 'approval.requested', outcome: 'info', details: { action, requiredApprovals: decision.kind === 'allow' ? required : undefined, privileged: inspection.privileged, reasons: inspection.reasons } });
    if (decision.kind === 'refuse') {
      await store.transitionApproval(id, 'pending', 'refused', { decidedBy: 'guard rails', reason: decision.reason });
      await auditApproval(created, correlationId, { actor: created.requestedBy, action: 'approval.refused', outcome: 'refused', details: { reason: decision.reason } });
      inspectLog.info({ reason: decision.reason }, 'approval refused by guard rails');
    }
    return (await store.getApproval(id)) ?? created;
  }

  /** Inserts the row; a concurrent first click inserting the same id wins instead (CONFLICT → read it). */
  async function insertApproval(alertKey: string | undefined, id: string, action: ActionName, target: ActionTarget, required: number, actor: Actor, extra: Record<string, unknown> = {}): Promise<{ approval: Approval; inserted: boolean }> {
    for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
      try {
        const approval = await store.createApproval({
          id,
          ...(alertKey ? { alertKey } : {}),
          action,
          target: { ...target, ...extra },
          code: generateReferenceCode(),
          requiredApprovals: required,
          requestedBy: approverIdOf(actor),
          requestedAt: now(),
          expiresAt: new Date(now().getTime() + settings.ttlMinutes * 60_000),
        });
        return { approval, inserted: true };
      } catch (error) {
        if (!(isAppError(error) && error.code === 'CONFLICT')) throw error;
        const winner = await store.getApproval(id);
        if (winner) return { approval: winner, inserted: false };
        // Otherwise the random code collided with another approval's: draw again.
      }
    }
    throw new AppError('CONFLICT', 'Could not allocate a reference code for this approval; try again.');
  }

  // ---- approve: vote, then pending → approved → running, each a conditional write -------------

  async function vote(approval: Approval, actor: Actor, correlationId: string): Promise<Approval> {
    const alog = actionLog(approval, correlationId);
    if (approval.state !== 'pending') return approval;
    if (approval.expiresAt.getTime() <= now().getTime()) {
      await expire(approval, correlationId);
      return (await store.getApproval(approval.id)) ?? approval;
    }
    const approverId = approverIdOf(actor);
    const { added, votes } = await store.addApprovalVote(approval.id, approverId, actor.name, now());
    await auditApproval(approval, correlationId, { actor: approverId, action: added ? 'approval.vote' : 'approval.vote-repeated', outcome: 'info', details: { name: actor.name, votes: votes.length, required: approval.requiredApprovals } });
    alog.info({ added, votes: votes.length, required: approval.requiredApprovals }, 'approval vote');
    if (votes.length < approval.requiredApprovals) return (await store.getApproval(approval.id)) ?? approval;
    if (await store.transitionApproval(approval.id, 'pending', 'approved', { decidedBy: names(votes) })) {
      await auditApproval(approval, correlationId, { actor: approverId, action: 'approval.approved', outcome: 'success', details: { approvers: votes.map((v) => v.approverId) } });
      // The person whose vote completed the approval is "the approving analyst" who gets a password.
      await start(approval.id, { aadObjectId: approverId, teamsId: actor.id, name: actor.name }, correlationId);
    }
    return (await store.getApproval(approval.id)) ?? approval;
  }

  function rememberTeamsId(actor: Actor): void {
    if (actor.aadObjectId) teamsIds.set(approverIdOf(actor), actor.id);
  }

  function recipientOf(aadObjectId: string, name: string): PrivateRecipient {
    const teamsId = teamsIds.get(aadObjectId);
    return { aadObjectId, name, ...(teamsId ? { teamsId } : {}) };
  }

  /**
   * approved → running (after the hourly cap allows it), then the run itself in the background:
   * the clicker gets "running" at once, everyone gets the result when it is there.
   */
  async function start(id: string, approver: PrivateRecipient | undefined, correlationId: string, from: 'approved' | 'failed' = 'approved'): Promise<void> {
    if (runningHere.has(id)) return;
    runningHere.add(id);
    let handedOver = false;
    try {
      handedOver = await startHere(id, approver, correlationId, from);
    } finally {
      if (!handedOver) runningHere.delete(id);
    }
  }

  /** start() once this process is the only local starter of `id`; true when a run was handed to the background. */
  async function startHere(id: string, approver: PrivateRecipient | undefined, correlationId: string, from: 'approved' | 'failed'): Promise<boolean> {
    const approval = await store.getApproval(id);
    if (!approval || approval.state !== from) return false;
    const alog = actionLog(approval, correlationId);
    let slot: string | undefined;
    if (isDestructive(approval.action as ActionName)) {
      const outcome = await cap.take(now());
      if (outcome.kind !== 'taken') {
        if (outcome.kind === 'cap-reached') {
          await auditApproval(approval, correlationId, { actor: 'system', action: 'execution.paused', outcome: 'info', details: { maxActionsPerHour: settings.maxActionsPerHour } });
          alog.warn({ maxActionsPerHour: settings.maxActionsPerHour }, 'hourly cap reached: execution paused');
          background('cap-notice', () => replyFor(approval, `Execution paused: more than ${settings.maxActionsPerHour} destructive actions in an hour. ${actionLabel(approval.action)} for ${targetLabel(parseActionTarget(approval.target))} waits until an approver types resume.`));
        }
        if (from === 'failed') throw new AppError('CONFLICT', 'Execution is paused (hourly cap): an approver must type resume first.');
        return false;
      }
      slot = outcome.slot;
    }
    // The run lease is taken BEFORE the row says running: a running row always has (had) a
    // holder, so the reconciler may treat a lapsed lease as a dead process, never as a run starting.
    // Its holder is a token of this run attempt: a losing starter can only ever release its own.
    const token = leaseToken('run');
    const leased = await store.tryAcquireLease(runLease(id), token, runLeaseMs, now());
    const started = leased && (await store.transitionApproval(id, from, 'running', { startedAt: now(), ...(from === 'failed' ? { errorCode: '', reason: '' } : {}) }));
    if (!started) {
      if (leased) await store.releaseLease(runLease(id), token);
      if (slot) await cap.release(slot);
      return false;
    }
    background('execute', async () => {
      // A renewal refused means another instance took the lease (this one looked dead): the run
      // is aborted, and nothing it does afterwards is written (see `stillHolds`).
      const lost = new AbortController();
      const renew = setInterval(() => {
        store.renewLease(runLease(id), token, runLeaseMs, now()).then(
          (held) => {
            if (held || lost.signal.aborted) return;
            alog.warn('run lease lost to another instance: aborting the run');
            lost.abort(new AppError('CONFLICT', 'The bot lost its hold on this action while it ran; it was stopped and is checked again.'));
          },
          (error: unknown) => log.warn({ err: error, approval: id }, 'could not renew the run lease'),
        );
      }, Math.max(250, Math.floor(runLeaseMs / 3)));
      try {
        await execute(id, approver, correlationId, { token, signal: lost.signal });
      } finally {
        clearInterval(renew);
        runningHere.delete(id);
        await store.releaseLease(runLease(id), token).catch(() => undefined);
      }
    });
    return true;
  }

  /**
   * Whether `token` still holds the run lease of `id`, extending it for the final write: the
   * transition that follows happens well inside the renewed lifetime, so no other instance can
   * have taken the lease (and settled the row) in between.
   */
  async function stillHolds(id: string, token: string): Promise<boolean> {
    return store.renewLease(runLease(id), token, runLeaseMs, now()).catch(() => false);
  }

  async function execute(id: string, approver: PrivateRecipient | undefined, correlationId: string, lease: { token: string; signal: AbortSignal }): Promise<void> {
    const approval = await store.getApproval(id);
    if (!approval || approval.state !== 'running') return;
    const alog = actionLog(approval, correlationId);
    const action = approval.action as ActionName;
    const target = parseActionTarget(approval.target);
    await auditApproval(approval, correlationId, { actor: 'system', action: 'action.started', outcome: 'info', details: { action, dryRun: settings.dryRun, approvedBy: approval.decidedBy } });
    const started = performance.now();
    /** The lease was lost: another instance settles (or settled) the row; this run writes and says nothing. */
    const leaseLost = async (outcome: string): Promise<void> => {
      alog.warn({ outcome }, 'run lease lost: the result is left to the instance that took it over');
      await auditApproval(approval, correlationId, { actor: 'system', action: 'action.lease-lost', outcome: 'info', details: { action, outcome } });
    };
    let threadText: string;
    try {
      const result = await remediation.run(action, target, { dryRun: settings.dryRun, log: alog, signal: AbortSignal.any([AbortSignal.timeout(runTimeoutMs), lease.signal]) });
      const durationMs = Math.round(performance.now() - started);
      const stored = { summary: result.summary, details: result.details, durationMs, dryRun: settings.dryRun, approvedBy: approval.decidedBy };
      if (!(await stillHolds(id, lease.token))) return await leaseLost('succeeded');
      const won = await store.transitionApproval(id, 'running', 'succeeded', { result: stored, finishedAt: now() });
      await auditApproval(approval, correlationId, { actor: 'system', action: 'action.executed', outcome: 'success', details: { action, durationMs, dryRun: settings.dryRun, details: result.details, settled: won } });
      alog.info({ durationMs, dryRun: settings.dryRun, settled: won }, 'action succeeded');
      const done = (await store.getApproval(id)) ?? approval;
      threadText = successLine(done);
      if (result.temporaryPassword) threadText += await deliverPassword(done, result.temporaryPassword.reveal(), approver, alog, correlationId);
    } catch (error) {
      const failure = isAppError(error) ? error : new AppError('INTERNAL', 'The action failed unexpectedly.', { cause: error });
      const durationMs = Math.round(performance.now() - started);
      if (!(await stillHolds(id, lease.token))) return await leaseLost('failed');
      await store.transitionApproval(id, 'running', 'failed', { errorCode: failure.code, reason: failure.message, finishedAt: now() });
      await auditApproval(approval, correlationId, { actor: 'system', action: 'action.executed', outcome: 'failure', code: failure.code, details: { action, durationMs, message: failure.message, ...failure.details } });
      alog.warn({ code: failure.code, durationMs, err: isAppError(error) ? undefined : error }, 'action failed');
      const again = approval.alertKey ? 'Press Retry on the card to run it again.' : 'Look the person up again to retry.';
      threadText = `${actionLabel(action)} for ${targetLabel(target)} failed: ${failure.message} (approved by ${approval.decidedBy ?? 'unknown'}, ${seconds(durationMs)}). ${again}`;
    }
    if (approval.alertKey) await updateCard(approval.alertKey, threadText.split('\n')[0]);
    await replyFor(approval, threadText);
  }

  /** The password goes to the approving analyst in a 1:1 chat, or to nobody; never to a channel or a log. */
  async function deliverPassword(approval: Approval, password: string, approver: PrivateRecipient | undefined, alog: Logger, correlationId: string): Promise<string> {
    const label = targetLabel(parseActionTarget(approval.target));
    if (settings.tempPasswordDelivery === 'none') return ' The temporary password is not shown to anyone (TEMP_PASSWORD_DELIVERY=none).';
    const record = approval.alertKey ? await store.getAlertByKey(approval.alertKey) : undefined;
    const via = record?.card ? await deps.channelFor(record.card) : replyDestination(approval)?.channel;
    if (!deps.privateMessenger || !approver || !via) {
      alog.warn('temporary password not delivered: no private channel to the approver');
      return ' The temporary password could not be sent privately; reset it again to get a new one.';
    }
    try {
      await deps.privateMessenger.sendPrivate(approver, { text: `Temporary password for ${label}: ${password}\n\nThe user must change it at next logon. This message is the only copy.` }, via);
      await auditApproval(approval, correlationId, { actor: approver.aadObjectId, action: 'password.delivered', outcome: 'success', details: { via: 'private-chat' } });
      return ` The temporary password was sent privately to ${approver.name}.`;
    } catch (error) {
      alog.warn({ code: isAppError(error) ? error.code : 'INTERNAL' }, 'temporary password delivery failed');
      await auditApproval(approval, correlationId, { actor: approver.aadObjectId, action: 'password.delivered', outcome: 'failure', code: isAppError(error) ? error.code : 'INTERNAL' });
      return ` The temporary password could not be sent privately to ${approver.name}; reset it again to get a new one.`;
    }
  }

  async function expire(approval: Approval, correlationId: string): Promise<boolean> {
    const won = await store.transitionApproval(approval.id, 'pending', 'expired', { decidedBy: 'expiry' });
    if (won) await auditApproval(approval, correlationId, { actor: 'system', action: 'approval.expired', outcome: 'info', details: { ttlMinutes: settings.ttlMinutes } });
    return won;
  }

  // ---- use cases --------------------------------------------------------------------------------

  async function approve(ref: { alertKey?: string; code?: string }, action: ActionName, target: string, actor: Actor, correlationId: string): Promise<{ approval: Approval; record: AlertRecord }> {
    const record = await loadAlert(ref);
    const policyApprovals = await validateAction(record, action, target);
    await requireApprover(actor, 'approve actions', { alertKey: record.key, accountKey: target }, correlationId, action);
    rememberTeamsId(actor);
    const approval = await getOrCreateApproval(record, action, target, actor, policyApprovals, correlationId);
    return { approval: await vote(approval, actor, correlationId), record };
  }

  async function retry(ref: { alertKey?: string; code?: string }, action: ActionName, target: string, actor: Actor, correlationId: string): Promise<{ approval: Approval; record: AlertRecord }> {
    const record = await loadAlert(ref);
    await validateAction(record, action, target);
    await requireApprover(actor, 'retry actions', { alertKey: record.key, accountKey: target }, correlationId, action);
    rememberTeamsId(actor);
    const approval = await store.getApproval(approvalIdFor(record.key, action, target));
    if (!approval) throw new AppError('NOT_FOUND', 'There is nothing to retry for this action.');
    if (approval.state === 'failed') {
      await auditApproval(approval, correlationId, { actor: approverIdOf(actor), action: 'approval.retry', outcome: 'info', details: { name: actor.name, previousError: approval.errorCode } });
      await start(approval.id, { aadObjectId: approverIdOf(actor), teamsId: actor.id, name: actor.name }, correlationId, 'failed');
    }
    return { approval: (await store.getApproval(approval.id)) ?? approval, record };
  }

  async function denyApproval(approval: Approval, actor: Actor, reason: string | undefined, correlationId: string): Promise<boolean> {
    const won = await store.transitionApproval(approval.id, 'pending', 'denied', { decidedBy: actor.name, ...(reason ? { reason } : {}) });
    if (won) await auditApproval(approval, correlationId, { actor: approverIdOf(actor), action: 'approval.denied', outcome: 'denied', details: { name: actor.name, reason } });
    return won;
  }

  /** Deny on the alert: every action still open on it (pending, or offered and not yet requested). */
  async function denyAlert(record: AlertRecord, actor: Actor, reason: string | undefined, correlationId: string): Promise<Approval[]> {
    await requireApprover(actor, 'deny actions', { alertKey: record.key }, correlationId);
    const denied: Approval[] = [];
    for (const proposal of proposalsOf(record)) {
      const account = findAccount(record.alert.accounts, proposal.target);
      if (!account) continue;
      const id = approvalIdFor(record.key, proposal.action, proposal.target);
      // A row made only to record the denial can never collect enough votes to run.
      const approval = (await store.getApproval(id)) ?? (await insertApproval(record.key, id, proposal.action, actionTargetOf(account, proposal.target), UNREACHABLE_APPROVALS, actor)).approval;
      if (approval.state === 'pending' && (await denyApproval(approval, actor, reason, correlationId))) denied.push(approval);
    }
    return denied;
  }

  function deniedText(actor: Actor, denied: Approval[], reason: string | undefined): string {
    const what = denied.map((a) => `${actionLabel(a.action)} for ${targetLabel(parseActionTarget(a.target))}`).join('; ');
    return `Denied by ${actor.name}${reason ? `: ${reason}` : ''} (${what}).`;
  }

  // ---- person-level requests (lookup cards: no alert) ---------------------------------------------

  /**
   * Approve on a lookup card: the card's target key is only a lookup key. The person is found again
   * server-side (directory / Entra ID) and must be exactly the one the key names; the action must be
   * in the catalog, its system configured, and the account addressable there. One approval per
   * (lookup card, action, person): clicks on the same card converge, a later lookup asks afresh.
   */
  async function approvePerson(data: { action: ActionName; target: string }, cardAction: CardAction, turn: ChatTurn, correlationId: string): Promise<Approval> {
    const { action, target } = data;
    await requireApprover(turn.actor, 'approve actions', { accountKey: target }, correlationId, action);
    rememberTeamsId(turn.actor);
    const system = ACTION_CATALOG[action].system;
    if (!deps.resolvePerson || !capabilities[system] || !remediation.supports(action)) {
      throw new AppError('INPUT_INVALID', `${actionLabel(action)} is not configured in this deployment.`);
    }
    if (!cardAction.cardActivityId) throw new AppError('INPUT_INVALID', 'This button does not say which card it was on; look the person up again.');
    const id = approvalIdFor(`lookup:${turn.conversation.id}:${cardAction.cardActivityId}`, action, target);
    const existing = await store.getApproval(id);
    if (existing) return vote(existing, turn.actor, correlationId);
    let account: AlertAccount | undefined;
    try {
      account = await deps.resolvePerson(target);
    } catch (error) {
      throw new AppError(isAppError(error) ? error.code : 'DIRECTORY_UNAVAILABLE', `Could not look the person up before approving: ${isAppError(error) ? error.message : 'the directory did not answer'}. Nothing was changed.`, { cause: error });
    }
    if (!account || primaryAccountKey(account) !== target) throw new AppError('NOT_FOUND', 'That person could not be found again in the directory, so nothing was changed. Look them up again.');
    const addressable = system === 'activeDirectory' ? Boolean(account.sid || account.samAccountName) : system === 'entra' ? Boolean(account.entraObjectId || account.userPrincipalName) : Boolean(account.userPrincipalName);
    if (!addressable) throw new AppError('INPUT_INVALID', `${actionLabel(action)} cannot address this person: no account in that system.`);
    const replyTo = { reference: turn.channelReference, conversationId: turn.conversation.id, activityId: cardAction.cardActivityId };
    const approval = await createChecked(id, undefined, action, actionTargetOf(account, target), turn.actor, requiredApprovals(policy, action), correlationId, { replyTo });
    return vote(approval, turn.actor, correlationId);
  }

  // ---- entry points -------------------------------------------------------------------------------

  /** Typed errors → what the person sees, in one place. */
  function explain(error: unknown, clog: Logger): string {
    if (isAppError(error)) {
      if (['NOT_AUTHORIZED', 'INPUT_INVALID', 'NOT_FOUND', 'CONFLICT'].includes(error.code) || error.code.startsWith('DIRECTORY') || error.code.startsWith('UPSTREAM') || error.code === 'TIMEOUT') {
        clog.info({ code: error.code }, 'card action refused');
        return error.message;
      }
      clog.error({ err: error, code: error.code }, 'card action failed');
      return `Something went wrong (${error.code}); nothing was changed.`;
    }
    clog.error({ err: error }, 'card action failed unexpectedly');
    return 'Something went wrong; nothing was changed.';
  }

  async function cardOutcome(record: AlertRecord, statusLine: string | undefined): Promise<CardActionOutcome> {
    const message = await renderCard(record.key, statusLine);
    return message?.card ? { kind: 'card', card: message.card } : { kind: 'message', text: statusLine ?? 'Done.' };
  }

  async function onCardAction(cardAction: CardAction, turn: ChatTurn): Promise<CardActionOutcome> {
    const correlationId = randomUUID();
    const clog = log.child({ verb: cardAction.verb, via: cardAction.via, actor: turn.actor.aadObjectId, correlationId });
    try {
      if (cardAction.verb === CARD_VERBS.approve || cardAction.verb === CARD_VERBS.retry) {
        const data = parseApproveButton(cardAction.data);
        if (!data.alertKey && !data.code) {
          // A lookup card: no alert, no card to re-render; the answer is one line.
          if (cardAction.verb !== CARD_VERBS.approve) throw new AppError('INPUT_INVALID', 'Look the person up again to retry.');
          const approval = await approvePerson(data, cardAction, turn, correlationId);
          const votes = await store.listApprovalVotes(approval.id);
          const line = `${actionLabel(approval.action)} for ${targetLabel(parseActionTarget(approval.target))}: ${stateLine(approval, votes, { paused: (await cap.pausedState()) !== undefined, ttlMinutes: settings.ttlMinutes })}`;
          return { kind: 'message', text: line };
        }
        const run = cardAction.verb === CARD_VERBS.approve ? approve : retry;
        const { approval, record } = await run(data, data.action, data.target, turn.actor, correlationId);
        const votes = await store.listApprovalVotes(approval.id);
        const line = `${actionLabel(approval.action)}: ${stateLine(approval, votes, { paused: (await cap.pausedState()) !== undefined, ttlMinutes: settings.ttlMinutes })}`;
        // Everyone else sees the new state too (the invoke answer only reaches the clicker).
        if (cardAction.via === 'execute') announce(record.key, line);
        return await cardOutcome(record, line);
      }
      if (cardAction.verb === CARD_VERBS.deny) {
        const ref = parseAlertRef(cardAction.data);
        const record = await loadAlert(ref);
        const denied = await denyAlert(record, turn.actor, ref.reason, correlationId);
        const line = denied.length > 0 ? deniedText(turn.actor, denied, ref.reason) : 'Nothing was left to deny.';
        announce(record.key, line, denied.length > 0 ? line : undefined);
        return await cardOutcome(record, line);
      }
      return { kind: 'message', text: 'This button is not known to the bot.' };
    } catch (error) {
      const text = explain(error, clog);
      if (cardAction.via === 'submit') {
        // A Submit answer would be posted in the channel: say it privately instead, keep the card.
        await turn.replyPrivately({ text });
        const ref = cardAction.data;
        const record = await store.getAlertByKey(typeof ref.alertKey === 'string' ? ref.alertKey : '').catch(() => undefined);
        if (record) return cardOutcome(record, undefined);
        // No card to restore (a lookup card): nothing else may go to the conversation.
        return { kind: 'answered', text };
      }
      return { kind: 'message', text };
    }
  }

  async function approveByCode(code: string, choice: string | undefined, turn: ChatTurn): Promise<string> {
    const correlationId = randomUUID();
    const byCode = await store.getApprovalByCode(code);
    let approval: Approval;
    if (byCode) {
      // The code names one approval (an alert's or a lookup card's): the vote goes to that row,
      // wherever it is typed. It was validated when it was requested; the vote only counts while
      // it is pending (and not expired), like a click.
      await requireApprover(turn.actor, 'approve actions', { ...(byCode.alertKey ? { alertKey: byCode.alertKey } : {}), approvalId: byCode.id }, correlationId, byCode.action);
      rememberTeamsId(turn.actor);
      approval = await vote(byCode, turn.actor, correlationId);
    } else {
      const record = await loadAlert({ code });
      const open = proposalsOf(record);
      const picked = pickProposal(open, choice);
      if (!picked) {
        const options = open.map((p, i) => `${i + 1}. ${actionLabel(p.action)} for ${p.targetLabel}: approve ${record.code} ${i + 1}`);
        return open.length === 0 ? 'No actions are offered on that alert.' : `Which one?\n\n${options.join('\n\n')}`;
      }
      approval = (await approve({ alertKey: record.key }, picked.action, picked.target, turn.actor, correlationId)).approval;
    }
    const votes = await store.listApprovalVotes(approval.id);
    const line = `${actionLabel(approval.action)} for ${targetLabel(parseActionTarget(approval.target))}: ${stateLine(approval, votes, { paused: (await cap.pausedState()) !== undefined, ttlMinutes: settings.ttlMinutes })}`;
    announce(approval.alertKey, line);
    return line;
  }

  async function denyByCode(code: string, reason: string | undefined, turn: ChatTurn): Promise<string> {
    const correlationId = randomUUID();
    const byCode = await store.getApprovalByCode(code);
    let denied: Approval[];
    let alertKey: string | undefined;
    if (byCode) {
      alertKey = byCode.alertKey;
      await requireApprover(turn.actor, 'deny actions', { alertKey: byCode.alertKey, approvalId: byCode.id }, correlationId, byCode.action);
      denied = (await denyApproval(byCode, turn.actor, reason, correlationId)) ? [byCode] : [];
    } else {
      const record = await loadAlert({ code });
      alertKey = record.key;
      denied = await denyAlert(record, turn.actor, reason, correlationId);
    }
    if (denied.length === 0) return 'Nothing was left to deny.';
    const text = deniedText(turn.actor, denied, reason);
    announce(alertKey, text, text);
    return text;
  }

  async function resume(turn: ChatTurn): Promise<string> {
    const correlationId = randomUUID();
    await requireApprover(turn.actor, 'lift the execution pause', {}, correlationId);
    const wasPaused = await cap.resume(approverIdOf(turn.actor), now());
    await audit({ actor: approverIdOf(turn.actor), action: 'execution.resumed', outcome: 'info', correlationId, details: { name: turn.actor.name, wasPaused } });
    const waiting = await store.listApprovalsInState('approved');
    for (const approval of waiting) {
      const votes = await store.listApprovalVotes(approval.id);
      const last = votes.at(-1);
      await start(approval.id, last ? recipientOf(last.approverId, last.approverName) : undefined, correlationId);
    }
    return wasPaused ? `Execution resumed by ${turn.actor.name}; ${waiting.length} approved action(s) started.` : 'Execution was not paused.';
  }

  async function onCommand(text: string, turn: ChatTurn): Promise<boolean> {
    let answer: string;
    const clog = log.child({ command: text.split(/\s+/)[0], actor: turn.actor.aadObjectId });
    try {
      const command = parseApprovalCommand(text);
      if (!command) return false;
      if (command.kind === 'approve') answer = await approveByCode(command.code, command.choice, turn);
      else if (command.kind === 'deny') answer = await denyByCode(command.code, command.reason, turn);
      else if (command.kind === 'resume') answer = await resume(turn);
      else {
        const pending = await store.listPendingApprovals();
        answer = pending.length === 0 ? 'No approvals are waiting.' : pending.map((a) => `${a.code}: ${actionLabel(a.action)} for ${targetLabel(parseActionTarget(a.target))}`).join('\n\n');
      }
    } catch (error) {
      const message = explain(error, clog);
      await turn.replyPrivately({ text: message });
      return true;
    }
    await turn.reply({ text: chatSafe(answer) });
    return true;
  }

  async function sweepExpired(): Promise<number> {
    const correlationId = randomUUID();
    const due = (await store.listPendingApprovals()).filter((a) => a.expiresAt.getTime() <= now().getTime());
    const alerts = new Set<string>();
    let count = 0;
    for (const approval of due) {
      if (await expire(approval, correlationId)) {
        count++;
        if (approval.alertKey) alerts.add(approval.alertKey);
      }
    }
    for (const alertKey of alerts) await updateCard(alertKey, `Expired: no decision within ${settings.ttlMinutes} min`).catch((error: unknown) => log.warn({ err: error, alertKey }, 'card update after expiry failed'));
    return count;
  }

  async function reconcile(options: { staleAfterMs?: number } = {}): Promise<number> {
    const staleAfterMs = options.staleAfterMs ?? runTimeoutMs + 30_000;
    const correlationId = randomUUID();
    const cutoff = now().getTime() - staleAfterMs;
    let settled = 0;
    for (const approval of await store.listApprovalsInState('running')) {
      // A live run renews its lease; taking it means the runner is gone (crashed or killed).
      if (runningHere.has(approval.id)) continue;
      const token = leaseToken('reconcile');
      if (!(await store.tryAcquireLease(runLease(approval.id), token, runLeaseMs, now()))) continue;
      try {
        if (await settleInterrupted(approval, token, correlationId)) settled++;
      } finally {
        await store.releaseLease(runLease(approval.id), token).catch(() => undefined);
      }
    }
    // Approved but never started (the process died in between): start them, unless paused.
    if (!(await cap.pausedState())) {
      for (const approval of await store.listApprovalsInState('approved')) {
        if (approval.updatedAt.getTime() > cutoff) continue;
        await start(approval.id, undefined, correlationId);
      }
    }
    return settled;
  }

  /** Reads an interrupted action's effect back and settles the row; reports it where it was asked for. */
  async function settleInterrupted(approval: Approval, token: string, correlationId: string): Promise<boolean> {
    {
      const alog = actionLog(approval, correlationId);
      const target = parseActionTarget(approval.target);
      let state: 'applied' | 'not-applied' | 'unknown' = 'unknown';
      try {
        state = await remediation.readBack(approval.action as ActionName, target, { log: alog, signal: AbortSignal.timeout(runTimeoutMs), ...(approval.startedAt ? { since: approval.startedAt } : {}) });
      } catch (error) {
        alog.warn({ err: error }, 'read-back failed during reconciliation');
      }
      const label = `${actionLabel(approval.action)} for ${targetLabel(target)}`;
      // The read-back may outlast the lease: settle only while still holding it.
      if (!(await stillHolds(approval.id, token))) return false;
      const won =
        state === 'applied'
          ? await store.transitionApproval(approval.id, 'running', 'succeeded', { result: { summary: `${label}: in place (confirmed after a restart)`, reconciled: true, dryRun: settings.dryRun }, finishedAt: now() })
          : await store.transitionApproval(approval.id, 'running', 'failed', {
              errorCode: 'INTERRUPTED',
              reason: state === 'not-applied' ? 'the bot stopped during the action and the directory shows it was not applied' : 'the bot stopped during the action and its effect could not be confirmed: check the account',
              finishedAt: now(),
            });
      if (!won) return false;
      await auditApproval(approval, correlationId, { actor: 'system', action: 'action.reconciled', outcome: state === 'applied' ? 'success' : 'failure', ...(state === 'applied' ? {} : { code: 'INTERRUPTED' }), details: { readBack: state } });
      alog.warn({ readBack: state }, 'reconciled an action interrupted by a restart');
      // Retry is a button on the alert's card; a lookup card has none (its request is asked afresh).
      const retry = approval.alertKey ? 'press Retry on the card' : 'look the person up again';
      const text =
        state === 'applied'
          ? `${label} was interrupted by a bot restart; the directory shows it is in place (approved by ${approval.decidedBy ?? 'unknown'}).`
          : state === 'not-applied'
            ? `${label} was interrupted by a bot restart and is NOT in place. To run it, ${retry}.`
            : `${label} was interrupted by a bot restart and could not be confirmed complete: it may be only partly in place. Check the account; to finish it, ${retry}.`;
      try {
        if (approval.alertKey) await updateCard(approval.alertKey, text);
        await replyFor(approval, text);
      } catch (error) {
        alog.warn({ err: error }, 'could not report reconciliation in the thread');
      }
      return true;
    }
  }

  return {
    async onCardAction(action, turn) {
      const outcome = await onCardAction(action, turn);
      // Cards escape at render; a message answer (a Submit's one goes to the conversation) here.
      return outcome.kind === 'card' ? outcome : { ...outcome, text: chatSafe(outcome.text) };
    },
    onCommand,
    approveByCode: async (code, choice, turn) => chatSafe(await approveByCode(code, choice, turn)),
    denyByCode: async (code, reason, turn) => chatSafe(await denyByCode(code, reason, turn)),
    resume,
    listPending: () => store.listPendingApprovals(),
    sweepExpired,
    reconcile,
    renderCard,
    async idle() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}

/**
 * Text for a chat message (thread reply, command answer) built around names, deny reasons and
 * error messages from people, alerts and directories: each line through the cards' `plain()`
 * (markdown escaped, so `[x](https://evil)` stays text; control characters gone).
 */
function chatSafe(text: string): string {
  return text
    .split('\n')
    .map((line) => plain(line, MAX_CHAT_LINE))
    .join('\n');
}

/**
 * Who voted / acted, as stored and compared: the Entra object id, lower-case (Teams and Graph may
 * spell a GUID in either case, and one person must never count twice).
 */
function approverIdOf(actor: Actor): string {
  return (actor.aadObjectId ?? actor.id).trim().toLowerCase();
}

function pickProposal(proposals: readonly ProposedAction[], choice: string | undefined): ProposedAction | undefined {
  if (!choice) return proposals.length === 1 ? proposals[0] : undefined;
  const index = Number(choice);
  if (Number.isInteger(index) && index >= 1 && index <= proposals.length) return proposals[index - 1];
  const byName = proposals.filter((p) => p.action === choice.trim().toLowerCase());
  return byName.length === 1 ? byName[0] : undefined;
}
