import { inSpan } from '../shared/telemetry.ts';
import { renderAlertMessage, type AlertCardState, type ApprovalView } from '../cards/alert-message.ts';
import { renderPersonActionsCard } from '../cards/person-actions-card.ts';
import type { ConversationReferenceJson, OutboundMessage, ThreadRef } from '../domain/ports/messenger.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval } from '../domain/ports/approval-store.ts';
import { background, chatSafe, type ApprovalContext } from './approval-context.ts';
import { ACTION_NAMES } from '../actions/action-names.ts';
import { approvalIdFor, parseActionTarget, targetLabel } from './approval-target.ts';
import { proposalsOf } from './offers.ts';
import { offerableProposals } from '../actions/offerable-proposals.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';

/**
 * Where the approvals write: only where a card lives. An alert's card at the location the notifier
 * stored when it posted it; a lookup card at the location recorded when the bot posted it (kept on
 * the approval). Never a location taken from a click's data.
 */
async function viewsOf(ctx: ApprovalContext, approvals: readonly Approval[]): Promise<ApprovalView[]> {
  const views: ApprovalView[] = [];
  for (const approval of approvals) views.push({ approval, votes: await ctx.store.listApprovalVotes(approval.id, approval.round) });
  return views;
}

export async function isPaused(ctx: ApprovalContext): Promise<boolean> {
  return (await ctx.cap.pausedState()) !== undefined;
}

/** The approvals' side of an alert card (the notifier renders with it). */
export async function cardState(ctx: ApprovalContext, alertKey: string): Promise<AlertCardState> {
  const escalation = await ctx.store.getEscalation(alertKey);
  const closure = await ctx.store.getAlertClosure(alertKey);
  const writeback = ctx.deps.writeback?.enabled ? await ctx.store.writebackStats(alertKey) : undefined;
  return {
    approvals: await viewsOf(ctx, await ctx.store.listApprovalsForAlert(alertKey)),
    paused: await isPaused(ctx),
    ...(escalation ? { escalation } : {}),
    ...(closure ? { closure } : {}),
    ...(writeback ? { writeback } : {}),
  };
}

export async function renderCard(ctx: ApprovalContext, alertKey: string, statusLine?: string): Promise<OutboundMessage | undefined> {
  const record = await ctx.store.getAlertByKey(alertKey);
  if (!record) return undefined;
  const state = await cardState(ctx, alertKey);
  return renderAlertMessage({
    record,
    proposals: await shownProposals(ctx, record, state),
    state,
    dryRun: ctx.settings.dryRun,
    ttlMinutes: ctx.settings.ttlMinutes,
    ...(statusLine ? { statusLine } : {}),
    ...(ctx.settings.cardFooter ? { footer: ctx.settings.cardFooter } : {}),
  });
}

/** The buttons: proposals the executor offers for the account now, and every one already decided. */
export async function shownProposals(ctx: ApprovalContext, record: AlertRecord, state: AlertCardState, proposals: readonly ProposedAction[] = proposalsOf(ctx, record)): Promise<ProposedAction[]> {
  const decided = (p: ProposedAction) => state.approvals.some(({ approval }) => approval.action === p.action && approval.target.accountKey === p.target);
  return offerableProposals(record.alert, proposals, ctx.deps.remediation, { log: ctx.log, keep: decided });
}

async function threadOf(ctx: ApprovalContext, record: AlertRecord): Promise<ThreadRef | undefined> {
  if (!record.card) return undefined;
  const channel = await ctx.deps.channelFor(record.card);
  if (!channel) return undefined;
  return { channel, conversationId: record.card.conversationId, threadConversationId: record.card.threadConversationId, rootActivityId: record.card.activityId };
}

/** Re-renders the alert card from the store's current state and replaces it for everyone, where it lives. */
export function updateCard(ctx: ApprovalContext, alertKey: string, statusLine?: string): Promise<void> {
  return inSpan('approval.announce', { 'incident.alert.key': alertKey, 'incident.card.kind': 'card' }, () => updateAlertCard(ctx, alertKey, statusLine));
}

async function updateAlertCard(ctx: ApprovalContext, alertKey: string, statusLine?: string): Promise<void> {
  const record = await ctx.store.getAlertByKey(alertKey);
  const thread = record ? await threadOf(ctx, record) : undefined;
  if (!record || !thread || !record.card) return;
  const message = await renderCard(ctx, alertKey, statusLine);
  // Addressed like the notifier does: the thread's conversation id, and the card's own activity id.
  if (message) await ctx.deps.messenger.update(thread.channel, record.card.threadConversationId, record.card.activityId, message);
}

