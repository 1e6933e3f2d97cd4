/**
 * Paces outbound calls to Teams so that its documented bot limits are never crossed: a caller
 * waits for a slot instead of being refused (Teams answers 429 and may throttle the bot harder).
 *
 * Limits are sliding windows counted per conversation and over all keys (the app in the tenant).
 * A key is what a call addresses (a channel, a thread of it, a chat); its conversation is what
 * Teams counts the limits on: "A conversation is 1:1 between bot and user, a group chat, or a
 * channel in a team" (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit,
 * "Per bot per thread limit"), so every thread of a channel draws on the channel's one budget.
 * Order and requests in flight are per key (a thread keeps its replies in order while the
 * channel's other threads go on). A slot counts in a window from the moment it is granted until
 * `windowMs` after it is released: the service sees the request somewhere between our send and
 * its answer, so only an answered request can be said to have left a window. This costs one
 * round-trip per window and makes the pacer safe whatever the latency.
 *
 * Waiters are served first-in first-out per key; across keys, the oldest waiter that may go
 * goes first, and a key that is blocked by its own limits does not hold up the others.
 */
import { systemClock, type PacerClock } from './pacer-clock.ts';
import { pruneEntries, removeEntry, windowsReadyAt, type Entry } from './rate-windows.ts';
import { TEAMS_CONVERSATION_LIMITS, TEAMS_GLOBAL_LIMITS, teamsConversationOf, type RateWindow } from './teams-rate-limits.ts';

export { systemClock, type PacerClock } from './pacer-clock.ts';
export { TEAMS_CONVERSATION_LIMITS, TEAMS_GLOBAL_LIMITS, teamsConversationOf, type RateWindow } from './teams-rate-limits.ts';

export interface PacerSlot {
  /**
   * Marks the request answered (or failed): from now on it ages out of the windows. Idempotent.
   * `throttled`: the service refused it with 429 (it did nothing), so it leaves the windows at once;
   * the Retry-After pause that follows keeps the conversation waiting instead. Counting it would
   * leave a refused request's slot unused for a whole window (30 s at Teams' 60 per 30 s).
   */
  release(options?: { throttled?: boolean }): void;
}

export interface AcquireOptions {
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Jump the key's queue (a retry keeps its place ahead of the messages that came after it). */
  front?: boolean;
}

export interface PauseOptions {
  /** Also hold every other key, for at most `globalPauseCapMs`. */
  global?: boolean;
}

export interface OutboundPacer {
  acquire(key: string, options?: AcquireOptions): Promise<PacerSlot>;
  /** Holds `key`'s conversation for `ms` (a Retry-After from the service). */
  pause(key: string, ms: number, options?: PauseOptions): void;
  /** `keys`: conversations still tracked (waiters, requests in flight, a pause, or calls inside a window). */
  stats(): { waiting: number; inFlight: number; keys: number };
}

export interface OutboundPacerOptions {
  /** Windows counted per conversation (`conversationOf` of the key). Default: Teams'. */
  perConversation?: readonly RateWindow[];
  /** Which conversation a key's calls count on. Default: teamsConversationOf. */
  conversationOf?: (key: string) => string;
  global?: readonly RateWindow[];
  clock?: PacerClock;
  /** Requests in flight per key; 1 keeps messages in a thread in order. Default: unlimited. */
  maxInFlightPerKey?: number;
  /** Longest global hold a single key's Retry-After can cause. Default 1000 ms. */
  globalPauseCapMs?: number;
}

