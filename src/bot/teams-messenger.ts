import { raceAbort } from '../shared/race-abort.ts';
import type { PrivateMessenger } from '../domain/ports/private-messenger.ts';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import { AppError } from '../domain/errors.ts';
import type { Messenger, PostedActivity, ThreadRef } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import { channelOf, parseConversationReference, referenceFor, rootActivityIdOf, threadConversationIdOf } from './conversation-reference.ts';
import { createOutboundPacer, systemClock, type OutboundPacer, type PacerClock, type PacerSlot } from './outbound-pacer.ts';
import { updateKeyOf } from './teams-rate-limits.ts';
import { timeoutSignal } from '../shared/timeout-signal.ts';

import { createAppThrottleDetector } from './app-throttle-detector.ts';
import { createConnectorTuner, type AttemptControl, type ConnectorClientLike } from './connector-tuning.ts';
import { toActivity } from './teams-activity.ts';
import { classify, describe, isRetryable, toAppError, type Failure, type Operation } from './teams-failures.ts';
import { inSpan, SpanKind } from '../shared/telemetry.ts';
import { conversationLabel, telemetryMetrics } from '../shared/telemetry-metrics.ts';

export { ADAPTIVE_CARD_CONTENT_TYPE, toActivity } from './teams-activity.ts';
export { parseRetryAfter } from './teams-failures.ts';
/**
 * The Messenger port on Teams, through botbuilder's CloudAdapter (proactive turns).
 *
 * Retries are ours alone. botbuilder's ConnectorClient sits on an Azure core pipeline whose
 * `defaultRetryPolicy` already retries 429 (with Retry-After), 5xx and socket errors up to 3 times,
 * unseen by us and unpaced; 412 it does not retry. Layered under our own retries that would
 * multiply attempts (4 × ours) and hide the 429s the pacer must hear about. So each turn's connector
 * client gets that policy removed and a per-attempt timeout policy added, and this module decides:
 * retry 429, 412, 502, 503, 504 and connection failures, with exponential backoff and jitter or the
 * service's Retry-After, a bounded number of attempts, each attempt through the pacer.
 */

export interface RetryPolicy {
  /** Attempts in all, first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails as throttled at once. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 15_000, maxRetryAfterMs: 60_000 };

export interface TeamsMessengerDeps {
  adapter: CloudAdapter;
  /** Bot app id for proactive turns; any non-empty string when authentication is off. */
  botAppId: string;
  logger: Logger;
  /** Share one pacer per app and tenant (the global limit is per app); default: a private Teams-limits pacer. */
  pacer?: OutboundPacer;
  /** Timeout of one HTTP attempt. */
  timeoutMs: number;
  /** Bound on a whole call: waiting for the pacer, attempts and backoff. Default 5 minutes. */
  deadlineMs?: number;
  retry?: Partial<RetryPolicy>;
  clock?: PacerClock;
  random?: () => number;
}

