import { ActivityTypes, TurnContext, type Activity, type InvokeResponse } from 'botbuilder';
import type { Logger } from '../observability/logger.ts';
import type { TurnLogic } from './bot-adapter.ts';
import type { CardAction, CardActionHandler, CardActionOutcome, CommandHandler } from '../domain/ports/chat.ts';
import { toChatTurn, type ChatTurnOptions } from './chat-turn.ts';
import { toActivity } from './teams-messenger.ts';

/** What the bot does with an inbound activity; the use cases behind it know nothing of botbuilder. */
export interface TurnHandlers {
  onCommand?: CommandHandler;
  onCardAction?: CardActionHandler;
  chat?: ChatTurnOptions;
  /**
   * Who may talk to the bot at all (decided before any handler). Without it: Teams only, any
   * tenant; the composition root always passes it.
   */
  access?: TurnAccess;
}

/**
 * The identity a turn carries (`from.aadObjectId`) is only as good as the channel that wrote it:
 * Teams stamps it; Web Chat / Direct Line clients write `from` themselves. So only `msteams` turns
 * are served (test channels too, with BOT_AUTH=off only), and only from our own tenant.
 */
export interface TurnAccess {
  botAuth: 'on' | 'off';
  /**
   * The organisation's Entra tenant (TEAMS_TENANT_ID, else MicrosoftAppTenantId, else
   * AZURE_TENANT_ID): turns from any other tenant are refused. Unset only with BOT_AUTH=off, when
   * every tenant is accepted (local runs: the Agents Playground, the lab).
   */
  tenantId?: string;
  /** Records a refused approval attempt (the audit); failures are only logged. */
  onRefused?: (refusal: TurnRefusal) => Promise<void>;
}

export interface TurnRefusal {
  /** channel/tenant: not Teams or not our tenant; member: from.id and from.aadObjectId are not one member of the conversation. */
  reason: 'channel' | 'tenant' | 'member';
  channelId: string;
  tenantId?: string;
  /** aadObjectId (lower-case), else the channel's user id: as the activity claims it. */
  actor: string;
  name?: string;
  /** What was attempted: a card verb or the command's first word. */
  attempted: string;
}

/** Channels a developer uses locally (Bot Framework Emulator, Web Chat tests); never with authentication on. */
const TEST_CHANNELS: ReadonlySet<string> = new Set(['emulator', 'webchat', 'directline', 'test']);
/** Verbs and command words that decide who may do what (approvals, and an alert's owner): member-checked, refusals audited. */
export const APPROVAL_VERBS: ReadonlySet<string> = new Set(['approve', 'retry', 'deny', 'resume', 'take', 'assign', 'close']);

export function tenantOf(activity: Activity): string | undefined {
  const channelData = (activity.channelData ?? {}) as { tenant?: { id?: unknown } };
  const id = typeof channelData.tenant?.id === 'string' ? channelData.tenant.id : activity.conversation?.tenantId;
  return id?.trim() ? id.trim().toLowerCase() : undefined;
}

/** Why this turn may not be served, or undefined when it may. */
export function accessRefusal(activity: Activity, access: TurnAccess | undefined): 'channel' | 'tenant' | undefined {
  const channel = (activity.channelId ?? '').toLowerCase();
  const teams = channel === 'msteams';
  if (!teams && !(access?.botAuth === 'off' && TEST_CHANNELS.has(channel))) return 'channel';
  if (!access) return undefined;
  const expected = access.tenantId?.trim().toLowerCase();
  if (!expected) return access.botAuth === 'off' ? undefined : 'tenant';
  const tenant = tenantOf(activity);
  // Teams always names the tenant; a local test channel may not (accepted with BOT_AUTH=off only).
  if (tenant === undefined) return teams || access.botAuth === 'on' ? 'tenant' : undefined;
  return tenant === expected ? undefined : 'tenant';
}

const REFUSED_TEXT = 'Sorry, I only work in Microsoft Teams for the organisation I was set up for. Nothing was done.';

/** Text of a message without the bot's @mention and without a leading slash. */
export function commandText(activity: Activity): string {
  let text = TurnContext.removeRecipientMention(activity) ?? activity.text ?? '';
  text = text.replace(/<at>[^<]*<\/at>/g, ' ').replace(/&nbsp;/g, ' ').trim();
  return text.replace(/^\//, '').trim();
}

export function cardActionOf(activity: Activity): CardAction | undefined {
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

export function invokeResponse(outcome: CardActionOutcome): InvokeResponse {
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
      const refused = accessRefusal(activity, handlers.access);
      if (refused) {
        const attempted = action ? action.verb : (commandText(activity).split(/\s+/)[0] ?? '').toLowerCase();
        const actor = activity.from?.aadObjectId?.trim().toLowerCase() || activity.from?.id || 'unknown';
        log.warn({ refused, channelId: activity.channelId, tenant: tenantOf(activity), attempted }, 'turn refused: not Teams, or not our tenant');
        if (APPROVAL_VERBS.has(attempted) && handlers.access?.onRefused) {
          await handlers.access
            .onRefused({ reason: refused, channelId: activity.channelId ?? '', ...(tenantOf(activity) ? { tenantId: tenantOf(activity) } : {}), actor, ...(activity.from?.name ? { name: activity.from.name } : {}), attempted })
            .catch((error: unknown) => log.error({ err: error }, 'could not audit a refused turn'));
        }
        if (isCardInvoke) await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: invokeResponse({ kind: 'message', text: REFUSED_TEXT }) });
        else await context.sendActivity(REFUSED_TEXT);
        return;
      }
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
