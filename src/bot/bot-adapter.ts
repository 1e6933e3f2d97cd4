import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type Activity,
  type TurnContext,
} from 'botbuilder';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { inSpan, SpanKind } from '../shared/telemetry.ts';
import { activityShapeProblem } from './activity-shape.ts';
import { cacheConnectorClients } from './connector-cache.ts';

export type TurnLogic = (context: TurnContext) => Promise<void>;

/** The few request/response members the bot endpoint needs, whatever HTTP framework hosts it. */
export interface InboundRequest {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}
export interface BotReply {
  status: number;
  body?: unknown;
}

/**
 * CloudAdapter with authentication done first and separately: an inbound request whose token
 * fails validation for any reason (missing, expired, wrong audience/issuer/key/serviceUrl, or
 * the OpenID metadata unreachable) is answered 401 with no detail and nothing of it is
 * processed. botbuilder's own `process()` answers some of these with 500 and the error text.
 */
export class GuardedCloudAdapter extends CloudAdapter {
  async handle(authHeader: string, activity: Activity, logic: TurnLogic): Promise<BotReply> {
    let authResult;
    try {
      authResult = await this.botFrameworkAuthentication.authenticateRequest(activity, authHeader);
    } catch {
      return { status: 401 };
    }
    const invokeResponse = await this.processActivity(authResult, activity, logic);
    return { status: invokeResponse?.status ?? 200, body: invokeResponse?.body };
  }
}

export interface BotAdapterDeps {
  config: Config;
  logger: Logger;
}

export function createBotAdapter({ config, logger }: BotAdapterDeps): GuardedCloudAdapter {
  const authOff = config.botAuth === 'off';
  // With BOT_AUTH=off botbuilder must see an empty app id: that is what turns its checks off.
  const settings: Record<string, string> = authOff
    ? { MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant' }
    : {
        MicrosoftAppId: config.bot.appId,
        MicrosoftAppPassword: config.bot.appPassword?.reveal() ?? '',
        MicrosoftAppType: config.bot.appType,
        MicrosoftAppTenantId: config.bot.tenantId ?? '',
        ...config.bot.frameworkOverrides,
      };
  const adapter = new GuardedCloudAdapter(cacheConnectorClients(new ConfigurationBotFrameworkAuthentication(settings)));
  adapter.onTurnError = async (context, error) => {
    logger.error({ err: error, activityType: context.activity.type, conversationId: context.activity.conversation?.id }, 'turn failed');
    // Nothing of the error reaches the user: its text may hold internals.
    if (context.activity.type === 'message') {
      await context.sendActivity('Sorry, something went wrong on my side. The error has been logged.').catch((sendError: unknown) => {
        logger.warn({ err: sendError }, 'could not tell the user about a failed turn');
      });
    }
  };
  return adapter;
}

/**
 * Validates the request shape the way CloudAdapter.process does, then authenticates and runs
 * the turn. Returns the HTTP answer instead of writing it, so the host stays framework-agnostic.
 */
export async function handleBotRequest(adapter: GuardedCloudAdapter, req: InboundRequest, logic: TurnLogic, logger: Logger): Promise<BotReply> {
  if (req.method !== 'POST') return { status: 405 };
  const problem = activityShapeProblem(req.body);
  if (problem) return { status: 400, body: { error: problem } };
  const activity = req.body as Activity;
  const header = req.headers.authorization ?? req.headers.Authorization;
  const authHeader = Array.isArray(header) ? (header[0] ?? '') : (header ?? '');
  try {
    // One trace per inbound activity (its type and invoke name only: the body is never recorded).
    const attributes = { 'incident.activity.type': activity.type, 'incident.activity.name': activity.name, 'incident.channel': activity.channelId };
    return await inSpan('bot.activity', attributes, () => adapter.handle(authHeader, activity, logic), { root: true, kind: SpanKind.SERVER });
  } catch (error) {
    logger.error({ err: error, activityType: activity.type }, 'activity processing failed');
    return { status: 500, body: { error: 'Internal error; see the bot logs.' } };
  }
}
