import { raceAbort } from '../shared/race-abort.ts';
import type { PrivateMessenger } from '../domain/ports/private-messenger.ts';
import type { Activity, CloudAdapter, TurnContext } from 'botbuilder';
import { AppError, type ErrorCode } from '../domain/errors.ts';
import type { Messenger, OutboundMessage, PostedActivity, ThreadRef } from '../domain/ports/messenger.ts';
import type { Logger } from '../observability/logger.ts';
import { channelOf, parseConversationReference, referenceFor, rootActivityIdOf, threadConversationIdOf } from './conversation-reference.ts';
import { createOutboundPacer, systemClock, teamsConversationOf, type OutboundPacer, type PacerClock, type PacerSlot } from './outbound-pacer.ts';

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

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

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

type Operation = 'startThread' | 'reply' | 'update' | 'sendPrivate';

/** What failed in one attempt, reduced to what the retry decision and the final error need. */
type Failure =
  | { kind: 'status'; status: number; retryAfterMs?: number; vendorCode?: string }
  | { kind: 'network'; code: string }
  | { kind: 'timeout'; scope: 'attempt' | 'deadline' }
  | { kind: 'unexpected'; error: unknown };

/** A 429 holds every conversation when, within this window, ... */
const APP_THROTTLE_WINDOW_MS = 1000;
/** ... at least this many conversations (a channel with its threads, a chat) were refused with 429 ... */
const APP_THROTTLE_MIN_CONVERSATIONS = 3;
/** ... making up at least this share of the answers (a lone 429 in a storm is a thread's own business). */
const APP_THROTTLE_MIN_SHARE = 0.25;

const RETRY_STATUSES: ReadonlySet<number> = new Set([412, 429, 502, 503, 504]);
// Connection-level failures worth another try (the request may not have reached Teams, or Teams dropped it).
const RETRY_NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/** The parts of botbuilder's ConnectorClient (an Azure core ServiceClient) this module touches. */
interface PipelineRequestLike {
  timeout: number;
  abortSignal?: AbortSignal;
}
interface PipelineLike {
  addPolicy(policy: { name: string; sendRequest(request: PipelineRequestLike, next: (request: PipelineRequestLike) => Promise<unknown>): Promise<unknown> }): void;
  removePolicy(options: { name: string }): unknown;
  getOrderedPolicies(): { name: string }[];
}
interface ConnectorClientLike {
  conversations: {
    createConversation(parameters: Record<string, unknown>, options?: { abortSignal?: AbortSignal; timeout?: number }): Promise<{ id?: string; activityId?: string }>;
    sendToConversation(conversationId: string, activity: Partial<Activity>, options?: { abortSignal?: AbortSignal; timeout?: number }): Promise<{ id?: string }>;
  };
}

/** The per-attempt abort signal the pipeline policy applies to the request in flight. */
interface AttemptControl {
  signal: AbortSignal | undefined;
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
  let warnedUntunable = false;
  /** Answers of the last second (Teams' app-wide window): tells one conversation's 429 from the app being throttled. */
  const answers: { at: number; conversation: string; throttled: boolean }[] = [];

  /**
   * Records an answer; true when a 429 is one of many at once (several conversations, a good share of
   * the answers): Teams throttles the app as a whole and every conversation should hold back. A lone
   * 429 (a conversation's own limit, a hiccup) holds only its conversation: pausing all of them for
   * it would cost the whole app a second of posting per 429 during a storm.
   */
  function noteAnswer(key: string, throttled: boolean): boolean {
    const at = clock.now();
    // Teams limits a conversation, not a thread: 429s on three threads of one channel are that channel's.
    answers.push({ at, conversation: teamsConversationOf(key), throttled });
    let stale = 0;
    while (stale < answers.length && answers[stale]!.at <= at - APP_THROTTLE_WINDOW_MS) stale++;
    answers.splice(0, stale);
    if (!throttled) return false;
    const refused = answers.filter((a) => a.throttled);
    return new Set(refused.map((a) => a.conversation)).size >= APP_THROTTLE_MIN_CONVERSATIONS && refused.length >= APP_THROTTLE_MIN_SHARE * answers.length;
  }

