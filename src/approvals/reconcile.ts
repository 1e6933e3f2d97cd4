import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionName } from '../actions/action-names.ts';
import { actionLabel } from '../cards/approval-lines.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { actionLog, auditApproval, leaseToken, runLease, writeBackResult, type ApprovalContext } from './approval-context.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';
import { replyFor, updateCardOf } from './announce.ts';
import { lastVoterOf } from './cast-vote.ts';
import { start, stillHolds } from './run-action.ts';
import { awaitingOf, confirmEffect } from './confirm-effect.ts';

/**
 * After a crash: approvals left `running` whose run lease lapsed (by the DATABASE's clock) belong
 * to a dead process. They are read back from the system and settled, never re-run. Before settling
 * someone else's run, the reconciler holds its lease for one whole lease lifetime (the stale
 * window): a run that was only slow notices at its next renewal that it lost the lease, and stops
 * before its next side effect. Approvals left `approved` (not paused) are started, through the gate.
 */
export async function reconcile(ctx: ApprovalContext, options: { staleAfterMs?: number }, correlationId: string): Promise<number> {
  const staleAfterMs = options.staleAfterMs ?? ctx.runTimeoutMs + 30_000;
  const running = (await ctx.store.listApprovalsInState('running')).filter((approval) => !ctx.runningHere.has(approval.id));
  const settled = await Promise.all(running.map((approval) => settleIfAbandoned(ctx, approval, correlationId)));
  if (!(await ctx.cap.pausedState())) {
    const cutoff = ctx.now().getTime() - staleAfterMs;
    for (const approval of await ctx.store.listApprovalsInState('approved')) {
      if (approval.updatedAt.getTime() > cutoff) continue;
      await start(ctx, approval.id, await lastVoterOf(ctx, approval), correlationId);
    }
  }
  // Requested effects nobody waits for any more (a restart, a dead instance): wait for them again.
  for (const approval of await ctx.store.listApprovalsAwaitingConfirmation()) {
    if (awaitingOf(approval)) confirmEffect(ctx, approval, correlationId);
  }
  return settled.filter(Boolean).length;
}

async function settleIfAbandoned(ctx: ApprovalContext, approval: Approval, correlationId: string): Promise<boolean> {
  const token = leaseToken(ctx, 'reconcile');
  const name = runLease(approval.id);
  if (!(await ctx.store.tryAcquireLease(name, token, ctx.runLeaseMs))) return false;
  try {
    // The stale window, renewing our own hold half-way so it never lapses while we wait.
    await sleep(Math.ceil(ctx.runLeaseMs / 2));
    if (!(await stillHolds(ctx, approval.id, token))) return false;
    await sleep(Math.ceil(ctx.runLeaseMs / 2));
    const current = await ctx.store.getApproval(approval.id);
    if (current?.state !== 'running') return false;
    return await settleInterrupted(ctx, current, token, correlationId);
  } finally {
    await ctx.store.releaseLease(name, token).catch(() => undefined);
  }
}

/** Reads an interrupted action's effect back and settles the row; reports it where it was asked for. */
async function settleInterrupted(ctx: ApprovalContext, approval: Approval, token: string, correlationId: string): Promise<boolean> {
  const alog = actionLog(ctx, approval, correlationId);
  const target = parseActionTarget(approval.target);
  let state: 'applied' | 'not-applied' | 'unknown' = 'unknown';
  try {
    state = await ctx.deps.remediation.readBack(approval.action as ActionName, target, { log: alog, signal: AbortSignal.timeout(ctx.runTimeoutMs), ...(approval.startedAt ? { since: approval.startedAt } : {}) });
  } catch (error) {
    alog.warn({ err: error }, 'read-back failed during reconciliation');
  }
  const label = `${actionLabel(approval.action)} for ${targetLabel(target)}`;
  // The read-back may outlast the lease: settle only while still holding it.
  if (!(await stillHolds(ctx, approval.id, token))) return false;
  const won =
    state === 'applied'
      ? await ctx.store.transitionApproval(approval.id, 'running', 'succeeded', { result: { summary: `${label}: in place (confirmed after a restart)`, reconciled: true, dryRun: ctx.settings.dryRun }, finishedAt: ctx.now() })
      : await ctx.store.transitionApproval(approval.id, 'running', 'failed', {
          errorCode: 'INTERRUPTED',
          reason: state === 'not-applied' ? 'the bot stopped during the action and the directory shows it was not applied' : 'the bot stopped during the action and its effect could not be confirmed: check the account',
          finishedAt: ctx.now(),
        });
  if (!won) return false;
  await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'action.reconciled', outcome: state === 'applied' ? 'success' : 'failure', ...(state === 'applied' ? {} : { code: 'INTERRUPTED' }), details: { readBack: state } });
  alog.warn({ readBack: state }, 'reconciled an action interrupted by a restart');
  // An executor that acts later (Defender for Identity) may have accepted it before the restart.
  const later = ctx.deps.remediation.describe?.(approval.action as ActionName) ? ' It may have been requested from Defender for Identity before the restart: check its Action center first.' : '';
  const retry = 'press Retry on the card (a new round of approvals)';
  const text =
    state === 'applied'
      ? `${label} was interrupted by a bot restart; the directory shows it is in place (approved by ${approval.decidedBy ?? 'unknown'}).`
      : state === 'not-applied'
        ? `${label} was interrupted by a bot restart and is NOT in place.${later} To run it, ${retry}.`
        : `${label} was interrupted by a bot restart and could not be confirmed complete: it may be only partly in place.${later} Check the account; to finish it, ${retry}.`;
  // The same event as a run that finished normally: whichever settled it writes it back once.
  await writeBackResult(ctx, approval, state === 'applied' ? 'succeeded' : 'failed', text);
  try {
    const settled = (await ctx.store.getApproval(approval.id)) ?? approval;
    await updateCardOf(ctx, settled, text);
    await replyFor(ctx, settled, text);
  } catch (error) {
    alog.warn({ err: error }, 'could not report reconciliation in the thread');
  }
  return true;
}
