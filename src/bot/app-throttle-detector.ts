/**
 * Tells one conversation's 429 from Teams throttling the app as a whole, from the answers of the
 * last second (Teams' app-wide window).
 */
import { teamsConversationOf, type PacerClock } from './outbound-pacer.ts';

/** A 429 holds every conversation when, within this window, ... */
const APP_THROTTLE_WINDOW_MS = 1000;
/** ... at least this many conversations (a channel with its threads, a chat) were refused with 429 ... */
const APP_THROTTLE_MIN_CONVERSATIONS = 3;
/** ... making up at least this share of the answers (a lone 429 in a storm is a thread's own business). */
const APP_THROTTLE_MIN_SHARE = 0.25;

export type AppThrottleDetector = (key: string, throttled: boolean) => boolean;

export function createAppThrottleDetector(clock: PacerClock): AppThrottleDetector {
  /** Answers of the last second (Teams' app-wide window): tells one conversation's 429 from the app being throttled. */
  const answers: { at: number; conversation: string; throttled: boolean }[] = [];

  /**
   * Records an answer; true when a 429 is one of many at once (several conversations, a good share of
   * the answers): Teams throttles the app as a whole and every conversation should hold back. A lone
   * 429 (a conversation's own limit, a hiccup) holds only its conversation: pausing all of them for
   * it would cost the whole app a second of posting per 429 during a storm.
   */
  return function noteAnswer(key: string, throttled: boolean): boolean {
    const at = clock.now();
    // Teams limits a conversation, not a thread: 429s on three threads of one channel are that channel's.
    answers.push({ at, conversation: teamsConversationOf(key), throttled });
    let stale = 0;
    while (stale < answers.length && answers[stale]!.at <= at - APP_THROTTLE_WINDOW_MS) stale++;
    answers.splice(0, stale);
    if (!throttled) return false;
    const refused = answers.filter((a) => a.throttled);
    return new Set(refused.map((a) => a.conversation)).size >= APP_THROTTLE_MIN_CONVERSATIONS && refused.length >= APP_THROTTLE_MIN_SHARE * answers.length;
  };
}