  /** Removes botbuilder's own retries from this turn's connector and adds the attempt timeout. */
  function tune(context: TurnContext, control: AttemptControl): ConnectorClientLike {
    const connector = context.turnState.get(context.adapter.ConnectorClientKey) as ConnectorClientLike | undefined;
    if (!connector) throw new AppError('INTERNAL', 'botbuilder gave the proactive turn no connector client.');
    // `client` is private in botbuilder-stdlib's ServiceClientContext; checked shape, warned fallback.
    const pipeline = (connector as unknown as { client?: { pipeline?: Partial<PipelineLike> } }).client?.pipeline;
    if (pipeline && typeof pipeline.removePolicy === 'function' && typeof pipeline.addPolicy === 'function' && typeof pipeline.getOrderedPolicies === 'function') {
      pipeline.removePolicy({ name: 'defaultRetryPolicy' });
      // Idempotent should botbuilder ever reuse a connector across turns (addPolicy refuses duplicates).
      pipeline.removePolicy({ name: 'incidentBotAttempt' });
      pipeline.addPolicy({
        name: 'incidentBotAttempt',
        sendRequest: (request, next) => {
          if (control.signal) request.abortSignal = request.abortSignal ? AbortSignal.any([request.abortSignal, control.signal]) : control.signal;
          request.timeout = timeoutMs;
          return next(request);
        },
      });
      if (!pipeline.getOrderedPolicies().some((p) => /retry/i.test(p.name))) return connector;
    }
    if (!warnedUntunable) {
      warnedUntunable = true;
      logger.warn('botbuilder connector pipeline not as expected: its own retries stay on under ours (more attempts than configured)');
    }
    return connector;
  }

  async function call<T>(operation: Operation, reference: ReturnType<typeof referenceFor>, key: string, idempotent: boolean, action: (context: TurnContext, connector: ConnectorClientLike, control: AttemptControl) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(deadlineMs);
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
    }
    if (!outcome) throw new AppError('INTERNAL', `The Teams turn ended without running (${operation}).`, { details: facts });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async function attempts<T>(facts: { operation: Operation; conversationId: string }, key: string, idempotent: boolean, deadline: AbortSignal, control: AttemptControl, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let slot: PacerSlot;
      try {
        slot = await pacer.acquire(key, { signal: deadline, front: attempt > 1 });
      } catch (error) {
        throw new AppError('TIMEOUT', `Teams rate limits kept the message waiting past its deadline (${facts.operation}).`, { cause: error, details: { ...facts, attempts: attempt - 1, deadlineMs } });
      }
      const attemptTimeout = AbortSignal.timeout(timeoutMs);
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
        const appThrottled = failure.kind === 'status' && noteAnswer(key, throttled);
        if (!isRetryable(failure, idempotent) || attempt >= retry.maxAttempts || (retryAfterMs ?? 0) > retry.maxRetryAfterMs) {
          giveUp = toAppError(failure, facts, attempt);
        } else {
          pauseMs = retryAfterMs !== undefined ? retryAfterMs + random() * Math.min(250, retryAfterMs * 0.1) : backoff(attempt);
          pauseAll = appThrottled;
          logger.warn({ ...facts, attempt, delayMs: Math.round(pauseMs), failure: describe(failure) }, 'Teams call failed; retrying');
        }
      } finally {
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
      // A PUT of the whole activity: repeating it is harmless, so a timed-out attempt may be retried.
      await call('update', reference, conversationId, true, async (context) => {
        await context.updateActivity(activity);
      });
    },
  };
}

