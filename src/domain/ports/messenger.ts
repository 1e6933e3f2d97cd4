/**
 * The Messenger port: how use cases talk to people in Teams, without knowing botbuilder.
 * Conversation references are opaque JSON made and read only by the Teams adapter (src/bot/).
 */
export type ConversationReferenceJson = Record<string, unknown>;

/**
 * An @mention in a message: a person (Teams user id `29:…` or Entra object id) or a Teams tag. The
 * message text must carry `<at>name</at>` for each, exactly as `name` is given here.
 */
export interface OutboundMention {
  kind: 'user' | 'tag';
  id: string;
  name: string;
}

export interface OutboundMessage {
  /** Plain text or Teams markdown. */
  text?: string;
  /** @mentions the text carries as `<at>name</at>` (Teams notifies each person, or each member of a tag). */
  mentions?: readonly OutboundMention[];
  /** A rendered Adaptive Card (JSON object). */
  card?: Record<string, unknown>;
  /** Notification / preview text for a card (phones show it in the notification). */
  summary?: string;
}

/** A thread in a channel: the card at its root, and the conversation id to reply into. */
export interface ThreadRef {
  /** The channel's conversation reference (as stored by subscribe / configuration). */
  channel: ConversationReferenceJson;
  /** `19:…@thread.tacv2;messageid=<root>`: replies go here. */
  threadConversationId: string;
  /** The channel conversation id the root card lives in. */
  conversationId: string;
  /** Activity id of the root card, for updates. */
  rootActivityId: string;
}

export interface PostedActivity {
  conversationId: string;
  activityId: string;
}

export interface Messenger {
  /** Starts a new thread in the channel with `message` as its root. */
  startThread(channel: ConversationReferenceJson, message: OutboundMessage): Promise<ThreadRef>;
  /** Posts a reply in an existing thread. */
  reply(thread: ThreadRef, message: OutboundMessage): Promise<PostedActivity>;
  /** Replaces an activity the bot posted (a card), for everyone in the conversation. */
  update(channel: ConversationReferenceJson, conversationId: string, activityId: string, message: OutboundMessage): Promise<void>;
}
