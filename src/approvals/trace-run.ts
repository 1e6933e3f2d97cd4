import type { Approval } from '../domain/ports/approval-store.ts';
import { alertLinks, inSpan } from '../shared/telemetry.ts';
import { telemetryMetrics } from '../shared/telemetry-metrics.ts';

/**
 * The run of an approved action as one span (`approval.run`: the remediation's inspect, run and
 * read-back spans, the card update and the thread line are its children), linked to its alert's
 * anchor, and its time from the start (the completing click, `resume`) to the result in the thread.
 */
export function traceRun(approval: Approval, run: () => Promise<void>): Promise<void> {
  const started = performance.now();
  const attributes = { 'incident.approval.id': approval.id, 'incident.action': approval.action, 'incident.alert.key': approval.alertKey };
  return inSpan('approval.run', attributes, run, { links: alertLinks(approval.alertKey) }).finally(() => telemetryMetrics.clickToResult(approval.action, performance.now() - started));
}