export async function replyInThread(ctx: ApprovalContext, alertKey: string, text: string): Promise<void> {
  const record = await ctx.store.getAlertByKey(alertKey);
  const thread = record ? await threadOf(ctx, record) : undefined;
  if (thread) await ctx.deps.messenger.reply(thread, { text: chatSafe(text) });
}

/** Where a lookup card lives (recorded when the bot posted it, copied onto its approvals). */
export function lookupCardOf(approval: Approval): ThreadRef | undefined {
  const to = approval.target.replyTo;
  if (!to || typeof to !== 'object') return undefined;
  const { reference, conversationId, activityId } = to as Record<string, unknown>;
  if (!reference || typeof reference !== 'object' || typeof conversationId !== 'string' || typeof activityId !== 'string') return undefined;
  return { channel: reference as ConversationReferenceJson, threadConversationId: conversationId, conversationId: conversationId.split(';messageid=')[0] ?? conversationId, rootActivityId: activityId };
}

/** The lookup card, re-rendered with every approval asked from it, and replaced for everyone. */
export async function renderLookupCard(ctx: ApprovalContext, approval: Approval, statusLine?: string): Promise<Record<string, unknown>> {
  const scope = approval.target.scope;
  const target = parseActionTarget(approval.target);
  // Every action asked from the same card about the same person (ids derive from scope, action, target).
  const siblings: Approval[] = [];
  if (typeof scope === 'string') {
    for (const action of ACTION_NAMES) {
      const sibling = action === approval.action ? approval : await ctx.store.getApproval(approvalIdFor(scope, action, target.accountKey));
      if (sibling) siblings.push(sibling);
    }
  } else siblings.push(approval);
  return renderPersonActionsCard({
    personLabel: targetLabel(target),
    targetKey: target.accountKey,
    approvals: await viewsOf(ctx, siblings),
    ...(statusLine ? { statusLine } : {}),
    paused: await isPaused(ctx),
    ttlMinutes: ctx.settings.ttlMinutes,
  });
}

async function updateLookupCard(ctx: ApprovalContext, approval: Approval, statusLine?: string): Promise<void> {
  const card = lookupCardOf(approval);
  if (!card) return;
  const fresh = (await ctx.store.getApproval(approval.id)) ?? approval;
  await ctx.deps.messenger.update(card.channel, card.threadConversationId, card.rootActivityId, { card: await renderLookupCard(ctx, fresh, statusLine), summary: statusLine ?? 'Lookup actions' });
}

/** The card this approval belongs to (alert or lookup), updated for everyone. */
export async function updateCardOf(ctx: ApprovalContext, approval: Approval, statusLine?: string): Promise<void> {
  if (approval.alertKey) await updateCard(ctx, approval.alertKey, statusLine);
  else await updateLookupCard(ctx, approval, statusLine);
}

/** A line in the alert's thread, or for a lookup-card approval in that card's conversation. */
export function replyFor(ctx: ApprovalContext, approval: Approval, text: string): Promise<void> {
  return inSpan('approval.announce', { 'incident.alert.key': approval.alertKey, 'incident.card.kind': 'thread' }, () => replyInPlace(ctx, approval, text));
}

async function replyInPlace(ctx: ApprovalContext, approval: Approval, text: string): Promise<void> {
  if (approval.alertKey) return replyInThread(ctx, approval.alertKey, text);
  const destination = lookupCardOf(approval);
  if (destination) await ctx.deps.messenger.reply(destination, { text: chatSafe(text) });
}

/** Card update and thread line after the clicker has had their answer; failures only logged. */
export function announce(ctx: ApprovalContext, approval: Approval | undefined, alertKey: string | undefined, statusLine: string | undefined, threadText?: string): void {
  background(ctx, 'announce', async () => {
    const update = approval ? updateCardOf(ctx, approval, statusLine) : alertKey ? updateCard(ctx, alertKey, statusLine) : undefined;
    const reply = !threadText ? undefined : approval ? replyFor(ctx, approval, threadText) : alertKey ? replyInThread(ctx, alertKey, threadText) : undefined;
    await bothSettled(update, reply);
  });
}

/**
 * Waits for a card update and a thread line sent side by side (Teams' limits do not ask for one
 * to wait for the other; the messenger paces both), then throws the first failure, if any.
 */
export async function bothSettled(...work: (Promise<void> | undefined)[]): Promise<void> {
  const outcomes = await Promise.allSettled(work);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}
