import type { Activity, ConversationReference } from 'botbuilder';
import { AppError } from '../domain/errors.ts';
import type { ConversationReferenceJson } from '../domain/ports/messenger.ts';

/**
 * The opaque ConversationReference JSON the rest of the bot stores for a Teams channel, and the
 * few Teams id conventions around it. A stored reference always points at the channel itself
 * (`19:…@thread.tacv2`), never at one thread in it: threads are derived from it.
 */

const THREAD_MARKER = ';messageid=';

export interface ChannelSettings {
  /** The channel's conversation id, `19:…@thread.tacv2` (TEAMS_CHANNEL_ID). */
  channelId: string;
  /** The Bot Framework service URL Teams gave the bot for this tenant (TEAMS_SERVICE_URL). */
  serviceUrl: string;
  tenantId?: string;
  /** The bot's app id; the bot's Teams id is `28:<appId>`. */
  botAppId?: string;
  botName?: string;
}

/** A channel reference from configuration (TEAMS_CHANNEL_ID + TEAMS_SERVICE_URL + tenant). */
export function channelReferenceFromSettings(settings: ChannelSettings): ConversationReferenceJson {
  const channelId = channelOf(settings.channelId);
  if (!channelId.startsWith('19:')) throw invalid('the Teams channel id must look like 19:…@thread.tacv2');
  requireServiceUrl(settings.serviceUrl);
  const reference: Partial<ConversationReference> = {
    channelId: 'msteams',
    serviceUrl: settings.serviceUrl,
    conversation: { id: channelId, isGroup: true, conversationType: 'channel', name: '', ...(settings.tenantId ? { tenantId: settings.tenantId } : {}) },
    ...(settings.botAppId ? { bot: { id: `28:${settings.botAppId}`, name: settings.botName ?? '' } } : {}),
  };
  return toJson(reference);
}

/**
 * The channel reference for the channel an inbound Teams activity came from (e.g. `subscribe`
 * typed in a thread): conversation id reduced to the channel, bot taken from the recipient.
 */
export function channelReferenceFromActivity(activity: Partial<Activity>): ConversationReferenceJson {
  if (activity.channelId !== 'msteams') throw invalid('only Microsoft Teams conversations can be subscribed');
  const channelData = isRecord(activity.channelData) ? activity.channelData : {};
  const channel = isRecord(channelData.channel) ? channelData.channel : undefined;
  const tenant = isRecord(channelData.tenant) ? channelData.tenant : undefined;
  const conversationId = typeof activity.conversation?.id === 'string' ? activity.conversation.id : '';
  // channelData.channel.id is the channel even for a message in a thread; fall back to the id's channel part.
  const channelId = typeof channel?.id === 'string' && channel.id ? channel.id : channelOf(conversationId);
  if (activity.conversation?.conversationType !== 'channel' || !channelId) throw invalid('subscribe works in a team channel, not in a chat');
  requireServiceUrl(activity.serviceUrl);
  const tenantId = typeof tenant?.id === 'string' ? tenant.id : activity.conversation?.tenantId;
  const reference: Partial<ConversationReference> = {
    channelId: 'msteams',
    serviceUrl: activity.serviceUrl,
    conversation: { id: channelId, isGroup: true, conversationType: 'channel', name: '', ...(tenantId ? { tenantId } : {}) },
    ...(activity.recipient?.id ? { bot: { id: activity.recipient.id, name: activity.recipient.name ?? '' } } : {}),
  };
  return toJson(reference);
}

/** Validates stored JSON as a reference botbuilder can continue; typed error when it cannot. */
export function parseConversationReference(json: ConversationReferenceJson): Partial<ConversationReference> & { serviceUrl: string; conversation: ConversationReference['conversation'] } {
  const conversation = isRecord(json.conversation) ? json.conversation : undefined;
  if (!conversation || typeof conversation.id !== 'string' || conversation.id === '') throw invalid('the stored conversation reference has no conversation id');
  if (typeof json.serviceUrl !== 'string') throw invalid('the stored conversation reference has no service URL');
  requireServiceUrl(json.serviceUrl);
  const bot = isRecord(json.bot) && typeof json.bot.id === 'string' ? { id: json.bot.id, name: typeof json.bot.name === 'string' ? json.bot.name : '' } : undefined;
  return {
    channelId: typeof json.channelId === 'string' ? json.channelId : 'msteams',
    serviceUrl: json.serviceUrl,
    conversation: {
      id: conversation.id,
      isGroup: conversation.isGroup !== false,
      conversationType: typeof conversation.conversationType === 'string' ? conversation.conversationType : 'channel',
      name: typeof conversation.name === 'string' ? conversation.name : '',
      ...(typeof conversation.tenantId === 'string' ? { tenantId: conversation.tenantId } : {}),
    },
    ...(bot ? { bot } : {}),
    ...(typeof json.activityId === 'string' ? { activityId: json.activityId } : {}),
  };
}

/** The same reference addressed at another conversation (a thread of the channel), optionally replying to an activity. */
export function referenceFor(reference: ReturnType<typeof parseConversationReference>, conversationId: string, replyToId?: string): Partial<ConversationReference> {
  const { activityId: _ignored, ...rest } = reference;
  return { ...rest, conversation: { ...reference.conversation, id: conversationId }, ...(replyToId ? { activityId: replyToId } : {}) };
}

/** `19:…@thread.tacv2;messageid=123` → `19:…@thread.tacv2`; a channel id is returned as is. */
export function channelOf(conversationId: string): string {
  const at = conversationId.indexOf(THREAD_MARKER);
  return at < 0 ? conversationId : conversationId.slice(0, at);
}

/** The root activity id of a thread conversation id, undefined for a channel or chat id. */
export function rootActivityIdOf(threadConversationId: string): string | undefined {
  const at = threadConversationId.indexOf(THREAD_MARKER);
  if (at < 0) return undefined;
  const root = threadConversationId.slice(at + THREAD_MARKER.length);
  return root === '' ? undefined : root;
}

export function threadConversationIdOf(channelId: string, rootActivityId: string): string {
  return `${channelOf(channelId)}${THREAD_MARKER}${rootActivityId}`;
}

function requireServiceUrl(value: unknown): asserts value is string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalid('the Teams service URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('the Teams service URL must be http(s)');
}

function toJson(reference: Partial<ConversationReference>): ConversationReferenceJson {
  return JSON.parse(JSON.stringify(reference)) as ConversationReferenceJson;
}

function invalid(message: string): AppError {
  return new AppError('INPUT_INVALID', `Invalid Teams conversation reference: ${message}.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