/** The message activity for an OutboundMessage: a card attachment (summary for notifications) or text. */
export function toActivity(message: OutboundMessage): Partial<Activity> {
  if (message.card) {
    return {
      type: 'message',
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: message.card }],
      ...(message.text ? { text: message.text, textFormat: 'markdown' } : {}),
      ...(message.summary || message.text ? { summary: message.summary ?? message.text } : {}),
    };
  }
  if (message.text) return { type: 'message', text: message.text, textFormat: 'markdown', ...(message.summary ? { summary: message.summary } : {}) };
  throw new AppError('INPUT_INVALID', 'A Teams message needs text or a card.');
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function classify(error: unknown, now: number): Failure {
  const e = error as { statusCode?: unknown; code?: unknown; cause?: { code?: unknown }; response?: { status?: unknown; headers?: { get?: (name: string) => string | undefined | null }; parsedBody?: unknown; bodyAsText?: unknown } };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.response?.status === 'number' ? e.response.status : undefined;
  if (status !== undefined && status > 0) {
    const headers = e.response?.headers;
    const header = (name: string) => (typeof headers?.get === 'function' ? headers.get(name) : undefined);
    const retryAfterMsHeader = Number(header('retry-after-ms'));
    const retryAfterMs = Number.isFinite(retryAfterMsHeader) && header('retry-after-ms') ? retryAfterMsHeader : parseRetryAfter(header('retry-after'), now);
    return { kind: 'status', status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...vendorCodeOf(e.response) };
  }
  const codes = [e?.code, e?.cause?.code].filter((c): c is string => typeof c === 'string');
  const network = codes.find((c) => RETRY_NETWORK_CODES.has(c));
  if (network) return { kind: 'network', code: network };
  // Azure core wraps socket failures as REQUEST_SEND_ERROR, with the socket's code in the message.
  if (codes.includes('REQUEST_SEND_ERROR')) {
    const inMessage = [...RETRY_NETWORK_CODES].find((c) => String((error as Error).message).includes(c));
    return { kind: 'network', code: inMessage ?? 'REQUEST_SEND_ERROR' };
  }
  return { kind: 'unexpected', error };
}

function vendorCodeOf(response: { parsedBody?: unknown; bodyAsText?: unknown } | undefined): { vendorCode?: string } {
  let body = response?.parsedBody;
  if (body === undefined && typeof response?.bodyAsText === 'string') {
    try {
      body = JSON.parse(response.bodyAsText);
    } catch {
      return {};
    }
  }
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? { vendorCode: code } : {};
}

function isRetryable(failure: Failure, idempotent: boolean): boolean {
  switch (failure.kind) {
    case 'status':
      return RETRY_STATUSES.has(failure.status);
    case 'network':
      return true;
    case 'timeout':
      // A POST that timed out may have landed: a second one would post the message twice.
      return failure.scope === 'attempt' && idempotent;
    case 'unexpected':
      return false;
  }
}

function toAppError(failure: Failure, facts: { operation: Operation; conversationId: string }, attempts: number): AppError {
  const details: Record<string, unknown> = { ...facts, attempts };
  switch (failure.kind) {
    case 'status': {
      Object.assign(details, { status: failure.status }, failure.vendorCode ? { vendorCode: failure.vendorCode } : {}, failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {});
      const code: ErrorCode =
        failure.status === 429 ? 'UPSTREAM_THROTTLED' : failure.status === 401 || failure.status === 403 ? 'UPSTREAM_FORBIDDEN' : failure.status === 404 ? 'UPSTREAM_NOT_FOUND' : 'UPSTREAM_ERROR';
      const what = code === 'UPSTREAM_THROTTLED' ? 'kept throttling the bot' : code === 'UPSTREAM_FORBIDDEN' ? 'refused the bot access' : code === 'UPSTREAM_NOT_FOUND' ? 'does not know the conversation or message' : 'failed';
      return new AppError(code, `Teams ${what} (HTTP ${failure.status}, ${facts.operation}, ${attempts} attempt${attempts > 1 ? 's' : ''}).`, { details });
    }
    case 'network':
      return new AppError('UPSTREAM_ERROR', `Could not reach Teams (${failure.code}, ${facts.operation}, ${attempts} attempt${attempts > 1 ? 's' : ''}).`, { details: { ...details, networkCode: failure.code } });
    case 'timeout':
      return new AppError('TIMEOUT', failure.scope === 'deadline' ? `Teams did not take the message before its deadline (${facts.operation}).` : `Teams did not answer in time (${facts.operation}).`, { details: { ...details, scope: failure.scope } });
    case 'unexpected':
      return new AppError('UPSTREAM_ERROR', `Posting to Teams failed (${facts.operation}).`, { cause: failure.error, details });
  }
}

function describe(failure: Failure): string {
  switch (failure.kind) {
    case 'status':
      return `HTTP ${failure.status}${failure.retryAfterMs !== undefined ? ` retry-after ${failure.retryAfterMs}ms` : ''}`;
    case 'network':
      return failure.code;
    case 'timeout':
      return `timeout (${failure.scope})`;
    case 'unexpected':
      return 'unexpected error';
  }
}

