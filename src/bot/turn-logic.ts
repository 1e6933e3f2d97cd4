import { ActivityTypes, type TurnContext } from 'botbuilder';
import type { Logger } from '../observability/logger.ts';
import type { TurnLogic } from './bot-adapter.ts';

/** What the bot does with an inbound activity; the use cases behind it know nothing of botbuilder. */
export interface TurnHandlers {
  onMessage?: (context: TurnContext, log: Logger) => Promise<void>;
  onCardAction?: (context: TurnContext, log: Logger) => Promise<void>;
}

export function createTurnLogic(handlers: TurnHandlers, logger: Logger): TurnLogic {
  return async (context) => {
    const activity = context.activity;
    const log = logger.child({ turn: activity.id, type: activity.type, conversation: activity.conversation?.id, from: activity.from?.aadObjectId ?? activity.from?.id });
    log.debug('turn');
    if (activity.type === ActivityTypes.Message && handlers.onMessage) {
      await handlers.onMessage(context, log);
    } else if (activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action' && handlers.onCardAction) {
      await handlers.onCardAction(context, log);
    }
  };
}
