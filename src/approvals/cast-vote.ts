import type { ActionName } from '../actions/action-names.ts';
import { names } from '../cards/approval-lines.ts';
import type { Actor } from '../domain/ports/chat.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { actionLog, approverIdOf, auditApproval, writeBack, type ApprovalContext } from './approval-context.ts';
import { actionLabel } from '../cards/approval-lines.ts';
import { approvedComment } from '../writeback/comments.ts';
import type { PrivateRecipient } from '../domain/ports/private-messenger.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';
import { expire } from './expire.ts';
import { guard, isExpired, requireNotSelf, type GateVerdict } from './gate.ts';
import { refuse } from './request-approval.ts';
import { start } from './run-action.ts';
import { alertLinks, inSpan } from '../shared/telemetry.ts';

/**
 * One approver's vote, in the approval's current round, through the gate: not expired, the guard
 * rails re-run against the target as it is now (they may raise the count, or refuse), not the
 * voter's own account. The vote that completes the round moves it to approved and starts the run;
 * its voter is "the approving analyst" who may receive a temporary password.
 *
 * `verdict` is the gate's answer when the caller inspected the target a moment ago (a request that
 * just created the row); otherwise the target is inspected here.
 */
export function castVote(ctx: ApprovalContext, approval: Approval, actor: Actor, correlationId: string, verdict?: GateVerdict): Promise<Approval> {
  const attributes = { 'incident.approval.id': approval.id, 'incident.action': approval.action, 'incident.alert.key': approval.alertKey };
  return inSpan('approval.vote', attributes, () => countVote(ctx, approval, actor, correlationId, verdict), { links: alertLinks(approval.alertKey) });
}

async function countVote(ctx: ApprovalContext, approval: Approval, actor: Actor, correlationId: string, verdict?: GateVerdict): Promise<Approval> {
  if (approval.state !== 'pending') return approval;
  const reread = async () => (await ctx.store.getApproval(approval.id)) ?? approval;
  if (isExpired(ctx, approval)) {
    await expire(ctx, approval, correlationId);
    return reread();
  }
  const target = parseActionTarget(approval.target);
  const now = verdict ?? (await guard(ctx, approval.action as ActionName, target, approval.requiredApprovals, correlationId));
  if (now.kind === 'refuse') {
    await refuse(ctx, approval, now.reason, correlationId);
    return reread();
  }
  requireNotSelf(actor, target, now.inspection);
  let required = approval.requiredApprovals;
  if (now.requiredApprovals > required) {
    // The account became privileged since the request: the stricter count applies to this round.
    await ctx.store.transitionApproval(approval.id, 'pending', 'pending', { requiredApprovals: now.requiredApprovals });
    await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'approval.raised', outcome: 'info', details: { from: required, to: now.requiredApprovals, reasons: now.inspection.reasons } });
    required = now.requiredApprovals;
  }
  const approverId = approverIdOf(actor);
  rememberTeamsId(ctx, actor);
  const { added, votes } = await ctx.store.addApprovalVote(approval.id, approverId, actor.name, ctx.now(), approval.round);
  await auditApproval(ctx, approval, correlationId, { actor: approverId, action: added ? 'approval.vote' : 'approval.vote-repeated', outcome: 'info', details: { name: actor.name, votes: votes.length, required } });
  actionLog(ctx, approval, correlationId).info({ added, votes: votes.length, required, round: approval.round }, 'approval vote');
  if (votes.length < required) return reread();
  // The approvers are the first `required` votes; a vote racing in after the count was reached is
  // recorded but decides nothing.
  if (await ctx.store.transitionApproval(approval.id, 'pending', 'approved', { decidedBy: names(votes.slice(0, required)) })) {
    await auditApproval(ctx, approval, correlationId, { actor: approverId, action: 'approval.approved', outcome: 'success', details: { approvers: votes.map((v) => v.approverId) } });
    const what = `${actionLabel(approval.action)} for ${targetLabel(target)}`;
    await writeBack(ctx, approval.alertKey, { eventId: `${approval.id}:r${approval.round}:approved`, comment: approvedComment(what, names(votes.slice(0, required)), ctx.now()) });
    await start(ctx, approval.id, { aadObjectId: approverId, teamsId: actor.id, name: actor.name }, correlationId, { gateJustPassed: true });
  }
  return reread();
}

export function rememberTeamsId(ctx: ApprovalContext, actor: Actor): void {
  if (actor.aadObjectId) ctx.teamsIds.set(approverIdOf(actor), actor.id);
}

export function recipientOf(ctx: ApprovalContext, aadObjectId: string, name: string): PrivateRecipient {
  const teamsId = ctx.teamsIds.get(aadObjectId);
  return { aadObjectId, name, ...(teamsId ? { teamsId } : {}) };
}

/** The voter who completed the current round: who receives what the run hands back (a password). */
export async function lastVoterOf(ctx: ApprovalContext, approval: Approval): Promise<PrivateRecipient | undefined> {
  const last = (await ctx.store.listApprovalVotes(approval.id, approval.round)).at(-1);
  return last ? recipientOf(ctx, last.approverId, last.approverName) : undefined;
}
