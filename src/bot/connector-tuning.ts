/**
 * Takes botbuilder's own retries out of a turn's connector client and adds our per-attempt timeout
 * and abort signal, so that the Teams messenger's retries are the only ones (see teams-messenger.ts).
 */
import type { Activity, TurnContext } from 'botbuilder';
import { AppError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { tracedAttempt } from '../shared/telemetry-http.ts';

/** The parts of botbuilder's ConnectorClient (an Azure core ServiceClient) this module touches. */
interface PipelineRequestLike {
  url: string;
  method: string;
  timeout: number;
  abortSignal?: AbortSignal;
}
interface PipelineLike {
  addPolicy(policy: { name: string; sendRequest(request: PipelineRequestLike, next: (request: PipelineRequestLike) => Promise<unknown>): Promise<unknown> }): void;
  removePolicy(options: { name: string }): unknown;
  getOrderedPolicies(): { name: string }[];
}
export interface ConnectorClientLike {
  conversations: {
    createConversation(parameters: Record<string, unknown>, options?: { abortSignal?: AbortSignal; timeout?: number }): Promise<{ id?: string; activityId?: string }>;
    sendToConversation(conversationId: string, activity: Partial<Activity>, options?: { abortSignal?: AbortSignal; timeout?: number }): Promise<{ id?: string }>;
  };
}

/** The per-attempt abort signal the pipeline policy applies to the request in flight. */
export interface AttemptControl {
  signal: AbortSignal | undefined;
}

export type ConnectorTuner = (context: TurnContext, control: AttemptControl) => ConnectorClientLike;

export function createConnectorTuner(deps: { logger: Logger; timeoutMs: number }): ConnectorTuner {
  const { logger, timeoutMs } = deps;
  let warnedUntunable = false;
  /** Removes botbuilder's own retries from this turn's connector and adds the attempt timeout. */
  return function tune(context: TurnContext, control: AttemptControl): ConnectorClientLike {
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
          return tracedAttempt('bot_connector.request', request, () => next(request) as Promise<{ status?: number }>);
        },
      });
      if (!pipeline.getOrderedPolicies().some((p) => /retry/i.test(p.name))) return connector;
    }
    if (!warnedUntunable) {
      warnedUntunable = true;
      logger.warn('botbuilder connector pipeline not as expected: its own retries stay on under ours (more attempts than configured)');
    }
    return connector;
  };
}
