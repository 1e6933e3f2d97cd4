import { ActivityTypes, CardFactory, MessageFactory, TurnContext, type Activity } from 'botbuilder';
import type { ChatTurn, ConversationKind } from '../domain/chat.ts';
import type { OutboundMessage } from '../domain/messenger.ts';

/** Builds the botbuilder activity for an outbound message (card as an Adaptive Card attachment). */
export function toActivity(message: OutboundMessage): Partial<Activity> {
  if (message.card) {
    const activity = MessageFactory.attachment(CardFactory.adaptiveCard(message.card));
    if (message.text) activity.text = message.text;
    if (message.summary) activity.summary = message.summary;
    return activity;
  }
  return MessageFactory.text(message.text ?? '');
}

function conversationKind(activity: Activity): ConversationKind {
  const type = activity.conversation?.conversationType;
  if (type === 'channel') return 'channel';
  if (type === 'groupChat') return 'groupChat';
  return 'personal';
}

/** The channel's own reference: a thread id `19:…;messageid=…` trimmed to the channel id. */
function channelReferenceOf(activity: Activity): Record<string, unknown> {
  const reference = TurnContext.getConversationReference(activity) as unknown as Record<string, unknown> & { conversation: { id: string } };
  const conversationId = reference.conversation.id.split(';messageid=')[0] ?? reference.conversation.id;
  return { ...reference, activityId: undefined, conversation: { ...reference.conversation, id: conversationId } };
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
