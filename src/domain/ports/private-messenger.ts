import type { ConversationReferenceJson, OutboundMessage } from './messenger.ts';

/** A person to write to privately: the Entra object id always, the Teams id (`29:…`) when known. */
export interface PrivateRecipient {
  aadObjectId: string;
  teamsId?: string;
  name: string;
}

/**
 * The PrivateMessenger port: a 1:1 chat between the bot and one person, never a channel. Used for
 * the generated temporary password only. `via` is the channel whose service URL and tenant the
 * 1:1 chat is created through.
 */
export interface PrivateMessenger {
  sendPrivate(recipient: PrivateRecipient, message: OutboundMessage, via: ConversationReferenceJson): Promise<void>;
}
