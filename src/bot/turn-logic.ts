import { ActivityTypes, TurnContext, type Activity, type InvokeResponse } from 'botbuilder';
import type { Logger } from '../observability/logger.ts';
import type { TurnLogic } from './bot-adapter.ts';
import type { CardAction, CardActionHandler, CardActionOutcome, CommandHandler } from '../domain/chat.ts';
import { toChatTurn, type ChatTurnOptions } from './chat-turn.ts';
import { toActivity } from './teams-messenger.ts';

/** What the bot does with an inbound activity; the use cases behind it know nothing of botbuilder. */
export interface TurnHandlers {
  onCommand?: CommandHandler;
  onCardAction?: CardActionHandler;
  chat?: ChatTurnOptions;
}

/** Text of a message without the bot's @mention and without a leading slash. */
export function commandText(activity: Activity): string {
  let text = TurnContext.removeRecipientMention(activity) ?? activity.text ?? '';
  text = text.replace(/<at>[^<]*<\/at>/g, ' ').replace(/&nbsp;/g, ' ').trim();
  return text.replace(/^\//, '').trim();
}

function cardActionOf(activity: Activity): CardAction | undefined {
  const value = activity.value as Record<string, unknown> | undefined;
  if (!value || typeof value !== 'object') return undefined;
  if (activity.type === ActivityTypes.Invoke) {
    const action = value.action as { verb?: unknown; data?: unknown } | undefined;
    if (!action || typeof action.verb !== 'string') return undefined;
    const data = action.data && typeof action.data === 'object' && !Array.isArray(action.data) ? (action.data as Record<string, unknown>) : {};
    return { verb: action.verb, data, via: 'execute', cardActivityId: activity.replyToId };
  }
  // Action.Submit: the card's data arrives as the message value; our fallbacks carry `verb`.
  if (typeof value.verb !== 'string') return undefined;
  return { verb: value.verb, data: value, via: 'submit', cardActivityId: activity.replyToId };
}

function invokeResponse(outcome: CardActionOutcome): InvokeResponse {
  if (outcome.kind === 'card') {
    return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: outcome.card } };
  }
  // An invoke answer reaches only the clicker: `answered` may say its text there too.
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: outcome.text } };
}

export function createTurnLogic(handlers: TurnHandlers, logger: Logger): TurnLogic {
  return async (context) => {
    const activity = context.activity;
    const log = logger.child({ turn: activity.id, type: activity.type, conversation: activity.conversation?.id, from: activity.from?.aadObjectId ?? activity.from?.id });
    log.debug('turn');
    const isCardInvoke = activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action';
    if (isCardInvoke || activity.type === ActivityTypes.Message) {
      const action = cardActionOf(activity);
      if (action) {
        const turn = toChatTurn(context, handlers.chat);
        const outcome: CardActionOutcome = handlers.onCardAction
          ? await handlers.onCardAction(action, turn)
          : { kind: 'message', text: 'This button is not active yet.' };
        if (isCardInvoke) {
          await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: invokeResponse(outcome) });
        } else if (outcome.kind === 'card' && action.cardActivityId) {
          // Action.Submit cannot return a card: replace the card the button was on instead.
          await context.updateActivity({ ...toActivity({ card: outcome.card }), id: action.cardActivityId });
        } else if (outcome.kind === 'message') {
          await context.sendActivity(outcome.text);
        }
        // `answered`: the clicker already has the answer (privately); a Submit reply would be public.
        return;
      }
      if (isCardInvoke) {
        await context.sendActivity({
          type: ActivityTypes.InvokeResponse,
          value: { status: 400, body: { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'This button carries no action.' } } },
        });
        return;
      }
      if (handlers.onCommand) {
        await handlers.onCommand(commandText(activity), toChatTurn(context, handlers.chat));
      }
    }
  };
}
