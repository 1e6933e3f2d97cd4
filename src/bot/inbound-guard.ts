import { ActivityTypes, type Activity, type TurnContext } from 'botbuilder';
import type { Logger } from '../observability/logger.ts';
import type { TurnLogic } from './bot-adapter.ts';
import { APPROVAL_VERBS, accessRefusal, cardActionOf, commandText, invokeResponse, tenantOf, type TurnAccess } from './turn-logic.ts';
import { inboundLimitBreach, LIMIT_TEXT } from './inbound-limits.ts';
import { replayKey, type ReplayGuard } from './replay-guard.ts';
import type { MemberCheck } from './member-check.ts';

/**
 * The step between an authenticated activity and the turn logic (approvals, commands): bounded
 * size, served invoke names only, each activity run once (a replay is answered, not run), and
 * for an approval attempt, the sender's two ids confirmed as one member of the conversation
 * before the vote can count. Nothing here knows what a vote does; it only decides whether the
 * turn reaches the code that does.
 */
export interface InboundGuardDeps {
  logger: Logger;
  replays: ReplayGuard;
  members: MemberCheck;
  /** The same access rules as the turn logic: turns it refuses anyway skip the member check. */
  access?: TurnAccess;
}

/** The only invoke the bot serves: Adaptive Card Action.Execute. */
const SERVED_INVOKES: ReadonlySet<string> = new Set(['adaptiveCard/action']);
const REPLAYED_TEXT = 'I received this action already; it was not run again.';
const NOT_CONFIRMED_TEXT = 'Sorry, I could not confirm that this comes from a member of this conversation. Nothing was done.';

function invokeError(message: string): Partial<Activity> {
  return {
    type: ActivityTypes.InvokeResponse,
    value: { status: 400, body: { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message } } },
  };
}

/** What the turn would attempt if it is an approval decision (card verb or typed command), else undefined. */
export function approvalAttempt(activity: Activity): string | undefined {
  const action = cardActionOf(activity);
  if (action) return APPROVAL_VERBS.has(action.verb) ? action.verb : undefined;
  if (activity.type !== ActivityTypes.Message) return undefined;
  const word = (commandText(activity).split(/\s+/, 1)[0] ?? '').toLowerCase();
  return APPROVAL_VERBS.has(word) ? word : undefined;
}

export function guardInbound(logic: TurnLogic, deps: InboundGuardDeps): TurnLogic {
  const { logger, replays, members, access } = deps;
  const answer = async (context: TurnContext, text: string) => {
    if (context.activity.type === ActivityTypes.Invoke) await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: invokeResponse({ kind: 'message', text }) });
    else await context.sendActivity(text);
  };

  return async (context) => {
    const activity = context.activity;
    const isInvoke = activity.type === ActivityTypes.Invoke;
    if (!isInvoke && activity.type !== ActivityTypes.Message) return logic(context);
    const log = logger.child({ turn: activity.id, type: activity.type, conversation: activity.conversation?.id });

    if (isInvoke && !SERVED_INVOKES.has(activity.name ?? '')) {
      log.warn({ name: String(activity.name ?? '').slice(0, 80) }, 'invoke not served');
      await context.sendActivity(invokeError('This bot does not handle this kind of invoke.'));
      return;
    }
    const breach = inboundLimitBreach(activity);
    if (breach) {
      log.warn({ breach }, 'activity over the inbound limits; not run');
      await answer(context, LIMIT_TEXT[breach]);
      return;
    }
    if (typeof activity.id !== 'string' || activity.id === '') {
      // Teams gives every message and invoke an id; without one a replay could not be told apart.
      log.warn('activity without an id; not run');
      if (isInvoke) await context.sendActivity(invokeError('The activity has no id.'));
      return;
    }

    const key = replayKey(activity.channelId, activity.conversation?.id, activity.id);
    const seen = replays.admit(key);
    if (seen !== 'first') {
      log.warn({ seen }, 'activity received again (replay or retry); not run again');
      if (isInvoke) await answer(context, REPLAYED_TEXT);
      return;
    }
    try {
      const attempted = approvalAttempt(activity);
      if (attempted && !accessRefusal(activity, access)) {
        const verdict = await members.confirm(context);
        if (verdict !== 'same') {
          const actor = activity.from?.aadObjectId?.trim().toLowerCase() || activity.from?.id || 'unknown';
          log.warn({ verdict, attempted, fromId: activity.from?.id, aadObjectId: actor }, 'approval attempt refused: sender ids are not one member of the conversation');
          await access
            ?.onRefused?.({ reason: 'member', channelId: activity.channelId ?? '', ...(tenantOf(activity) ? { tenantId: tenantOf(activity) } : {}), actor, ...(activity.from?.name ? { name: activity.from.name } : {}), attempted })
            .catch((error: unknown) => log.error({ err: error }, 'could not audit a refused approval attempt'));
          await answer(context, NOT_CONFIRMED_TEXT);
          return;
        }
      }
      try {
        await logic(context);
      } catch (error) {
        // An invoke must be answered or Teams shows a generic failure (and botbuilder answers
        // HTTP 501): answer with the Universal Actions error shape, details only in the log.
        if (!isInvoke || context.responded) throw error;
        log.error({ err: error }, 'card action failed');
        await context.sendActivity({
          type: ActivityTypes.InvokeResponse,
          value: { status: 200, body: { statusCode: 500, type: 'application/vnd.microsoft.error', value: { code: 'InternalError', message: 'Sorry, something went wrong on my side. The error has been logged.' } } },
        });
      }
    } finally {
      replays.finish(key);
    }
  };
}
