import { ACTION_CATALOG, isActionName } from '../actions/action-names.ts';
import type { ApprovalContext } from './approval-context.ts';
import { baseConversationId } from './offers.ts';

/** A lookup card as posted: where it lives, whom it shows, which buttons it carries, to whom. */
export interface LookupOffer {
  conversationId: string;
  activityId: string;
  targetKey: string;
  actions: readonly string[];
  offeredTo: string;
}

/**
 * Records the buttons of a lookup card the bot just posted. Only these, on that card, about that
 * person, can later be requested from it (offers.ts); never an undo, which a lookup card does not
 * offer by itself. The record lasts as long as an approval would.
 */
export async function recordLookupOffer(ctx: ApprovalContext, offer: LookupOffer): Promise<void> {
  const actions = offer.actions.filter((action) => isActionName(action) && !ACTION_CATALOG[action].undoes);
  const now = ctx.now();
  await ctx.store.saveCardOffer({ ...offer, conversationId: baseConversationId(offer.conversationId), actions, createdAt: now, expiresAt: new Date(now.getTime() + ctx.settings.ttlMinutes * 60_000) });
}
