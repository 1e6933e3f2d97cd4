import type { Activity } from 'botbuilder';

/**
 * Bounded work per turn: what a turn may carry before any regex, parser or card template sees
 * it. Teams' own limits are far above what a command or a button needs (a message up to about
 * 28 KB), so these caps refuse only hand-made activities and never a real click or command.
 */
export const MAX_COMMAND_CHARS = 4_000;
/** Strings, keys and nesting of a button's data (Action.Execute / Action.Submit). */
export const MAX_CARD_DATA_STRING = 4_000;
export const MAX_CARD_DATA_NODES = 500;
export const MAX_CARD_DATA_DEPTH = 8;
/** Mentions and other entities on one activity (a message mentions a handful at most). */
export const MAX_ENTITIES = 64;

export type LimitBreach = 'text' | 'card-data' | 'entities';

/** Walks `value` and says whether it stays within the card data limits; stops at the first breach. */
function withinCardLimits(value: unknown): boolean {
  let nodes = 0;
  const walk = (node: unknown, depth: number): boolean => {
    if (++nodes > MAX_CARD_DATA_NODES || depth > MAX_CARD_DATA_DEPTH) return false;
    if (typeof node === 'string') return node.length <= MAX_CARD_DATA_STRING;
    if (Array.isArray(node)) return node.every((item) => walk(item, depth + 1));
    if (node && typeof node === 'object') {
      return Object.entries(node).every(([key, item]) => key.length <= MAX_CARD_DATA_STRING && walk(item, depth + 1));
    }
    return true;
  };
  return walk(value, 0);
}

/** Which limit this activity breaks, if any. */
export function inboundLimitBreach(activity: Activity): LimitBreach | undefined {
  if (typeof activity.text === 'string' && activity.text.length > MAX_COMMAND_CHARS) return 'text';
  if (Array.isArray(activity.entities) && activity.entities.length > MAX_ENTITIES) return 'entities';
  if (activity.value !== undefined && !withinCardLimits(activity.value)) return 'card-data';
  return undefined;
}

export const LIMIT_TEXT: Record<LimitBreach, string> = {
  text: `That message is too long for a command (at most ${MAX_COMMAND_CHARS} characters). Nothing was done.`,
  entities: 'That message carries more mentions or attachments than I accept. Nothing was done.',
  'card-data': 'This button carries more data than any of my cards sends. Nothing was done.',
};
