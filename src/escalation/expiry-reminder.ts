import { plain } from '../cards/alert-card.ts';
import { actionLabel } from '../cards/approval-lines.ts';
import { auditEscalation, type EscalationContext } from './escalation-context.ts';
import { withMentions } from './reminder.ts';

/**
 * "Remind approvers before a pending approval expires" (ESCALATION_POLICY remindBeforeExpiryMinutes):
 * one reply in the alert's thread per approval and round, once it is that close to expiring,
 * @mentioning the configured on-call people and tags (the approvers are a group the bot cannot
 * @mention as such). The insert of the reminder row is the once-only claim across instances; a
 * reply that fails after it is not retried (the approval expires soon anyway, and says so).
 */
export async function remindBeforeExpiry(ctx: EscalationContext): Promise<number> {
  const minutes = ctx.policy.remindBeforeExpiryMinutes;
  if (minutes === undefined) return 0;
  const now = ctx.now();
  const horizon = now.getTime() + minutes * 60_000;
  let sent = 0;
  for (const approval of await ctx.store.listPendingApprovals()) {
    if (!approval.alertKey || approval.expiresAt.getTime() > horizon || approval.expiresAt.getTime() <= now.getTime()) continue;
    const record = await ctx.store.getAlertByKey(approval.alertKey);
    if (!record?.card) continue;
    const channel = await ctx.deps.channelFor(record.card);
    if (!channel || !(await ctx.store.claimExpiryReminder(approval.id, approval.round, now))) continue;
    const left = Math.max(1, Math.round((approval.expiresAt.getTime() - now.getTime()) / 60_000));
    const line = `Approvers: ${actionLabel(approval.action)} (code ${plain(approval.code, 20)}) on ${plain(record.alert.title, 100)} expires in ${left} minutes without enough approvals.`;
    try {
      const thread = { channel, conversationId: record.card.conversationId, threadConversationId: record.card.threadConversationId, rootActivityId: record.card.activityId };
      await ctx.deps.messenger.reply(thread, withMentions(ctx.policy.mention, line));
      sent += 1;
      await auditEscalation(ctx, { action: 'approval.expiry-reminded', alertKey: record.key, approvalId: approval.id, outcome: 'success', details: { round: approval.round, expiresAt: approval.expiresAt.toISOString() } });
    } catch (error) {
      ctx.log.warn({ err: error, approval: approval.id }, 'the reminder before expiry could not be posted');
    }
  }
  return sent;
}
