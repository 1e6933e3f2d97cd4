/**
 * Teams' documented bot rate limits and what they are counted on
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit, re-read for issue 16):
 * "Per bot per thread limit" — a conversation is "1:1 between bot and user, a group chat, or a
 * channel in a team" — Send to conversation 7/1 s, 8/2 s, 60/30 s, 1800/3600 s (the page notes
 * the hourly one applies when many messages go to one user; we keep it everywhere, the safe side);
 * "Per thread limit for all bots" 14/1 s, 16/2 s (other bots' traffic, not ours to count); and the
 * global limit per app per tenant, 50 requests per second. Nothing in the page asks for a gap
 * between calls while a window has room: the first calls of a window go at once.
 */

export interface RateWindow {
  limit: number;
  windowMs: number;
}

/** Teams per bot per conversation (a channel with all its threads, a chat): 7 per 1 s, 8 per 2 s, 60 per 30 s, 1800 per hour. */
export const TEAMS_CONVERSATION_LIMITS: readonly RateWindow[] = [
  { limit: 7, windowMs: 1000 },
  { limit: 8, windowMs: 2000 },
  { limit: 60, windowMs: 30_000 },
  { limit: 1800, windowMs: 3_600_000 },
];

/** Teams per app and tenant: 50 requests per second. */
export const TEAMS_GLOBAL_LIMITS: readonly RateWindow[] = [{ limit: 50, windowMs: 1000 }];

/**
 * The pacer key of the updates of one message: its own queue (an update need not wait behind the
 * replies in the message's thread, nor they behind it), counted on the same conversation.
 */
export function updateKeyOf(conversationId: string, activityId: string): string {
  return `${conversationId}${UPDATE_MARK}${activityId}`;
}

const UPDATE_MARK = '|update|';

/** The conversation Teams counts a key's calls on: a channel thread `19:…;messageid=<root>` → its channel `19:…`. */
export function teamsConversationOf(key: string): string {
  const marked = key.indexOf(UPDATE_MARK);
  const conversation = marked < 0 ? key : key.slice(0, marked);
  const at = conversation.indexOf(';messageid=');
  return at < 0 ? conversation : conversation.slice(0, at);
}
