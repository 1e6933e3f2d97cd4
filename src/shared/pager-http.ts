import { AppError } from '../domain/errors.ts';

/**
 * One POST of JSON to a paging service whose API answers 202 Accepted (it queues the request):
 * PagerDuty's Events API v2 and Opsgenie's Alert API. Anything else becomes a typed error in the
 * service's own words: 429 is UPSTREAM_THROTTLED (the escalation sweep pages again later), any
 * other status or no answer UPSTREAM_ERROR. The first 300 characters of a refusal are kept as
 * details: both services name what was wrong with the request there, never the credential.
 */
export async function postToPager(
  url: string,
  request: { headers?: Record<string, string>; body: Record<string, unknown>; timeoutMs: number },
  words: { service: string; item: 'event' | 'request' },
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...request.headers },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    throw new AppError('UPSTREAM_ERROR', `${words.service} could not be reached.`, { cause: error });
  }
  const text = await response.text();
  if (response.status === 202) return;
  const details = { status: response.status, answer: text.slice(0, 300) };
  if (response.status === 429) throw new AppError('UPSTREAM_THROTTLED', `${words.service} is throttling ${words.item}s; the page is retried later.`, { details });
  throw new AppError('UPSTREAM_ERROR', `${words.service} refused the ${words.item} (HTTP ${response.status}).`, { details });
}