export function createTeamsMessenger(deps: TeamsMessengerDeps): Messenger & PrivateMessenger {
  const { adapter, logger, timeoutMs } = deps;
  if (!deps.botAppId) throw new AppError('CONFIG_INVALID', 'The Teams messenger needs a bot app id (any non-empty string when authentication is off).');
  if (!(timeoutMs > 0)) throw new AppError('CONFIG_INVALID', 'The Teams messenger needs a positive timeoutMs.');
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const deadlineMs = deps.deadlineMs ?? 5 * 60_000;
  // One request in flight per thread keeps replies in the order they were asked for; Teams'
  // limits are counted per conversation (a channel with all its threads) by the pacer.
  const pacer = deps.pacer ?? createOutboundPacer({ clock, maxInFlightPerKey: 1 });
  const noteAnswer = createAppThrottleDetector(clock);
  /** Updates of a message still waiting for their turn, by pacer key: a newer one replaces the content. */
  const waitingUpdates = new Map<string, { activity: Record<string, unknown>; done: Promise<void> }>();
  const tune = createConnectorTuner({ logger, timeoutMs });

  /** One span per Teams call (pacer waits and retries inside; each HTTP attempt a child span). */
  function call<T>(operation: Operation, reference: ReturnType<typeof referenceFor>, key: string, idempotent: boolean, action: (context: TurnContext, connector: ConnectorClientLike, control: AttemptControl) => Promise<T>): Promise<T> {
    return inSpan(`teams.${operation}`, { 'incident.conversation': conversationLabel(key) }, () => callNow(operation, reference, key, idempotent, action), { kind: SpanKind.CLIENT });
  }

  async function callNow<T>(operation: Operation, reference: ReturnType<typeof referenceFor>, key: string, idempotent: boolean, action: (context: TurnContext, connector: ConnectorClientLike, control: AttemptControl) => Promise<T>): Promise<T> {
    // Timers cleared when the call is done (not AbortSignal.timeout: see shared/timeout-signal.ts).
    const deadlineTimer = timeoutSignal(deadlineMs);
    const deadline = deadlineTimer.signal;
    const facts = { operation, conversationId: key };
    let outcome: { ok: true; value: T } | { ok: false; error: AppError } | undefined;
    try {
      await adapter.continueConversationAsync(deps.botAppId, reference, async (context) => {
        // Nothing may escape this callback: the adapter's onTurnError would swallow it.
        try {
          const control: AttemptControl = { signal: undefined };
          const connector = tune(context, control);
          outcome = { ok: true, value: await attempts(facts, key, idempotent, deadline, control, () => action(context, connector, control)) };
        } catch (error) {
          outcome = { ok: false, error: error instanceof AppError ? error : new AppError('INTERNAL', `Posting to Teams failed unexpectedly (${operation}).`, { cause: error, details: facts }) };
        }
      });
    } catch (error) {
      // Failures before the turn: credentials, connector creation.
      throw new AppError('UPSTREAM_ERROR', `Could not open a Teams conversation (${operation}).`, { cause: error, details: facts });
    } finally {
      deadlineTimer.clear();
    }
    if (!outcome) throw new AppError('INTERNAL', `The Teams turn ended without running (${operation}).`, { details: facts });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async function attempts<T>(facts: { operation: Operation; conversationId: string }, key: string, idempotent: boolean, deadline: AbortSignal, control: AttemptControl, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let slot: PacerSlot;
      try {
        const waitFrom = performance.now();
        slot = await pacer.acquire(key, { signal: deadline, front: attempt > 1 });
        telemetryMetrics.pacerWaited(key, performance.now() - waitFrom);
      } catch (error) {
        throw new AppError('TIMEOUT', `Teams rate limits kept the message waiting past its deadline (${facts.operation}).`, { cause: error, details: { ...facts, attempts: attempt - 1, deadlineMs } });
      }
      const attemptTimer = timeoutSignal(timeoutMs);
      const attemptTimeout = attemptTimer.signal;
      control.signal = AbortSignal.any([deadline, attemptTimeout]);
      let giveUp: AppError | undefined;
      let pauseMs = 0;
      let pauseAll = false;
      let throttled = false;
      try {
        // The race is a backstop for a connector the timeout policy could not be added to.
        const value = await raceAbort(run(), control.signal);
        noteAnswer(key, false);
        return value;
      } catch (error) {
        if (error instanceof AppError) throw error;
        const failure: Failure = deadline.aborted ? { kind: 'timeout', scope: 'deadline' } : attemptTimeout.aborted ? { kind: 'timeout', scope: 'attempt' } : classify(error, clock.now());
        const retryAfterMs = failure.kind === 'status' ? failure.retryAfterMs : undefined;
        throttled = failure.kind === 'status' && failure.status === 429;
        if (throttled) telemetryMetrics.throttled(key);
        const appThrottled = failure.kind === 'status' && noteAnswer(key, throttled);
        if (!isRetryable(failure, idempotent) || attempt >= retry.maxAttempts || (retryAfterMs ?? 0) > retry.maxRetryAfterMs) {
          giveUp = toAppError(failure, facts, attempt);
        } else {
          pauseMs = retryAfterMs !== undefined ? retryAfterMs + random() * Math.min(250, retryAfterMs * 0.1) : backoff(attempt);
          pauseAll = appThrottled;
          logger.warn({ ...facts, attempt, delayMs: Math.round(pauseMs), failure: describe(failure) }, 'Teams call failed; retrying');
        }
      } finally {
        attemptTimer.clear();
        control.signal = undefined;
        // Pause before releasing: otherwise the next message of this thread would take the freed
        // slot at once. A pause (not a private sleep) makes the messages queued behind this one wait
        // too and keep their order; 429s on many threads at once briefly hold the other threads too.
        if (pauseMs > 0) pacer.pause(key, pauseMs, { global: pauseAll });
        // A 429 did nothing at Teams: its slot is not spent (the pause above holds the conversation).
        slot.release({ throttled });
      }
      if (giveUp) throw giveUp;
    }
  }

  function backoff(attempt: number): number {
    const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    // Equal jitter: never under half the step, so retries stay spaced, yet spread across callers.
    return ceiling / 2 + random() * (ceiling / 2);
  }

  return {
    async startThread(channel, message) {
      const reference = parseConversationReference(channel);
      const channelId = channelOf(reference.conversation.id);
      const activity = toActivity(message);
      const tenantId = reference.conversation.tenantId;
      const parameters: Record<string, unknown> = {
        isGroup: true,
        channelData: { channel: { id: channelId }, ...(tenantId ? { tenant: { id: tenantId } } : {}) },
        activity,
        ...(reference.bot ? { bot: reference.bot } : {}),
        ...(tenantId ? { tenantId } : {}),
      };
      // TeamsInfo.sendMessageToTeamsChannel does this same call, but on a connector of its own that
      // we could not tune (botbuilder's hidden retries); the turn's connector is used instead.
      const created = await call('startThread', referenceFor(reference, channelId), channelId, false, (_context, connector, control) =>
        connector.conversations.createConversation(parameters, { abortSignal: control.signal, timeout: timeoutMs }),
      );
      const threadConversationId = created.id ?? '';
      const rootActivityId = created.activityId || rootActivityIdOf(threadConversationId);
      if (!threadConversationId || !rootActivityId) {
        throw new AppError('UPSTREAM_ERROR', 'Teams created the thread but did not say which message is its root.', { details: { operation: 'startThread', conversationId: channelId } });
      }
      const thread: ThreadRef = {
        channel,
        threadConversationId: threadConversationId.includes(';messageid=') ? threadConversationId : threadConversationIdOf(channelId, rootActivityId),
        conversationId: channelId,
        rootActivityId,
      };
      return thread;
    },

    async reply(thread, message): Promise<PostedActivity> {
      const reference = referenceFor(parseConversationReference(thread.channel), thread.threadConversationId, thread.rootActivityId);
      const activity = toActivity(message);
      const response = await call('reply', reference, thread.threadConversationId, false, (context) => context.sendActivity(activity));
      if (!response?.id) throw new AppError('UPSTREAM_ERROR', 'Teams accepted the reply but returned no message id.', { details: { operation: 'reply', conversationId: thread.threadConversationId } });
      return { conversationId: thread.threadConversationId, activityId: response.id };
    },

    async sendPrivate(recipient, message, via) {
      // A 1:1 chat with one person, created through the tenant of the channel the approval came
      // from: the only place a temporary password may go. Never retried once it may have landed.
      const reference = parseConversationReference(via);
      const tenantId = reference.conversation.tenantId;
      const member = recipient.teamsId ? { id: recipient.teamsId, name: recipient.name } : { id: recipient.aadObjectId, aadObjectId: recipient.aadObjectId, name: recipient.name };
      const parameters: Record<string, unknown> = {
        isGroup: false,
        members: [member],
        channelData: tenantId ? { tenant: { id: tenantId } } : {},
        ...(reference.bot ? { bot: reference.bot } : {}),
        ...(tenantId ? { tenantId } : {}),
      };
      const activity = toActivity(message);
      await call('sendPrivate', referenceFor(reference, reference.conversation.id), `private:${recipient.aadObjectId}`, false, async (_context, connector, control) => {
        const chat = await connector.conversations.createConversation(parameters, { abortSignal: control.signal, timeout: timeoutMs });
        if (!chat.id) throw new AppError('UPSTREAM_ERROR', 'Teams did not open a 1:1 chat with the approver.', { details: { operation: 'sendPrivate' } });
        await connector.conversations.sendToConversation(chat.id, activity, { abortSignal: control.signal, timeout: timeoutMs });
      });
    },

    async update(channel, conversationId, activityId, message) {
      const reference = referenceFor(parseConversationReference(channel), conversationId);
      const activity = { ...toActivity(message), id: activityId };
      // Updates of one message have their own queue (they need not wait behind the thread's replies,
      // nor hold them up), counted on the same conversation's budget. An update is a PUT of the whole
      // activity: while one still waits for its turn, a newer one replaces its content and both
      // callers settle with that one request (the newest card is what everyone should see; the
      // older one would be overwritten anyway and only spend the conversation's budget).
      const key = updateKeyOf(conversationId, activityId);
      const waiting = waitingUpdates.get(key);
      if (waiting) {
        waiting.activity = activity;
        return waiting.done;
      }
      const entry: { activity: Record<string, unknown>; done: Promise<void> } = { activity, done: Promise.resolve() };
      waitingUpdates.set(key, entry);
      // A PUT of the whole activity: repeating it is harmless, so a timed-out attempt may be retried.
      entry.done = call('update', reference, key, true, async (context) => {
        // Taken off the waiting list when it goes out: a later update is then a new request.
        if (waitingUpdates.get(key) === entry) waitingUpdates.delete(key);
        await context.updateActivity(entry.activity);
      }).finally(() => {
        if (waitingUpdates.get(key) === entry) waitingUpdates.delete(key);
      });
      return entry.done;
    },
  };
}

