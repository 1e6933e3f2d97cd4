import { isDestructive, type ActionName } from '../actions/action-names.ts';
import { actionLabel, seconds, successLine } from '../cards/approval-lines.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import { actionLog, auditApproval, background, leaseToken, runLease, writeBack, writeBackResult, type ApprovalContext } from './approval-context.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import type { PrivateRecipient } from '../domain/ports/private-messenger.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';
import { bothSettled, replyFor, updateCardOf } from './announce.ts';
import { awaitedOf, confirmEffect } from './confirm-effect.ts';
import { deliverPassword } from './deliver-password.ts';
import { expire } from './expire.ts';
import { guard, isExpired } from './gate.ts';
import { refuse } from './request-approval.ts';
import { traceRun } from './trace-run.ts';

/**
 * approved → running, then the run itself in the background: the clicker gets "running" at once,
 * everyone gets the result when it is there. Right before it starts, the gate is applied again
 * (expiry, guard rails on the target as it is now, the hourly cap): an approval that waited (the
 * cap, a restart) never runs against what it was not approved for.
 */
export async function start(ctx: ApprovalContext, id: string, approver: PrivateRecipient | undefined, correlationId: string, options: { gateJustPassed?: boolean } = {}): Promise<void> {
  if (ctx.runningHere.has(id)) return;
  ctx.runningHere.add(id);
  let handedOver = false;
  try {
    handedOver = await startHere(ctx, id, approver, correlationId, options.gateJustPassed === true);
  } finally {
    if (!handedOver) ctx.runningHere.delete(id);
  }
}

/**
 * The gate again, at execution time; false when the approval may not start (and says why). When the
 * vote that completed the approval ran the gate on a fresh inspection a moment ago, in this same
 * call, that inspection is the execution-time one (`gateJustPassed`); any later start (after the
 * cap, a restart, `resume`) inspects again.
 */
async function stillAllowed(ctx: ApprovalContext, id: string, correlationId: string, gateJustPassed: boolean): Promise<Approval | undefined> {
  const approval = await ctx.store.getApproval(id);
  if (!approval || approval.state !== 'approved') return undefined;
  if (isExpired(ctx, approval)) {
    if (await expire(ctx, approval, correlationId)) background(ctx, 'expired-notice', () => updateCardOf(ctx, approval, `Expired before it started: approvals last ${ctx.settings.ttlMinutes} min`));
    return undefined;
  }
  if (gateJustPassed) return approval;
  const verdict = await guard(ctx, approval.action as ActionName, parseActionTarget(approval.target), approval.requiredApprovals, correlationId).catch((error: unknown) => error as AppError);
  if (verdict instanceof Error) {
    // Fail closed: not checked, not started. It stays approved and the sweeper tries again.
    actionLog(ctx, approval, correlationId).warn({ err: verdict }, 'target could not be checked before the run; not started');
    return undefined;
  }
  if (verdict.kind === 'refuse') {
    if (await refuse(ctx, approval, verdict.reason, correlationId)) background(ctx, 'refused-notice', () => updateCardOf(ctx, approval, `Refused: ${verdict.reason}`));
    return undefined;
  }
  if (verdict.requiredApprovals > approval.requiredApprovals) {
    // Privileged since the votes were cast: back to pending for the stricter count.
    if (await ctx.store.transitionApproval(id, 'approved', 'pending', { requiredApprovals: verdict.requiredApprovals })) {
      await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'approval.raised', outcome: 'info', details: { from: approval.requiredApprovals, to: verdict.requiredApprovals, reasons: verdict.inspection.reasons } });
      background(ctx, 'raised-notice', () => updateCardOf(ctx, approval, `${actionLabel(approval.action)} now needs ${verdict.requiredApprovals} approvers: ${verdict.inspection.reasons.join(', ') || 'the account is privileged'}`));
    }
    return undefined;
  }
  return approval;
}

