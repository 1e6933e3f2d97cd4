import type { ConversationReferenceJson } from '../domain/ports/messenger.ts';
import type { SubscriptionStore } from '../domain/ports/subscription-store.ts';

/**
 * Where alert cards go, resolved once per delivery round.
 *
 * The store keeps ONE card location per alert, so each alert is posted in ONE channel: the
 * configured channel (TEAMS_CHANNEL_ID + TEAMS_SERVICE_URL) when there is one, else the channel
 * subscribed FIRST (oldest subscription). Oldest rather than newest so that a stray `subscribe`
 * in a test channel does not silently move the SOC's feed; `unsubscribe` there hands the feed
 * to the next subscription.
 */
export interface Destinations {
  /** Channel new cards are posted to; undefined when nobody subscribed and none is configured. */
  primary: ConversationReferenceJson | undefined;
  /** Other subscriptions, which receive nothing (reported so an operator can tell why). */
  ignored: number;
  /** The channel reference to address an existing card in `conversationId` with (updates, lines). */
  forConversation(conversationId: string): ConversationReferenceJson | undefined;
}

export async function resolveDestinations(store: SubscriptionStore, configured: ConversationReferenceJson | undefined): Promise<Destinations> {
  const subscribed = (await store.listSubscriptions()).map((s) => s.conversationReference);
  const all = configured ? [configured, ...subscribed] : subscribed;
  const primary = all[0];
  return {
    primary,
    ignored: Math.max(0, all.length - 1),
    forConversation(conversationId) {
      // A card posted before the destination changed still lives in its old channel: address it
      // through that channel's reference when we still have it (its serviceUrl), else the primary.
      const channel = channelPart(conversationId);
      return all.find((reference) => referenceChannel(reference) === channel) ?? primary;
    },
  };
}

/** `19:abc@thread.tacv2;messageid=123` → `19:abc@thread.tacv2`. */
export function channelPart(conversationId: string): string {
  return conversationId.split(';messageid=')[0] ?? conversationId;
}

/** The root activity id of a thread conversation id, if it names one. */
export function threadRootOf(threadConversationId: string): string | undefined {
  const root = threadConversationId.split(';messageid=')[1];
  return root ? root : undefined;
}

/**
 * The channel id in a Bot Framework ConversationReference (`conversation.id`). The reference is
 * opaque to the notifier except for this one well-known field of the Bot Framework schema.
 */
export function referenceChannel(reference: ConversationReferenceJson): string | undefined {
  const conversation = reference.conversation;
  if (typeof conversation !== 'object' || conversation === null) return undefined;
  const id = (conversation as { id?: unknown }).id;
  return typeof id === 'string' ? channelPart(id) : undefined;
}