interface Waiter {
  seq: number;
  key: string;
  resolve: (slot: PacerSlot) => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

interface ConversationState {
  entries: Entry[];
  pausedUntil: number;
}

interface KeyState {
  conversation: ConversationState;
  queue: Waiter[];
  inFlight: number;
}

export function createOutboundPacer(options: OutboundPacerOptions = {}): OutboundPacer {
  const conversationWindows = options.perConversation ?? TEAMS_CONVERSATION_LIMITS;
  const conversationOf = options.conversationOf ?? teamsConversationOf;
  const globalWindows = options.global ?? TEAMS_GLOBAL_LIMITS;
  const clock = options.clock ?? systemClock;
  const maxInFlight = options.maxInFlightPerKey ?? Number.POSITIVE_INFINITY;
  const globalPauseCap = options.globalPauseCapMs ?? 1000;
  const longestConversationWindow = Math.max(0, ...conversationWindows.map((w) => w.windowMs));
  const longestGlobalWindow = Math.max(0, ...globalWindows.map((w) => w.windowMs));
  for (const w of [...conversationWindows, ...globalWindows]) {
    if (!(w.limit >= 1 && w.windowMs > 0)) throw new RangeError(`invalid rate window ${JSON.stringify(w)}`);
  }

  const keys = new Map<string, KeyState>();
  const conversations = new Map<string, ConversationState>();
  const globalEntries: Entry[] = [];
  let globalPausedUntil = 0;
  let nextSeq = 0;
  let nextFrontSeq = 0;
  let timer: { at: number; controller: AbortController } | undefined;

  function stateOf(key: string): KeyState {
    let state = keys.get(key);
    if (!state) {
      const id = conversationOf(key);
      let conversation = conversations.get(id);
      if (!conversation) {
        conversation = { entries: [], pausedUntil: 0 };
        conversations.set(id, conversation);
      }
      state = { conversation, queue: [], inFlight: 0 };
      keys.set(key, state);
    }
    return state;
  }

  function readyAt(state: KeyState, now: number): number {
    if (state.inFlight >= maxInFlight) return Number.POSITIVE_INFINITY;
    return Math.max(state.conversation.pausedUntil, globalPausedUntil, windowsReadyAt(state.conversation.entries, conversationWindows, now), windowsReadyAt(globalEntries, globalWindows, now));
  }

  function grant(state: KeyState, waiter: Waiter, now: number): void {
    state.queue.shift();
    waiter.detach();
    const entry: Entry = { end: undefined };
    state.conversation.entries.push(entry);
    globalEntries.push(entry);
    state.inFlight++;
    let released = false;
    waiter.resolve({
      release(options) {
        if (released) return;
        released = true;
        entry.end = clock.now();
        if (options?.throttled) {
          removeEntry(state.conversation.entries, entry);
          removeEntry(globalEntries, entry);
        }
        state.inFlight--;
        pump();
      },
    });
    pruneEntries(state.conversation.entries, longestConversationWindow, now);
    pruneEntries(globalEntries, longestGlobalWindow, now);
  }

  function pump(): void {
    let wakeAt = Number.POSITIVE_INFINITY;
    for (;;) {
      const now = clock.now();
      const heads = [...keys.values()].filter((s) => s.queue.length > 0).sort((a, b) => a.queue[0]!.seq - b.queue[0]!.seq);
      let granted = false;
      wakeAt = Number.POSITIVE_INFINITY;
      for (const state of heads) {
        const at = readyAt(state, now);
        if (at <= now) {
          grant(state, state.queue[0]!, now);
          granted = true;
          break; // the global budget changed: look at every head again
        }
        wakeAt = Math.min(wakeAt, at);
      }
      if (!granted) break;
    }
    forgetIdleKeys();
    arm(wakeAt);
  }

  function forgetIdleKeys(): void {
    // Keys stay while they have waiters or requests in flight; conversations while a key uses
    // them, they are paused, or entries are still inside a window.
    const now = clock.now();
    for (const [key, state] of keys) {
      if (state.queue.length || state.inFlight) continue;
      keys.delete(key);
    }
    const used = new Set([...keys.values()].map((state) => state.conversation));
    for (const [id, conversation] of conversations) {
      if (used.has(conversation) || conversation.pausedUntil > now) continue;
      pruneEntries(conversation.entries, longestConversationWindow, now);
      if (conversation.entries.length === 0) conversations.delete(id);
    }
  }

  function arm(at: number): void {
    if (!Number.isFinite(at)) return; // nothing to wait for, or only for a release (which pumps)
    if (timer && timer.at <= at) return;
    timer?.controller.abort();
    const controller = new AbortController();
    const armed = { at, controller };
    timer = armed;
    void clock.sleep(Math.max(0, at - clock.now()), controller.signal).then(() => {
      if (timer === armed) timer = undefined;
      if (!controller.signal.aborted) pump();
    });
  }

  return {
    acquire(key, acquireOptions = {}) {
      const { signal, front } = acquireOptions;
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<PacerSlot>((resolve, reject) => {
        const state = stateOf(key);
        const onAbort = () => {
          const index = state.queue.indexOf(waiter);
          if (index >= 0) state.queue.splice(index, 1);
          reject(signal?.reason);
          pump();
        };
        const waiter: Waiter = {
          seq: front ? --nextFrontSeq - Number.MAX_SAFE_INTEGER / 2 : ++nextSeq,
          key,
          resolve,
          reject,
          detach: () => signal?.removeEventListener('abort', onAbort),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        if (front) state.queue.unshift(waiter);
        else state.queue.push(waiter);
        pump();
      });
    },
    pause(key, ms, pauseOptions = {}) {
      const now = clock.now();
      const state = stateOf(key);
      state.conversation.pausedUntil = Math.max(state.conversation.pausedUntil, now + ms);
      if (pauseOptions.global) globalPausedUntil = Math.max(globalPausedUntil, now + Math.min(ms, globalPauseCap));
      pump();
    },
    stats() {
      let waiting = 0;
      let inFlight = 0;
      for (const state of keys.values()) {
        waiting += state.queue.length;
        inFlight += state.inFlight;
      }
      return { waiting, inFlight, keys: conversations.size };
    },
  };
}
