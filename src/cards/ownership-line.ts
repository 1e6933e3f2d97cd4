import type { AlertOwner } from '../domain/ports/alert-ownership.ts';
import type { Escalation } from '../domain/ports/escalation-store.ts';

/**
 * The small line under an alert card's status: who owns it and how far it was escalated, e.g.
 * "Owner: Alice Example since 03:10 UTC · Paged on-call at 03:12 UTC (resolved)". Short on purpose:
 * a phone shows it on one or two lines.
 */
function clock(date: Date): string {
  return `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')} UTC`;
}

export function ownershipLine(owner: AlertOwner | undefined, escalation: Escalation | undefined): string {
  const parts: string[] = [];
  if (owner) parts.push(`Owner: ${owner.name} since ${clock(owner.since)}`);
  if (escalation?.pagedAt) parts.push(`Paged on-call at ${clock(escalation.pagedAt)}${escalation.pageResolvedAt ? ' (resolved)' : ''}`);
  else if (escalation?.remindedAt) parts.push(`On-call reminded at ${clock(escalation.remindedAt)}`);
  return parts.join(' · ');
}
