import type { ActionName } from '../actions/action-names.ts';
import type { Actor } from '../domain/ports/chat.ts';
import { AppError } from '../domain/errors.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { approverIdOf, auditApproval, type ApprovalContext } from './approval-context.ts';
import { parseActionTarget } from './approval-target.ts';
import { castVote } from './cast-vote.ts';
import { guard, requireApprover, requireNotSelf } from './gate.ts';
import type { Offered } from './offers.ts';

/**
 * Retry after a failure opens a NEW ROUND: the full number of distinct approvers again, counted
 * afresh (the failed round's votes do not carry over), with a fresh expiry, and the guard rails
 * re-run on the account as it is now (it may have become privileged since). The retrier's click is
 * the first vote of the new round; the temporary password of a reset goes only to a voter of the
 * round that ran it.
 */
export async function retry(ctx: ApprovalContext, approval: Approval | undefined, offered: Offered, actor: Actor, correlationId: string): Promise<Approval> {
  if (!approval) throw new AppError('NOT_FOUND', 'There is nothing to retry for this action.');
  await requireApprover(ctx, actor, 'retry actions', { ...(approval.alertKey ? { alertKey: approval.alertKey } : {}), approvalId: approval.id }, correlationId, approval.action);
  if (approval.state !== 'failed') return approval;
  const target = parseActionTarget(approval.target);
  const verdict = await guard(ctx, approval.action as ActionName, target, offered.policyApprovals, correlationId);
  if (verdict.kind === 'refuse') {
    await auditApproval(ctx, approval, correlationId, { actor: approverIdOf(actor), action: 'approval.retry-refused', outcome: 'refused', details: { reason: verdict.reason } });
    throw new AppError('ACTION_NOT_APPLICABLE', `${verdict.reason} Nothing was changed.`);
  }
  requireNotSelf(actor, target, verdict.inspection);
  const reopened = await ctx.store.reopenApproval(approval.id, 'failed', {
    requiredApprovals: verdict.requiredApprovals,
    expiresAt: new Date(ctx.now().getTime() + ctx.settings.ttlMinutes * 60_000),
    requestedBy: approverIdOf(actor),
  });
  const current = (await ctx.store.getApproval(approval.id)) ?? approval;
  if (!reopened) return current;
  await auditApproval(ctx, current, correlationId, { actor: approverIdOf(actor), action: 'approval.retry', outcome: 'info', details: { name: actor.name, previousError: approval.errorCode, requiredApprovals: verdict.requiredApprovals } });
  return castVote(ctx, current, actor, correlationId, verdict);
}
