/**
 * The Pager port on the Opsgenie Alert API: POST {base}/v2/alerts with `Authorization: GenieKey …`
 * and the alert key as `alias` (Opsgenie de-duplicates open alerts by alias), and
 * POST {base}/v2/alerts/{alias}/close?identifierType=alias to close it.
 * Contract: https://docs.opsgenie.com/docs/alert-api ("Create Alert": message required, ≤ 130
 * characters; alias ≤ 512; priority P1–P5; answered 202 {result, took, requestId} because requests
 * are processed asynchronously; "Close Alert" by identifierType=alias, 202 likewise; 422 for an
 * invalid request, 401/403 for a bad key) and https://docs.opsgenie.com/docs/authentication.
 */
import type { Secret } from '../../domain/secret.ts';
import type { Page, Pager } from '../../domain/ports/pager.ts';
import { postToPager } from '../../shared/pager-http.ts';

export interface OpsgenieOptions {
  /** https://api.opsgenie.com (or https://api.eu.opsgenie.com). */
  apiUrl: string;
  apiKey: Secret;
  timeoutMs: number;
}

const PRIORITY: Record<Page['severity'], string> = { high: 'P1', medium: 'P2', low: 'P3', informational: 'P5', unknown: 'P3' };

export function createOpsgeniePager(options: OpsgenieOptions): Pager {
  const base = options.apiUrl.replace(/\/+$/, '');

  const post = (path: string, body: Record<string, unknown>) =>
    postToPager(`${base}${path}`, { headers: { authorization: `GenieKey ${options.apiKey.reveal()}` }, body, timeoutMs: options.timeoutMs }, { service: 'Opsgenie', item: 'request' });

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
