/**
 * The SubscriptionStore port: the Teams channels the bot posts alert cards to. Part of `Store`
 * (./store.ts), implemented by the SqlStore in src/store/.
 */
/** A Teams channel (conversation) the bot posts alert cards to. */
export interface Subscription {
  id: string;
  /** Bot Framework ConversationReference, kept verbatim for continueConversation. */
  conversationReference: Record<string, unknown>;
  createdBy: string;
  createdAt: Date;
}

export interface SubscriptionStore {
  saveSubscription(subscription: Subscription): Promise<void>;
  removeSubscription(id: string): Promise<boolean>;
  listSubscriptions(): Promise<Subscription[]>;
}
