/**
 * Teams' documented bot rate limits and what they are counted on
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit).
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

/** The conversation Teams counts a key's calls on: a channel thread `19:…;messageid=<root>` → its channel `19:…`. */
export function teamsConversationOf(key: string): string {
  const at = key.indexOf(';messageid=');
  return at < 0 ? key : key.slice(0, at);
}
