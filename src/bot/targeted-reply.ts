import type { Activity, TurnContext } from 'botbuilder';
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import { toActivity } from './teams-messenger.ts';
import { timeoutSignal } from '../shared/timeout-signal.ts';

/** The bits of botbuilder's ConnectorClient this needs: its credentials sign our own request. */
interface SigningConnector {
  credentials?: { signRequest(resource: SignableRequest): Promise<unknown> };
}
interface SignableRequest {
  url: string;
  method: string;
  headers: { set(name: string, value: string): void; get(name: string): string | undefined };
}

export interface TargetedSenderOptions {
  logger: Logger;
  /** Upper bound of the connector call before it counts as refused. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Answers so only the sender of the inbound activity sees it (a Teams targeted message), as the
 * Teams docs specify it for REST ("Send replies using REST APIs",
 * https://learn.microsoft.com/microsoftteams/platform/agents-in-teams/targeted-messages):
 * `POST /v3/conversations/{conversationId}/activities?isTargetedActivity=true` with the sender as
 * recipient and a `targetedMessageInfo` entity naming the inbound message. Targeted messages do not
 * support replies, so it is never the reply endpoint `/activities/{id}`; the official TypeScript
 * SDK does the same (microsoft/teams.ts, ConversationActivityClient.createTargeted). botbuilder
 * 4.23 has no API for it. Works for any inbound in a channel or group chat, a slash command or a
 * card's Action.Submit alike. Resolves false when the connector refuses it (tenant without
 * targeted messages) or does not answer: the caller then picks another private way.
 */
export function createTargetedSender(options: TargetedSenderOptions): (context: TurnContext, message: OutboundMessage) => Promise<boolean> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  return async (context, message) => {
    const inbound = context.activity;
    const log = options.logger.child({ component: 'targeted-reply', conversation: inbound.conversation?.id });
    try {
      const status = await postTargeted(context, message, doFetch, timeoutMs);
      if (status >= 200 && status < 300) return true;
      log.warn({ status }, 'connector refused the targeted reply');
    } catch (error) {
      log.warn({ err: error }, 'targeted reply failed');
    }
    return false;
  };
}

async function postTargeted(context: TurnContext, message: OutboundMessage, doFetch: typeof fetch, timeoutMs: number): Promise<number> {
  const inbound = context.activity;
  const serviceUrl = inbound.serviceUrl.endsWith('/') ? inbound.serviceUrl : `${inbound.serviceUrl}/`;
  const conversationId = inbound.conversation.id;
  const { isTargeted: _ignored, ...bot } = inbound.recipient as Activity['recipient'] & { isTargeted?: boolean };
  const activity: Partial<Activity> = {
    ...toActivity(message),
    type: 'message',
    channelId: inbound.channelId,
    serviceUrl: inbound.serviceUrl,
    conversation: inbound.conversation,
    from: bot,
    // The one person who sees it: the sender (of the slash command, of the card's button).
    recipient: { id: inbound.from.id, name: inbound.from.name, ...(inbound.from.aadObjectId ? { aadObjectId: inbound.from.aadObjectId } : {}) },
    // Relates the answer to the message it answers (Teams shows it as the prompt preview).
    ...(inbound.id ? { entities: [{ type: 'targetedMessageInfo', messageId: inbound.id }] } : {}),
  };
  const path = `v3/conversations/${encodeURIComponent(conversationId)}/activities`;
  const url = `${new URL(path, serviceUrl).toString()}?isTargetedActivity=true`;
  const headers = new Map<string, string>([['content-type', 'application/json; charset=utf-8']]);
  const connector = context.turnState.get(context.adapter.ConnectorClientKey) as SigningConnector | undefined;
  // With authentication off there are no credentials; the connector stand-in and the Agents
  // Playground accept unsigned calls then, as they do botbuilder's own.
  await connector?.credentials?.signRequest({
    url,
    method: 'POST',
    headers: { set: (name, value) => void headers.set(name.toLowerCase(), value), get: (name) => headers.get(name.toLowerCase()) },
  });
  const timeout = timeoutSignal(timeoutMs);
  try {
    const response = await doFetch(url, { method: 'POST', headers: Object.fromEntries(headers), body: JSON.stringify(activity), signal: timeout.signal });
    await response.body?.cancel();
    return response.status;
  } finally {
    timeout.clear();
  }
}
