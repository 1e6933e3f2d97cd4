import { errorCode, isAppError } from '../domain/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { PushOutcome } from '../notifier/ingest-pushed-alert.ts';
import { parsePushedAlertRef, type PushedAlertRef } from '../notifier/pushed-alert-ref.ts';
import type { PushCaller } from './alert-push-auth.ts';

export type IngestPush = (ref: PushedAlertRef, caller: string) => Promise<PushOutcome>;

/** Who pushed, for the log and the audit: the app id of an Entra caller; signed pushes share one secret. */
export function callerName(caller: PushCaller): string {
  return caller.kind === 'entra' ? `push:${caller.caller.appId || caller.caller.objectId}` : 'push:signed';
}

/**
 * The webhook's answer. 202: the alert was read from its source and is recorded (`queued`: its
 * card is posted behind the answer; `known`: it was already; `filtered`: below MIN_SEVERITY);
 * 404: the source has no such MDI alert (nothing posted); 400: the body names no alert; 422: a
 * source the bot does not read; 503: the source could not be read now (the caller may retry; the
 * poll catches it anyway); 502: the bot may not read it (a permission is missing).
 */
export async function answerAlertPush(ingest: IngestPush, body: unknown, caller: PushCaller, logger: Logger): Promise<{ status: number; body: Record<string, unknown> }> {
  const parsed = parsePushedAlertRef(body);
  if (!parsed.ok) {
    logger.warn({ caller: callerName(caller), problem: parsed.message }, 'alert push refused: the body names no alert');
    return { status: 400, body: { error: parsed.message } };
  }
  try {
    const outcome = await ingest(parsed.ref, callerName(caller));
    switch (outcome.outcome) {
      case 'recorded':
        // Below MIN_SEVERITY: recorded (it shows in `alerts`) but not posted, as a polled one.
        return { status: 202, body: { status: outcome.postState === 'filtered' ? 'filtered' : outcome.created ? 'queued' : 'known', alert: outcome.code } };
      case 'not-found':
        return { status: 404, body: { error: 'No such MDI alert at its source; nothing was posted.' } };
      case 'source-not-configured':
        return { status: 422, body: { error: `This bot does not read alerts from ${outcome.source} (ALERT_SOURCES).` } };
    }
  } catch (error) {
    logger.warn({ err: error, errorCode: errorCode(error), source: parsed.ref.source }, 'alert push: the source could not be read; the caller may retry and the poll will catch it');
    const retryable = !isAppError(error) || error.code !== 'UPSTREAM_FORBIDDEN';
    return { status: retryable ? 503 : 502, body: { error: 'The alert source could not be read now; nothing was posted.' } };
  }
}
