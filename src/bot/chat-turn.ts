import { ActivityTypes, TurnContext, type Activity } from 'botbuilder';
import { toActivity } from './teams-messenger.ts';
import { channelReferenceFromActivity } from './conversation-reference.ts';
import type { ChatTurn, ConversationKind } from '../domain/chat.ts';
import type { OutboundMessage } from '../domain/messenger.ts';

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
  /** Sends privately to the sender (targeted activity); undefined when the tenant cannot. */
  sendTargeted?: (context: TurnContext, message: OutboundMessage) => Promise<void>;
}

export function toChatTurn(context: TurnContext, options: ChatTurnOptions = {}): ChatTurn {
  const activity = context.activity;
  const channelData = (activity.channelData ?? {}) as { tenant?: { id?: string }; team?: { id?: string }; channel?: { id?: string } };
  const recipient = activity.recipient as (typeof activity.recipient & { isTargeted?: boolean }) | undefined;
  const targeted = recipient?.isTargeted === true;
  const reply = async (message: OutboundMessage) => {
    await context.sendActivity(toActivity(message));
  };
  return {
    actor: { id: activity.from?.id ?? '', aadObjectId: activity.from?.aadObjectId, name: activity.from?.name ?? 'someone' },
    conversation: {
      id: activity.conversation?.id ?? '',
      kind: conversationKind(activity),
      tenantId: channelData.tenant?.id ?? activity.conversation?.tenantId,
      teamId: channelData.team?.id,
      channelId: channelData.channel?.id,
    },
    channelReference: channelReferenceOf(activity),
    targeted,
    reply,
    async replyPrivately(message) {
      if (targeted && options.sendTargeted) {
        await options.sendTargeted(context, message);
        return;
      }
      await reply(message);
    },
    async typing() {
      await context.sendActivity({ type: ActivityTypes.Typing });
    },
  };
}
