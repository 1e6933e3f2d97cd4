import type { ConversationReferenceJson, OutboundMessage } from './messenger.ts';

/**
 * One inbound chat turn as the use cases see it: who (from the authenticated activity, never
 * from card data), where, and how to answer. Built from botbuilder's TurnContext in src/bot/.
 */
export type ConversationKind = 'personal' | 'groupChat' | 'channel';

export interface Actor {
  /** Channel-specific user id (Teams `29:…`). */
  id: string;
  /** Entra object id of the user; what authorisation is decided on. */
  aadObjectId?: string;
  name: string;
}

export interface ChatConversation {
  id: string;
  kind: ConversationKind;
  tenantId?: string;
  /** Team and channel ids for channel conversations (channel id = the General/other channel's `19:…` id). */
  teamId?: string;
  channelId?: string;
}

/** Where a message the bot sent landed, when the channel said so. */
export interface SentActivity {
  conversationId: string;
  activityId: string;
}

export interface ChatTurn {
  actor: Actor;
  conversation: ChatConversation;
  /**
   * Reference to post into this conversation later. For a channel message this references the
   * channel itself (not the thread), which is what `subscribe` stores.
   */
  channelReference: ConversationReferenceJson;
  /** Teams delivered this as a targeted message (a slash command only the sender sees). */
  targeted: boolean;
  /** Answers in the same conversation (the same thread for channel messages). */
  reply(message: OutboundMessage): Promise<void>;
  /**
   * `reply`, saying where the message landed (when the channel said so): for cards whose buttons
   * are checked later against what the bot posted where (lookup cards).
   */
  replyLocated?(message: OutboundMessage): Promise<SentActivity | undefined>;
  /**
   * Answers so only the sender sees it, whatever the inbound was: in a personal chat a normal
   * reply; in a channel or group chat a targeted message, else a 1:1 chat with the sender, and
   * only when neither is possible a normal reply.
   */
  replyPrivately(message: OutboundMessage): Promise<void>;
  /** Shows the typing indicator while a slow answer is prepared. */
  typing(): Promise<void>;
  /**
   * The people @mentioned in this message besides the bot, each confirmed as a member of the
   * conversation by Teams (which gives the Entra object id); a mention Teams does not know is left out.
   */
  mentioned?(): Promise<Actor[]>;
}

/** A text command (mention and leading slash removed). */
export type CommandHandler = (text: string, turn: ChatTurn) => Promise<void>;

/** A press on a card button: `Action.Execute` (invoke) or its `Action.Submit` fallback (message with value). */
export interface CardAction {
  verb: string;
  /** Untrusted: whatever the card carried. Parse before use. */
  data: Record<string, unknown>;
  via: 'execute' | 'submit';
  /** Activity id of the card the button was on, when the channel says so. */
  cardActivityId?: string;
}

/**
 * What the clicker sees at once: a replacement card, or a short message; `answered` when the
 * handler has already answered the clicker itself (privately) and nothing more may be sent.
 */
export type CardActionOutcome = { kind: 'card'; card: Record<string, unknown> } | { kind: 'message'; text: string } | { kind: 'answered'; text: string };

export type CardActionHandler = (action: CardAction, turn: ChatTurn) => Promise<CardActionOutcome>;
