/**
 * The Pager port on the Opsgenie Alert API: POST {base}/v2/alerts with `Authorization: GenieKey …`
 * and the alert key as `alias` (Opsgenie de-duplicates open alerts by alias), and
 * POST {base}/v2/alerts/{alias}/close?identifierType=alias to close it.
 * Contract: https://docs.opsgenie.com/docs/alert-api ("Create Alert": message required, ≤ 130
 * characters; alias ≤ 512; priority P1–P5; answered 202 {result, took, requestId} because requests
 * are processed asynchronously; "Close Alert" by identifierType=alias, 202 likewise; 422 for an
 * invalid request, 401/403 for a bad key) and https://docs.opsgenie.com/docs/authentication.
 */
import { AppError } from '../../domain/errors.ts';
import type { Secret } from '../../domain/secret.ts';
import type { Page, Pager } from '../../domain/ports/pager.ts';

export interface OpsgenieOptions {
  /** https://api.opsgenie.com (or https://api.eu.opsgenie.com). */
  apiUrl: string;
  apiKey: Secret;
  timeoutMs: number;
}

const PRIORITY: Record<Page['severity'], string> = { high: 'P1', medium: 'P2', low: 'P3', informational: 'P5', unknown: 'P3' };

export function createOpsgeniePager(options: OpsgenieOptions): Pager {
  const base = options.apiUrl.replace(/\/+$/, '');

  async function post(path: string, body: Record<string, unknown>): Promise<void> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `GenieKey ${options.apiKey.reveal()}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new AppError('UPSTREAM_ERROR', 'Opsgenie could not be reached.', { cause: error });
    }
    const text = await response.text();
    if (response.status === 202) return;
    const details = { status: response.status, answer: text.slice(0, 300) };
    if (response.status === 429) throw new AppError('UPSTREAM_THROTTLED', 'Opsgenie is throttling requests; the page is retried later.', { details });
    throw new AppError('UPSTREAM_ERROR', `Opsgenie refused the request (HTTP ${response.status}).`, { details });
  }

  return {
    name: 'opsgenie',
    async trigger(page) {
      await post('/v2/alerts', {
        message: page.summary.slice(0, 130),
        alias: page.dedupKey.slice(0, 512),
        description: [page.summary, page.link ?? ''].filter(Boolean).join('\n').slice(0, 15_000),
        priority: PRIORITY[page.severity],
        source: 'incident-bot',
        details: page.details,
      });
    },
    async resolve(dedupKey, note) {
      await post(`/v2/alerts/${encodeURIComponent(dedupKey.slice(0, 512))}/close?identifierType=alias`, { source: 'incident-bot', note: note.slice(0, 25_000) });
    },
  };
}
