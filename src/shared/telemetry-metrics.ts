import { metrics, type Attributes, type Counter, type Histogram } from '@opentelemetry/api';
import { telemetryEnabled } from './telemetry.ts';

/**
 * The bot's metrics, through the OpenTelemetry API. Instruments are created on first use after the
 * SDK was loaded (the API hands out no-op instruments before); with no exporter configured every
 * record call returns at once. Attribute values are sources, kinds, systems, outcomes and Teams
 * conversation ids: nothing secret, nothing about a person.
 */
interface Instruments {
  alertsSeen: Counter;
  alertsPosted: Counter;
  alertsFiltered: Counter;
  cardsPosted: Counter;
  cardsUpdated: Counter;
  teamsThrottled: Counter;
  pacerWait: Histogram;
  approvals: Counter;
  actionDuration: Histogram;
  alertToCard: Histogram;
  clickToResult: Histogram;
}

let instruments: Instruments | undefined;

function get(): Instruments | undefined {
  if (!telemetryEnabled()) return undefined;
  if (instruments) return instruments;
  const meter = metrics.getMeter('incident-bot');
  instruments = {
    alertsSeen: meter.createCounter('incident_bot.alerts.seen', { description: 'Alerts read from a source (overlap re-reads included)', unit: '{alert}' }),
    alertsPosted: meter.createCounter('incident_bot.alerts.posted', { description: 'Alerts posted to Teams as a card', unit: '{alert}' }),
    alertsFiltered: meter.createCounter('incident_bot.alerts.filtered', { description: 'Alerts recorded below MIN_SEVERITY (not posted)', unit: '{alert}' }),
    cardsPosted: meter.createCounter('incident_bot.cards.posted', { description: 'Alert cards posted (new thread or reply)', unit: '{card}' }),
    cardsUpdated: meter.createCounter('incident_bot.cards.updated', { description: 'Alert cards updated in place', unit: '{card}' }),
    teamsThrottled: meter.createCounter('incident_bot.teams.throttled', { description: 'HTTP 429 answers from the Bot Framework connector', unit: '{response}' }),
    pacerWait: meter.createHistogram('incident_bot.teams.pacer.wait', { description: 'Time an outbound Teams call waited for its rate window', unit: 's' }),
    approvals: meter.createCounter('incident_bot.approvals', { description: 'Approval decisions and action results, by outcome', unit: '{decision}' }),
    actionDuration: meter.createHistogram('incident_bot.action.duration', { description: 'Duration of a containment action in its system', unit: 's' }),
    alertToCard: meter.createHistogram('incident_bot.alert_to_card', { description: 'From the first read of an alert to its card in Teams', unit: 's' }),
    clickToResult: meter.createHistogram('incident_bot.click_to_result', { description: 'From the start of a run (the completing click, resume) to its result in the thread', unit: 's' }),
  };
  return instruments;
}

const DECISIONS: Readonly<Record<string, string>> = { 'approval.approved': 'approved', 'approval.denied': 'denied', 'approval.refused': 'refused', 'approval.expired': 'expired' };

/**
 * A Teams conversation as telemetry names it: channel and group conversation ids as they are;
 * every 1:1 chat (keyed `private:<person's object id>`) as `private`, so no person is named.
 */
export function conversationLabel(key: string): string {
  return key.startsWith('private:') ? 'private' : key;
}

const seconds = (ms: number) => Math.max(0, ms) / 1000;

export const telemetryMetrics = {
  alertsPolled(source: string, seen: number, filtered: number): void {
    const m = get();
    if (!m) return;
    m.alertsSeen.add(seen, { 'incident.alert.source': source });
    if (filtered > 0) m.alertsFiltered.add(filtered, { 'incident.alert.source': source });
  },
  alertFiltered(source: string): void {
    get()?.alertsFiltered.add(1, { 'incident.alert.source': source });
  },
  cardPosted(source: string, kind: 'thread' | 'reply', firstSeenAt: Date, now: Date): void {
    const m = get();
    if (!m) return;
    m.alertsPosted.add(1, { 'incident.alert.source': source });
    m.cardsPosted.add(1, { 'incident.card.kind': kind });
    m.alertToCard.record(seconds(now.getTime() - firstSeenAt.getTime()), { 'incident.alert.source': source });
  },
  cardUpdated(kind: 'alert' | 'approval'): void {
    get()?.cardsUpdated.add(1, { 'incident.card.kind': kind });
  },
  throttled(conversation: string): void {
    get()?.teamsThrottled.add(1, { 'incident.conversation': conversationLabel(conversation) });
  },
  pacerWaited(conversation: string, waitedMs: number): void {
    get()?.pacerWait.record(seconds(waitedMs), { 'incident.conversation': conversationLabel(conversation) });
  },
  /**
   * Counts the decisions and results of approvals from their audit entries: `approval.approved`,
   * `.denied`, `.refused`, `.expired` give the outcome by name, `action.executed` by success or failure.
   */
  approvalStep(action: string, auditAction: string, auditOutcome: string): void {
    const m = get();
    if (!m) return;
    const outcome = DECISIONS[auditAction] ?? (auditAction === 'action.executed' ? (auditOutcome === 'success' ? 'succeeded' : 'failed') : undefined);
    if (outcome) m.approvals.add(1, { 'incident.action': action, 'incident.outcome': outcome });
  },
  actionRan(system: string, action: string, outcome: string, durationMs: number): void {
    get()?.actionDuration.record(seconds(durationMs), { 'incident.system': system, 'incident.action': action, 'incident.outcome': outcome } satisfies Attributes);
  },
  clickToResult(action: string, ms: number): void {
    get()?.clickToResult.record(seconds(ms), { 'incident.action': action });
  },
};
