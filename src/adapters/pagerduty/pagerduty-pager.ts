/**
 * The Pager port on the PagerDuty Events API v2: POST {base}/v2/enqueue with the integration's
 * routing key; `trigger` with the alert key as `dedup_key` (a second trigger for the same key is
 * folded into the open alert by PagerDuty), `resolve` with the same key.
 * Contract: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (PagerDuty/developer-docs,
 * docs/events-API-v2/02-Trigger-Events.md): routing_key and event_action required; payload.summary
 * (≤ 1024), payload.source and payload.severity (critical|error|warning|info) required for a trigger;
 * dedup_key ≤ 255 characters; 202 {status, message, dedup_key}; 400 for an invalid event; 429 when throttled.
 */
import type { Secret } from '../../domain/secret.ts';
import type { Page, Pager } from '../../domain/ports/pager.ts';
import { postToPager } from '../../shared/pager-http.ts';

export interface PagerDutyOptions {
  /** https://events.pagerduty.com (or the EU endpoint), without /v2/enqueue. */
  eventsUrl: string;
  routingKey: Secret;
  timeoutMs: number;
}

const SEVERITY: Record<Page['severity'], 'critical' | 'error' | 'warning' | 'info'> = { high: 'critical', medium: 'error', low: 'warning', informational: 'info', unknown: 'warning' };

export function createPagerDutyPager(options: PagerDutyOptions): Pager {
  const endpoint = `${options.eventsUrl.replace(/\/+$/, '')}/v2/enqueue`;

  const send = (event: Record<string, unknown>) =>
    postToPager(endpoint, { body: { routing_key: options.routingKey.reveal(), ...event }, timeoutMs: options.timeoutMs }, { service: 'PagerDuty', item: 'event' });

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
