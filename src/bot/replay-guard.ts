/**
 * Inbound activities seen recently, by (channel, conversation, activity id). A Bot Framework
 * token is a bearer token not bound to the body, and Teams retries an invoke it got no timely
 * answer to: either way the same activity may arrive twice, and it must not run twice. Kept in
 * memory, bounded (oldest forgotten first) and for a window as long as a token lives; the
 * approval core's conditional writes still guard what must happen once across instances.
 */
export interface ReplayGuard {
  /** 'first' (now marked as running), 'running' (a copy is being handled) or 'done'. */
  admit(key: string): 'first' | 'running' | 'done';
  /** Marks a turn as done; a failed turn counts as done too (running it again could act twice). */
  finish(key: string): void;
  size(): number;
}

export interface ReplayGuardOptions {
  windowMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/** A token from the Bot Framework is valid for about an hour: remember as long. */
export const REPLAY_WINDOW_MS = 60 * 60_000;
export const REPLAY_MAX_ENTRIES = 20_000;

export function replayKey(channelId: string | undefined, conversationId: string | undefined, activityId: string): string {
  return `${channelId ?? ''}\u0000${conversationId ?? ''}\u0000${activityId}`;
}

export function createReplayGuard(options: ReplayGuardOptions = {}): ReplayGuard {
  const windowMs = options.windowMs ?? REPLAY_WINDOW_MS;
  const maxEntries = options.maxEntries ?? REPLAY_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  // Insertion order is age order: the first entries are the oldest.
  const seen = new Map<string, { at: number; done: boolean }>();
  const prune = () => {
    const cutoff = now() - windowMs;
    for (const [key, entry] of seen) {
      if (entry.at > cutoff && seen.size <= maxEntries) break;
      seen.delete(key);
    }
  };
  return {
    admit(key) {
      prune();
      const entry = seen.get(key);
      if (entry) return entry.done ? 'done' : 'running';
      seen.set(key, { at: now(), done: false });
      if (seen.size > maxEntries) prune();
      return 'first';
    },
    finish(key) {
      const entry = seen.get(key);
      if (entry) entry.done = true;
    },
    size: () => seen.size,
  };
}