/** start() once this process is the only local starter of `id`; true when a run was handed to the background. */
async function startHere(ctx: ApprovalContext, id: string, approver: PrivateRecipient | undefined, correlationId: string, gateJustPassed: boolean): Promise<boolean> {
  const approval = await stillAllowed(ctx, id, correlationId, gateJustPassed);
  if (!approval) return false;
  const alog = actionLog(ctx, approval, correlationId);
  let slot: string | undefined;
  if (isDestructive(approval.action as ActionName)) {
    const outcome = await ctx.cap.take(ctx.now());
    if (outcome.kind !== 'taken') {
      if (outcome.kind === 'cap-reached') {
        await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'execution.paused', outcome: 'info', details: { maxActionsPerHour: ctx.settings.maxActionsPerHour } });
        alog.warn({ maxActionsPerHour: ctx.settings.maxActionsPerHour }, 'hourly cap reached: execution paused');
        const label = `${actionLabel(approval.action)} for ${targetLabel(parseActionTarget(approval.target))}`;
        background(ctx, 'cap-notice', () => replyFor(ctx, approval, `Execution paused: more than ${ctx.settings.maxActionsPerHour} destructive actions in an hour. ${label} waits until an approver types resume.`));
      }
      return false;
    }
    slot = outcome.slot;
  }
  // The run lease is taken BEFORE the row says running: a running row always has (had) a holder,
  // so the reconciler may treat a lapsed lease as a dead process, never as a run starting. Lease
  // times are the database's clock. The holder is a token of this run attempt.
  const token = leaseToken(ctx, 'run');
  const leased = await ctx.store.tryAcquireLease(runLease(id), token, ctx.runLeaseMs);
  const started = leased && (await ctx.store.transitionApproval(id, 'approved', 'running', { startedAt: ctx.now() }));
  if (!started) {
    if (leased) await ctx.store.releaseLease(runLease(id), token);
    if (slot) await ctx.cap.release(slot);
    return false;
  }
  // Defender: the alert is being worked on (enqueued; never waits for Graph).
  await writeBack(ctx, approval.alertKey, { eventId: `${id}:r${approval.round}:running`, update: { status: 'inProgress' } });
  background(ctx, 'execute', async () => {
    const lost = keepLease(ctx, id, token);
    try {
      await traceRun(approval, () => execute(ctx, id, approver, correlationId, { token, signal: lost.signal }));
    } finally {
      lost.stop();
      ctx.runningHere.delete(id);
      await ctx.store.releaseLease(runLease(id), token).catch(() => undefined);
    }
  });
  return true;
}

/**
 * Renews the run lease a third of its lifetime. A renewal refused (another instance took it: this
 * one looked dead) or one that FAILED (the store did not answer: this run can no longer prove it is
 * alive) aborts the run before its next side effect; nothing it does afterwards is written.
 */
function keepLease(ctx: ApprovalContext, id: string, token: string): { signal: AbortSignal; stop(): void } {
  const lost = new AbortController();
  const give = (why: string) => {
    if (lost.signal.aborted) return;
    ctx.log.warn({ approval: id, why }, 'run lease not renewed: aborting the run');
    lost.abort(new AppError('CONFLICT', 'The bot lost its hold on this action while it ran; it was stopped and is checked again.'));
  };
  const timer = setInterval(() => {
    ctx.store.renewLease(runLease(id), token, ctx.runLeaseMs).then(
      (held) => held || give('taken over'),
      (error: unknown) => give(`renewal failed: ${isAppError(error) ? error.code : 'error'}`),
    );
  }, Math.max(250, Math.floor(ctx.runLeaseMs / 3)));
  return { signal: lost.signal, stop: () => clearInterval(timer) };
}

/**
 * Whether `token` still holds the run lease of `id`, extending it for the final write: the
 * transition that follows happens well inside the renewed lifetime, so no other instance can
 * have taken the lease (and settled the row) in between.
 */
export async function stillHolds(ctx: ApprovalContext, id: string, token: string): Promise<boolean> {
  return ctx.store.renewLease(runLease(id), token, ctx.runLeaseMs).catch(() => false);
}

