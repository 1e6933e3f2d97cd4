import type { ActionName } from '../actions/action-names.ts';
import type { Actor } from '../domain/ports/chat.ts';
import { AppError, errorCode, isAppError } from '../domain/errors.ts';
import type { ActionTarget, TargetInspection } from '../domain/remediation.ts';
import type { AuditEntry } from '../domain/ports/audit-log.ts';
import { approverIdOf, audit, type ApprovalContext } from './approval-context.ts';
import { actionLabel } from '../cards/approval-lines.ts';
import { targetLabel } from './approval-target.ts';
import { decideGuardRails, matchesAny } from './guard-rails.ts';
import { inSpan, setSpanAttributes } from '../shared/telemetry.ts';

/**
 * The gate every decision passes, whatever the way in (alert card, Submit fallback, lookup card,
 * typed command, Retry, Undo, resume), at vote time and again right before the action runs:
 *
 * 1. the clicker is an approver (from the activity's identity, never card data);
 * 2. the action and target are ones the bot itself offered (see offers.ts);
 * 3. the actor is not the target (the same person across AD, Entra and Okta identities);
 * 4. the guard rails, re-run against the target as it is NOW (privileged, protected, service
 *    account), decide how many approvers it needs, or refuse;
 * 5. the approval has not expired.
 *
 * The hourly cap and dry run are applied where the action starts (run-action.ts).
 */
export type GateVerdict = { kind: 'allow'; requiredApprovals: number; privileged: boolean; inspection: TargetInspection } | { kind: 'refuse'; reason: string; inspection: TargetInspection };

/** 1. Fails closed: when the check cannot answer, the answer is no, and the person is told why. */
export function requireApprover(ctx: ApprovalContext, actor: Actor, what: string, context: Partial<AuditEntry>, correlationId: string, action?: string): Promise<void> {
  return inSpan('approval.gate.approver', { 'incident.action': action }, () => requireApproverNow(ctx, actor, what, context, correlationId, action));
}

async function requireApproverNow(ctx: ApprovalContext, actor: Actor, what: string, context: Partial<AuditEntry>, correlationId: string, action?: string): Promise<void> {
  let allowed = false;
  let code: string | undefined;
  try {
    allowed = await ctx.deps.approvers.isApprover(actor, { log: ctx.log });
  } catch (error) {
    code = errorCode(error);
    ctx.log.warn({ err: error, actor: actor.aadObjectId }, 'approver check failed');
  }
  if (allowed) return;
  await audit(ctx, { actor: approverIdOf(actor), action: 'approval.unauthorized', outcome: 'refused', correlationId, details: { attempted: what, name: actor.name, ...(action ? { action } : {}) }, ...(code ? { code } : {}), ...context });
  throw new AppError(
    'NOT_AUTHORIZED',
    code ? 'Your approver rights could not be checked right now, so nothing was changed. Try again in a minute.' : `You are not an approver, so you cannot ${what}. Nothing was changed.`,
  );
}

/** Looks at the target as it is now; an account that cannot be checked is not approved (fail closed). */
export async function inspectTarget(ctx: ApprovalContext, action: ActionName, target: ActionTarget, correlationId: string): Promise<TargetInspection> {
  const label = targetLabel(target);
  if (!ctx.deps.remediation.supports(action)) throw new AppError('INPUT_INVALID', `${actionLabel(action)} is not configured in this deployment.`);
  const inspectLog = ctx.log.child({ action, target: target.accountKey, correlationId });
  try {
    return await ctx.deps.remediation.inspect(action, target, { log: inspectLog, signal: AbortSignal.timeout(ctx.inspectTimeoutMs) });
  } catch (error) {
    inspectLog.warn({ err: error }, 'target inspection failed');
    throw new AppError(isAppError(error) ? error.code : 'DIRECTORY_UNAVAILABLE', `Could not check ${label} before approving: ${isAppError(error) ? error.message : 'the directory did not answer'}. Nothing was changed.`, {
      cause: error,
    });
  }
}

/** 4. The guard rails on a fresh inspection: how many approvers, or a refusal with the reason. */
export function guard(ctx: ApprovalContext, action: ActionName, target: ActionTarget, policyApprovals: number, correlationId: string): Promise<GateVerdict> {
  return inSpan('approval.gate', { 'incident.action': action }, async (span) => {
    const verdict = await guardRails(ctx, action, target, policyApprovals, correlationId);
    setSpanAttributes(span, { 'incident.outcome': verdict.kind });
    return verdict;
  });
}

async function guardRails(ctx: ApprovalContext, action: ActionName, target: ActionTarget, policyApprovals: number, correlationId: string): Promise<GateVerdict> {
  const inspection = await inspectTarget(ctx, action, target, correlationId);
  const decision = decideGuardRails(action, target, inspection, policyApprovals, ctx.settings, targetLabel(target));
  if (decision.kind === 'refuse') return { kind: 'refuse', reason: decision.reason, inspection };
  // Remembered on the approval so that its undo is held to at least two approvers.
  const privileged = inspection.privileged || matchesAny(target, ctx.settings.protectedAccounts, inspection.identities ?? []) !== undefined;
  return { kind: 'allow', requiredApprovals: decision.requiredApprovals, privileged, inspection };
}

/**
 * 3. Nobody approves an action on their own account: the actor's Entra object id against the
 * target's and every identity the directories found for it (an AD account's Entra twin included).
 */
export function requireNotSelf(actor: Actor, target: ActionTarget, inspection: TargetInspection | undefined): void {
  const me = actor.aadObjectId?.trim().toLowerCase();
  if (!me) return;
  const ids = [target.entraObjectId, ...(inspection?.identities ?? []).map((identity) => identity.entraObjectId)];
  if (ids.some((id) => id?.trim().toLowerCase() === me)) {
    throw new AppError('NOT_AUTHORIZED', 'You cannot approve an action on your own account; another approver must decide. Nothing was changed.');
  }
}

/**
 * 3, for a deny: a deny is a decision like a vote, so nobody denies about their own account (a
 * compromised approver would stop their own containment for good: a denied action is never asked
 * again on that alert). The target as the directories see it now; when that cannot be checked,
 * nothing is denied (fail closed).
 */
export async function requireNotOwnAccount(ctx: ApprovalContext, actor: Actor, action: ActionName, target: ActionTarget, correlationId: string): Promise<void> {
  if (!actor.aadObjectId) return;
  requireNotSelf(actor, target, undefined);
  const inspection = await inspectTarget(ctx, action, target, correlationId).catch((error: unknown) => {
    throw new AppError(isAppError(error) ? error.code : 'DIRECTORY_UNAVAILABLE', `Could not check whose account ${targetLabel(target)} is before denying, so nothing was denied. Try again in a minute.`, { cause: error });
  });
  requireNotSelf(actor, target, inspection);
}

/** 5. */
export function isExpired(ctx: ApprovalContext, approval: { expiresAt: Date }): boolean {
  return approval.expiresAt.getTime() <= ctx.now().getTime();
}
