import { ACTION_CATALOG, undoOf, type ActionName } from '../actions/action-names.ts';
import { requiredApprovals } from '../actions/action-policy.ts';
import { proposeActions } from '../actions/propose-actions.ts';
import type { CardAction, ChatTurn } from '../domain/ports/chat.ts';
import { AppError } from '../domain/errors.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { Approval, CardOffer } from '../domain/ports/approval-store.ts';
import type { ApprovalContext } from './approval-context.ts';
import { approvalIdFor } from './approval-target.ts';

/**
 * "What the bot itself offered": the only actions a decision may be about. Card data says which
 * button was pressed; whether that button was ever shown for that account is decided here, from
 * the store: a proposal on the stored alert, a button a recorded lookup card offered for that
 * person, or the undo of an action that succeeded in the same place.
 */
export interface Offered {
  /** The approvals of one alert, or of one lookup card, share this key (part of the approval id). */
  scopeKey: string;
  /** Approvals the policy asks for before the guard rails (which may only raise it). */
  policyApprovals: number;
  /** For an undo: the approval it reverses. */
  undoing?: Approval;
}

/** Undo rule: at least the approvals of the action it undoes; never fewer than 2 after a privileged one. */
function undoApprovals(ctx: ApprovalContext, action: ActionName, original: Approval): number {
  const privileged = original.target.guard === 'privileged';
  return Math.max(requiredApprovals(ctx.deps.policy, action), original.requiredApprovals, privileged ? 2 : 1);
}

/** The succeeded approval in `scopeKey` that `action` undoes on `target`, if there is one. */
async function undone(ctx: ApprovalContext, scopeKey: string, action: ActionName, target: string): Promise<Approval | undefined> {
  const original = ACTION_CATALOG[action].undoes;
  if (!original) return undefined;
  const done = await ctx.store.getApproval(approvalIdFor(scopeKey, original, target));
  return done?.state === 'succeeded' ? done : undefined;
}

export function proposalsOf(ctx: ApprovalContext, record: AlertRecord) {
  return proposeActions(record.alert, ctx.deps.policy, ctx.deps.capabilities);
}

/** On an alert: proposed for that account on the stored alert, or the undo of one that succeeded. */
export async function offeredOnAlert(ctx: ApprovalContext, record: AlertRecord, action: ActionName, target: string): Promise<Offered> {
  const proposals = proposalsOf(ctx, record);
  const proposal = proposals.find((p) => p.action === action && p.target === target);
  if (proposal) return { scopeKey: record.key, policyApprovals: proposal.requiredApprovals };
  const original = proposals.some((p) => p.target === target && undoOf(p.action) === action) ? await undone(ctx, record.key, action, target) : undefined;
  if (original) return { scopeKey: record.key, policyApprovals: undoApprovals(ctx, action, original), undoing: original };
  throw new AppError('INPUT_INVALID', 'That action is not offered for this account on this alert.');
}

/** A channel conversation id without its thread suffix (`19:…@thread.tacv2;messageid=…` → `19:…@thread.tacv2`). */
export function baseConversationId(id: string): string {
  return id.split(';messageid=')[0] ?? id;
}

export function lookupScopeKey(offer: Pick<CardOffer, 'conversationId' | 'activityId'>): string {
  return `lookup:${baseConversationId(offer.conversationId)}:${offer.activityId}`;
}

/**
 * On a lookup card: the card must be one the bot recorded posting in this conversation, about this
 * person, still fresh; the action one it offered there (never an undo by itself), or the undo of an
 * action that succeeded from that same card.
 */
export async function offeredOnLookup(ctx: ApprovalContext, turn: ChatTurn, cardAction: CardAction, action: ActionName, target: string): Promise<{ offered: Offered; offer: CardOffer }> {
  const notOffered = new AppError('INPUT_INVALID', 'That action was not offered on this card; look the person up again.');
  if (!cardAction.cardActivityId) throw new AppError('INPUT_INVALID', 'This button does not say which card it was on; look the person up again.');
  const offer = await ctx.store.getCardOffer(baseConversationId(turn.conversation.id), cardAction.cardActivityId);
  if (!offer || offer.targetKey !== target) throw notOffered;
  const scopeKey = lookupScopeKey(offer);
  const original = await undone(ctx, scopeKey, action, target);
  if (original) return { offer, offered: { scopeKey, policyApprovals: undoApprovals(ctx, action, original), undoing: original } };
  if (ACTION_CATALOG[action].undoes || !offer.actions.includes(action)) throw notOffered;
  if (offer.expiresAt.getTime() <= ctx.now().getTime()) throw new AppError('INPUT_INVALID', 'This lookup card is too old to act from; look the person up again.');
  return { offer, offered: { scopeKey, policyApprovals: requiredApprovals(ctx.deps.policy, action) } };
}
