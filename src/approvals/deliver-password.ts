import { renderPasswordMessage } from '../cards/password-card.ts';
import { errorCode } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { auditApproval, type ApprovalContext } from './approval-context.ts';
import type { PrivateRecipient } from '../domain/ports/private-messenger.ts';
import { lookupCardOf } from './announce.ts';
import { parseActionTarget, targetLabel } from './approval-target.ts';

/**
 * The generated password goes to the approver whose vote completed the round that ran the reset,
 * in a 1:1 chat, behind a reveal; or to nobody. Never to a channel, a log, a trace or the audit.
 * Returns the sentence the thread gets about it (without the password).
 */
export async function deliverPassword(ctx: ApprovalContext, approval: Approval, password: string, approver: PrivateRecipient | undefined, alog: Logger, correlationId: string): Promise<string> {
  const label = targetLabel(parseActionTarget(approval.target));
  if (ctx.settings.tempPasswordDelivery === 'none') return ' The temporary password is not shown to anyone (TEMP_PASSWORD_DELIVERY=none).';
  const voters = new Set((await ctx.store.listApprovalVotes(approval.id, approval.round)).map((vote) => vote.approverId));
  const record = approval.alertKey ? await ctx.store.getAlertByKey(approval.alertKey) : undefined;
  const via = record?.card ? await ctx.deps.channelFor(record.card) : lookupCardOf(approval)?.channel;
  if (!ctx.deps.privateMessenger || !approver || !voters.has(approver.aadObjectId) || !via) {
    alog.warn('temporary password not delivered: no approver of this round with a private channel');
    return ' The temporary password could not be sent privately; reset it again to get a new one.';
  }
  try {
    await ctx.deps.privateMessenger.sendPrivate(approver, renderPasswordMessage(label, password), via);
    await auditApproval(ctx, approval, correlationId, { actor: approver.aadObjectId, action: 'password.delivered', outcome: 'success', details: { via: 'private-chat' } });
    return ` The temporary password was sent privately to ${approver.name}.`;
  } catch (error) {
    const code = errorCode(error);
    alog.warn({ code }, 'temporary password delivery failed');
    await auditApproval(ctx, approval, correlationId, { actor: approver.aadObjectId, action: 'password.delivered', outcome: 'failure', code });
    return ` The temporary password could not be sent privately to ${approver.name}; reset it again to get a new one.`;
  }
}