async function execute(ctx: ApprovalContext, id: string, approver: PrivateRecipient | undefined, correlationId: string, lease: { token: string; signal: AbortSignal }): Promise<void> {
  const approval = await ctx.store.getApproval(id);
  if (!approval || approval.state !== 'running') return;
  const alog = actionLog(ctx, approval, correlationId);
  const action = approval.action as ActionName;
  const target = parseActionTarget(approval.target);
  const { dryRun } = ctx.settings;
  await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.started', outcome: 'info', details: { dryRun, approvedBy: approval.decidedBy } });
  const began = performance.now();
  const startedAt = ctx.now();
  /** The lease was lost: another instance settles (or settled) the row; this run writes and says nothing. */
  const leaseLost = async (outcome: string): Promise<void> => {
    alog.warn({ outcome }, 'run lease lost: the result is left to the instance that takes it over');
    await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.lease-lost', outcome: 'info', details: { outcome } });
  };
  let threadText: string;
  let confirmAfter: (() => void) | undefined;
  try {
    if (lease.signal.aborted) throw lease.signal.reason;
    const result = await ctx.deps.remediation.run(action, target, { dryRun, log: alog, signal: AbortSignal.any([AbortSignal.timeout(ctx.runTimeoutMs), lease.signal]) });
    const durationMs = Math.round(performance.now() - began);
    if (lease.signal.aborted || !(await stillHolds(ctx, id, lease.token))) return await leaseLost('succeeded');
    // Accepted, not yet done (Defender for Identity): stored as awaited, said as "requested", then confirmed by reading it back.
    const awaiting = dryRun ? undefined : awaitedOf(result, startedAt);
    const stored = { summary: result.summary, details: result.details, durationMs, dryRun, approvedBy: approval.decidedBy, ...(awaiting ? { awaiting } : {}) };
    const won = await ctx.store.transitionApproval(id, 'running', 'succeeded', { result: stored, finishedAt: ctx.now() });
    await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.executed', outcome: 'success', details: { durationMs, dryRun, details: result.details, settled: won } });
    alog.info({ durationMs, dryRun, settled: won }, 'action succeeded');
    const done = (await ctx.store.getApproval(id)) ?? approval;
    threadText = successLine(done);
    if (result.temporaryPassword) threadText += await deliverPassword(ctx, done, result.temporaryPassword.reveal(), approver, alog, correlationId);
    if (awaiting) confirmAfter = () => confirmEffect(ctx, done, correlationId);
  } catch (error) {
    const failure = isAppError(error) ? error : new AppError('INTERNAL', 'The action failed unexpectedly.', { cause: error });
    const durationMs = Math.round(performance.now() - began);
    if (lease.signal.aborted || !(await stillHolds(ctx, id, lease.token))) return await leaseLost('failed');
    await ctx.store.transitionApproval(id, 'running', 'failed', { errorCode: failure.code, reason: failure.message, finishedAt: ctx.now() });
    await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.executed', outcome: 'failure', code: failure.code, details: { durationMs, message: failure.message, ...failure.details } });
    alog.warn({ code: failure.code, durationMs, err: isAppError(error) ? undefined : error }, 'action failed');
    const again = 'Press Retry on the card to ask for it again (a new round of approvals).';
    threadText = `${actionLabel(action)} for ${targetLabel(target)} failed: ${failure.message} (approved by ${approval.decidedBy ?? 'unknown'}, ${seconds(durationMs)}). ${again}`;
  }
  const done = (await ctx.store.getApproval(id)) ?? approval;
  const firstLine = threadText.split('\n')[0] ?? '';
  await writeBackResult(ctx, done, done.state === 'succeeded' ? 'succeeded' : 'failed', firstLine);
  // The card for everyone and the line in the thread go out together: neither waits for the other.
  await bothSettled(updateCardOf(ctx, done, firstLine), replyFor(ctx, done, threadText));
  confirmAfter?.();
}
