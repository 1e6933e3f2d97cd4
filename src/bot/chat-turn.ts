import { ActivityTypes, TurnContext, type Activity } from 'botbuilder';
import { toActivity } from './teams-messenger.ts';
import { channelReferenceFromActivity } from './conversation-reference.ts';
import type { PrivateMessenger } from '../domain/ports/private-messenger.ts';
import { teamsMemberLookup } from './member-check.ts';
import type { Actor, ChatTurn, ConversationKind, SentActivity } from '../domain/ports/chat.ts';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';

function conversationKind(activity: Activity): ConversationKind {
  const type = activity.conversation?.conversationType;
  if (type === 'channel') return 'channel';
  if (type === 'groupChat') return 'groupChat';
  return 'personal';
}

/** For a channel: the channel's own reference (never one thread); for a chat: the chat's. */
function channelReferenceOf(activity: Activity): Record<string, unknown> {
  if (conversationKind(activity) === 'channel') return channelReferenceFromActivity(activity);
  return JSON.parse(JSON.stringify(TurnContext.getConversationReference(activity))) as Record<string, unknown>;
}

export interface ChatTurnOptions {
  /**
   * Sends a targeted activity (only the sender sees it) into the inbound conversation; resolves
   * false when the connector refused it or could not be reached. Undefined: the bot never tries.
   */
  sendTargeted?: (context: TurnContext, message: OutboundMessage) => Promise<boolean>;
  /** A 1:1 chat with the sender: the fallback where targeted messages are refused. */
  sendPrivate?: PrivateMessenger['sendPrivate'];
  logger?: Logger;
}

export function toChatTurn(context: TurnContext, options: ChatTurnOptions = {}): ChatTurn {
  const activity = context.activity;
  const channelData = (activity.channelData ?? {}) as { tenant?: { id?: string }; team?: { id?: string }; channel?: { id?: string } };
  const recipient = activity.recipient as (typeof activity.recipient & { isTargeted?: boolean }) | undefined;
  const targeted = recipient?.isTargeted === true;
  const kind = conversationKind(activity);
  const channelReference = channelReferenceOf(activity);
  const replyLocated = async (message: OutboundMessage): Promise<SentActivity | undefined> => {
    const sent = await context.sendActivity(toActivity(message));
    return sent?.id ? { conversationId: activity.conversation?.id ?? '', activityId: sent.id } : undefined;
  };
  const reply = async (message: OutboundMessage): Promise<void> => {
    await replyLocated(message);
  };
  return {
    // Object ids compared lower-case everywhere (votes, approver lists): one person, one spelling.
    actor: { id: activity.from?.id ?? '', aadObjectId: activity.from?.aadObjectId?.trim().toLowerCase() || undefined, name: activity.from?.name ?? 'someone' },
    conversation: {
      id: activity.conversation?.id ?? '',
      kind,
      tenantId: channelData.tenant?.id ?? activity.conversation?.tenantId,
      teamId: channelData.team?.id,
      channelId: channelData.channel?.id,
    },
    channelReference,
    targeted,
    reply,
    replyLocated,
    async replyPrivately(message) {
      // A personal chat is private already. Elsewhere the answer is targeted at the sender
      // whatever the inbound was (a card's Action.Submit is not targeted, a slash command is);
      // where the connector refuses that, a 1:1 chat with the sender; only then, in the open.
      if (kind === 'personal') return reply(message);
      if (options.sendTargeted && (await options.sendTargeted(context, message))) return;
      const from = activity.from;
      if (options.sendPrivate && from?.aadObjectId) {
        try {
          await options.sendPrivate({ aadObjectId: from.aadObjectId, teamsId: from.id, name: from.name ?? 'someone' }, message, channelReference);
          return;
        } catch (error) {
          options.logger?.warn({ err: error, conversation: activity.conversation?.id }, 'private 1:1 answer failed; answering in the conversation instead');
        }
      }
      options.logger?.warn({ conversation: activity.conversation?.id }, 'no private way to answer the sender; answering in the conversation');
      await reply(message);
    },
    async typing() {
      await context.sendActivity({ type: ActivityTypes.Typing });
    },
    async mentioned() {
      // The mention entities name a Teams user id and a display name; the object id (what access
      // is decided on) comes from Teams itself (getMember), never from the message.
      const people: Actor[] = [];
      const seen = new Set<string>();
      for (const entity of (activity.entities ?? []).slice(0, 20)) {
        const mentioned = (entity as { type?: unknown; mentioned?: { id?: unknown; name?: unknown } }).mentioned;
        if (entity.type !== 'mention' || typeof mentioned?.id !== 'string' || mentioned.id === activity.recipient?.id || seen.has(mentioned.id)) continue;
        seen.add(mentioned.id);
        const aadObjectId = await teamsMemberLookup(context, mentioned.id);
        if (aadObjectId) people.push({ id: mentioned.id, aadObjectId, name: typeof mentioned.name === 'string' ? mentioned.name.slice(0, 200) : 'someone' });
      }
      return people;
    },
  };
}
