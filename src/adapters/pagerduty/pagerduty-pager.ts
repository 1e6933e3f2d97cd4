/**
 * The Pager port on the PagerDuty Events API v2: POST {base}/v2/enqueue with the integration's
 * routing key; `trigger` with the alert key as `dedup_key` (a second trigger for the same key is
 * folded into the open alert by PagerDuty), `resolve` with the same key.
 * Contract: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (PagerDuty/developer-docs,
 * docs/events-API-v2/02-Trigger-Events.md): routing_key and event_action required; payload.summary
 * (≤ 1024), payload.source and payload.severity (critical|error|warning|info) required for a trigger;
 * dedup_key ≤ 255 characters; 202 {status, message, dedup_key}; 400 for an invalid event; 429 when throttled.
 */
import { AppError } from '../../domain/errors.ts';
import type { Secret } from '../../domain/secret.ts';
import type { Page, Pager } from '../../domain/ports/pager.ts';

export interface PagerDutyOptions {
  /** https://events.pagerduty.com (or the EU endpoint), without /v2/enqueue. */
  eventsUrl: string;
  routingKey: Secret;
  timeoutMs: number;
}

const SEVERITY: Record<Page['severity'], 'critical' | 'error' | 'warning' | 'info'> = { high: 'critical', medium: 'error', low: 'warning', informational: 'info', unknown: 'warning' };

export function createPagerDutyPager(options: PagerDutyOptions): Pager {
  const endpoint = `${options.eventsUrl.replace(/\/+$/, '')}/v2/enqueue`;

  async function send(event: Record<string, unknown>): Promise<void> {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ routing_key: options.routingKey.reveal(), ...event }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new AppError('UPSTREAM_ERROR', 'PagerDuty could not be reached.', { cause: error });
    }
    const text = await response.text();
    if (response.status === 202) return;
    // The answer names what was wrong with the event, never the routing key: safe to keep.
    const details = { status: response.status, answer: text.slice(0, 300) };
    if (response.status === 429) throw new AppError('UPSTREAM_THROTTLED', 'PagerDuty is throttling events; the page is retried later.', { details });
    throw new AppError('UPSTREAM_ERROR', `PagerDuty refused the event (HTTP ${response.status}).`, { details });
  }

  return {
    name: 'pagerduty',
    async trigger(page) {
      await send({
        event_action: 'trigger',
        dedup_key: page.dedupKey.slice(0, 255),
        payload: { summary: page.summary.slice(0, 1024), source: 'incident-bot', severity: SEVERITY[page.severity], component: 'Microsoft Defender for Identity', custom_details: page.details },
        ...(page.link ? { links: [{ href: page.link, text: 'Open in Defender' }] } : {}),
        client: 'incident-bot',
      });
    },
    async resolve(dedupKey) {
      await send({ event_action: 'resolve', dedup_key: dedupKey.slice(0, 255) });
    },
  };
}
