import type { Approval } from '../domain/ports/approval-store.ts';
import { auditApproval, type ApprovalContext } from './approval-context.ts';
import { updateCard } from './announce.ts';

/**
 * Pending approvals, and approved ones that never started (held by the hourly cap), expire after
 * the TTL of their round: nothing old starts by surprise on a later `resume`.
 */
export async function expire(ctx: ApprovalContext, approval: Approval, correlationId: string): Promise<boolean> {
  const won = await ctx.store.transitionApproval(approval.id, ['pending', 'approved'], 'expired', { decidedBy: 'expiry' });
  if (won) await auditApproval(ctx, approval, correlationId, { actor: 'system', action: 'approval.expired', outcome: 'info', details: { ttlMinutes: ctx.settings.ttlMinutes, was: approval.state } });
  return won;
}

/** Expires what is due; updates each affected alert card once. Returns how many expired. */
export async function sweepExpired(ctx: ApprovalContext, correlationId: string): Promise<number> {
  const waiting = [...(await ctx.store.listApprovalsInState('pending')), ...(await ctx.store.listApprovalsInState('approved'))];
  const due = waiting.filter((a) => a.expiresAt.getTime() <= ctx.now().getTime());
  const alerts = new Set<string>();
  let count = 0;
  for (const approval of due) {
    if (await expire(ctx, approval, correlationId)) {
      count++;
      if (approval.alertKey) alerts.add(approval.alertKey);
    }
  }
  for (const alertKey of alerts) {
    await updateCard(ctx, alertKey, `Expired: no decision within ${ctx.settings.ttlMinutes} min`).catch((error: unknown) => ctx.log.warn({ err: error, alertKey }, 'card update after expiry failed'));
  }
  return count;
}
