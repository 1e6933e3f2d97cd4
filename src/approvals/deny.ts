import type { Actor } from '../domain/ports/chat.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { actionLabel } from '../cards/approval-lines.ts';
import { approverIdOf, auditApproval, writeBack, type ApprovalContext } from './approval-context.ts';
import { deniedComment } from '../writeback/comments.ts';
import { actionTargetOf, approvalIdFor, findAccount, parseActionTarget, targetLabel } from './approval-target.ts';
import { requireApprover, requireNotOwnAccount } from './gate.ts';
import { proposalsOf } from './offers.ts';
import { insertApproval, UNREACHABLE_APPROVALS } from './request-approval.ts';

/** Deny: an approver stops what is still open; recorded with who and why. Nothing runs afterwards. */
export async function denyApproval(ctx: ApprovalContext, approval: Approval, actor: Actor, reason: string | undefined, correlationId: string): Promise<boolean> {
  const won = await ctx.store.transitionApproval(approval.id, 'pending', 'denied', { decidedBy: actor.name, ...(reason ? { reason } : {}) });
  if (won) await auditApproval(ctx, approval, correlationId, { actor: approverIdOf(actor), action: 'approval.denied', outcome: 'denied', details: { name: actor.name, reason } });
  return won;
}


/** Deny on the alert: every action still open on it (pending, or offered and not yet requested). */
export async function denyAlert(ctx: ApprovalContext, record: AlertRecord, actor: Actor, reason: string | undefined, correlationId: string): Promise<Approval[]> {
  await requireApprover(ctx, actor, 'deny actions', { alertKey: record.key }, correlationId);
  const checked = new Set<string>();
  for (const proposal of proposalsOf(ctx, record)) {
    const account = findAccount(record.alert.accounts, proposal.target);
    if (!account || checked.has(proposal.target)) continue;
    checked.add(proposal.target);
    await requireNotOwnAccount(ctx, actor, proposal.action, actionTargetOf(account, proposal.target), correlationId);
  }
  const denied: Approval[] = [];
  for (const proposal of proposalsOf(ctx, record)) {
    const account = findAccount(record.alert.accounts, proposal.target);
    if (!account) continue;
    const id = approvalIdFor(record.key, proposal.action, proposal.target);
    // A row made only to record the denial can never collect enough votes to run.
    const approval =
      (await ctx.store.getApproval(id)) ??
      (await insertApproval(ctx, { id, alertKey: record.key, action: proposal.action, target: actionTargetOf(account, proposal.target), offered: { scopeKey: record.key, policyApprovals: proposal.requiredApprovals }, actor }, UNREACHABLE_APPROVALS)).approval;
    if (approval.state === 'pending' && (await denyApproval(ctx, approval, actor, reason, correlationId))) denied.push(approval);
  }
  await writeBackDenied(ctx, record.key, denied, actor, reason);
  return denied;
}

/** One comment on the Defender alert for what one deny stopped, with its reason. */
export async function writeBackDenied(ctx: ApprovalContext, alertKey: string | undefined, denied: readonly Approval[], actor: Actor, reason: string | undefined): Promise<void> {
  if (denied.length === 0) return;
  const what = denied.map((a) => `${actionLabel(a.action)} for ${targetLabel(parseActionTarget(a.target))}`).join('; ');
  await writeBack(ctx, alertKey, { eventId: `deny:${denied.map((a) => `${a.id}:r${a.round}`).join(',')}`, comment: deniedComment(what, actor.name, reason, ctx.now()) });
}

export function deniedText(actor: Actor, denied: readonly Approval[], reason: string | undefined): string {
  const what = denied.map((a) => `${actionLabel(a.action)} for ${targetLabel(parseActionTarget(a.target))}`).join('; ');
  return `Denied by ${actor.name}${reason ? `: ${reason}` : ''} (${what}).`;
}
