/**
 * When an unanswered alert is escalated, and to whom (ESCALATION_POLICY): per severity, remind in
 * the alert's thread after N minutes without an owner or a decision, @mentioning the on-call people
 * and/or a Teams tag, then page through the configured on-call tool. Quiet hours, schedules and
 * rotations belong to the on-call tool, not to the bot.
 */
import type { Severity } from './alert.ts';

export interface SeverityEscalation {
  /** Minutes after the card was posted without an owner or a decision: reply in the thread with the @mentions. */
  remindAfterMinutes?: number;
  /** Minutes after the card was posted: page the on-call tool (once; dedup key = the alert key). */
  pageAfterMinutes?: number;
}

/** Someone to @mention: a person (Entra object id or Teams `29:` id) or a Teams tag. */
export type EscalationMention = { kind: 'user'; id: string; name: string } | { kind: 'tag'; id: string; name: string };

export interface EscalationPolicy {
  bySeverity: Partial<Record<Severity, SeverityEscalation>>;
  mention: EscalationMention[];
  /** Remind in the thread this many minutes before a pending approval expires (absent: never). */
  remindBeforeExpiryMinutes?: number;
}

export const NO_ESCALATION: EscalationPolicy = { bySeverity: {}, mention: [] };

/** Severities the policy escalates at all. */
export function escalatedSeverities(policy: EscalationPolicy): Severity[] {
  return (Object.entries(policy.bySeverity) as [Severity, SeverityEscalation][]).filter(([, rule]) => rule.remindAfterMinutes !== undefined || rule.pageAfterMinutes !== undefined).map(([severity]) => severity);
}
