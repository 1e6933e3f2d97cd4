import type { ActionName } from '../actions/action-names.ts';
import type { Actor } from '../domain/ports/chat.ts';
import { AppError, isAppError } from '../domain/errors.ts';
import type { ActionTarget } from '../domain/remediation.ts';
import { generateApprovalCode } from '../store/reference-code.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { approverIdOf, auditApproval, type ApprovalContext } from './approval-context.ts';
import { guard, type GateVerdict } from './gate.ts';
import type { Offered } from './offers.ts';

/** No vote count reaches this: rows created only to be refused or denied can never run. */
export const UNREACHABLE_APPROVALS = 1_000_000;
const CODE_ATTEMPTS = 5;

export interface ApprovalRequest {
  id: string;
  alertKey?: string;
  action: ActionName;
  /** From the STORED alert or the server-side lookup, never from card data. */
  target: ActionTarget;
  offered: Offered;
  actor: Actor;
  /** Stored with the target (e.g. where a lookup card lives). */
  extra?: Record<string, unknown>;
}

/**
 * One approval per (alert or lookup card, action, target). The first request inspects the target
 * and applies the guard rails: the row is created with the count they ask for, or created refused
 * with their reason. Returns the row and, when this call inspected, the gate's verdict.
 */
export async function requestApproval(ctx: ApprovalContext, request: ApprovalRequest, correlationId: string): Promise<{ approval: Approval; verdict?: GateVerdict }> {
  const existing = await ctx.store.getApproval(request.id);
  if (existing) return { approval: existing };
  const verdict = await guard(ctx, request.action, request.target, request.offered.policyApprovals, correlationId);
  const required = verdict.kind === 'allow' ? verdict.requiredApprovals : UNREACHABLE_APPROVALS;
  const extra = { ...request.extra, ...(verdict.kind === 'allow' && verdict.privileged ? { guard: 'privileged' } : {}) };
  const { approval: created, inserted } = await insertApproval(ctx, { ...request, extra }, required);
  if (!inserted) return { approval: created };
  await auditApproval(ctx, created, correlationId, {
    actor: created.requestedBy,
    action: 'approval.requested',
    outcome: 'info',
    details: { requiredApprovals: verdict.kind === 'allow' ? required : undefined, privileged: verdict.inspection.privileged, reasons: verdict.inspection.reasons, ...(request.offered.undoing ? { undoes: request.offered.undoing.id } : {}) },
  });
  if (verdict.kind === 'refuse') await refuse(ctx, created, verdict.reason, correlationId);
  return { approval: (await ctx.store.getApproval(request.id)) ?? created, verdict };
}

/** pending (or approved) → refused by the guard rails, with the reason, audited. */
export async function refuse(ctx: ApprovalContext, approval: Approval, reason: string, correlationId: string): Promise<boolean> {
  const won = await ctx.store.transitionApproval(approval.id, ['pending', 'approved'], 'refused', { decidedBy: 'guard rails', reason });
  if (won) {
    await auditApproval(ctx, approval, correlationId, { actor: approval.requestedBy, action: 'approval.refused', outcome: 'refused', details: { reason } });
    ctx.log.info({ approval: approval.id, reason }, 'approval refused by guard rails');
  }
  return won;
}

/** Inserts the row; a concurrent first click inserting the same id wins instead (CONFLICT → read it). */
export async function insertApproval(ctx: ApprovalContext, request: ApprovalRequest, required: number): Promise<{ approval: Approval; inserted: boolean }> {
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    try {
      const approval = await ctx.store.createApproval({
        id: request.id,
        ...(request.alertKey ? { alertKey: request.alertKey } : {}),
        action: request.action,
        target: { ...request.target, ...request.extra },
        code: generateApprovalCode(),
        requiredApprovals: required,
        requestedBy: approverIdOf(request.actor),
        requestedAt: ctx.now(),
        expiresAt: new Date(ctx.now().getTime() + ctx.settings.ttlMinutes * 60_000),
      });
      return { approval, inserted: true };
    } catch (error) {
      if (!(isAppError(error) && error.code === 'CONFLICT')) throw error;
      const winner = await ctx.store.getApproval(request.id);
      if (winner) return { approval: winner, inserted: false };
      // Otherwise the random code collided with another approval's: draw again.
    }
  }
  throw new AppError('CONFLICT', 'Could not allocate a reference code for this approval; try again.');
}
