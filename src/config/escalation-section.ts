/** The configuration of alert owners and escalation (issue 15): leads, the policy, the on-call tools. */
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { SEVERITIES } from '../domain/alert.ts';
import type { EscalationMention, EscalationPolicy } from '../domain/escalation-policy.ts';
import type { Secret } from '../domain/secret.ts';
import { GUID, stripSlash, type Reader } from './env-reader.ts';

export interface OwnershipEscalationConfig {
  /** LEAD_GROUP_IDS / LEAD_USER_IDS: who may re-assign an alert or take it over. Both empty: the approvers. */
  leads: { groupIds: string[]; userIds: string[] };
  escalation: EscalationPolicy;
  escalationSweepSeconds: number;
  pagerDuty?: { eventsUrl: string; routingKey: Secret };
  opsgenie?: { apiUrl: string; apiKey: Secret };
}

interface PolicyRule {
  remindAfterMinutes?: number;
  pageAfterMinutes?: number;
}

/**
 * The policy's schema, built on first use: the validator (zod) is loaded only when an operator set
 * ESCALATION_POLICY, so a deployment without escalation never loads it (see action-policy.ts).
 */
function policySchema() {
  const { z } = createRequire(import.meta.url)('zod') as typeof Zod;
  const minutes = z.number().positive().max(10_080);
  const rule = z.object({ remindAfterMinutes: minutes.optional(), pageAfterMinutes: minutes.optional() }).strict();
  const mention = z.union([
    z.object({ user: z.string().min(1).max(200), name: z.string().min(1).max(100) }).strict(),
    z.object({ tag: z.string().min(1).max(200), name: z.string().min(1).max(100) }).strict(),
  ]);
  return z
    .object({
      ...Object.fromEntries(SEVERITIES.map((severity) => [severity, rule.optional()])),
      mention: z.array(mention).max(20).optional(),
      remindBeforeExpiryMinutes: minutes.optional(),
    })
    .strict();
}

function parsePolicy(text: string | undefined, problems: string[]): EscalationPolicy {
  if (text === undefined) return { bySeverity: {}, mention: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push('ESCALATION_POLICY: must be JSON, e.g. {"high":{"remindAfterMinutes":10,"pageAfterMinutes":30},"mention":[{"user":"<object id>","name":"On-call"}]}');
    return { bySeverity: {}, mention: [] };
  }
  const parsed = policySchema().safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    problems.push(`ESCALATION_POLICY: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    return { bySeverity: {}, mention: [] };
  }
  const value = parsed.data as Record<string, unknown> & { mention?: ({ user: string; name: string } | { tag: string; name: string })[]; remindBeforeExpiryMinutes?: number };
  const bySeverity: EscalationPolicy['bySeverity'] = {};
  for (const severity of SEVERITIES) {
    const r = value[severity] as PolicyRule | undefined;
    if (!r) continue;
    if (r.remindAfterMinutes !== undefined && r.pageAfterMinutes !== undefined && r.pageAfterMinutes <= r.remindAfterMinutes) {
      problems.push(`ESCALATION_POLICY: ${severity}.pageAfterMinutes must be later than ${severity}.remindAfterMinutes (both count from the card's posting)`);
    }
    bySeverity[severity] = r;
  }
  const mentions: EscalationMention[] = (value.mention ?? []).map((m) => ('user' in m ? { kind: 'user', id: m.user, name: m.name } : { kind: 'tag', id: m.tag, name: m.name }));
  for (const m of mentions) {
    if (m.kind === 'user' && !GUID.test(m.id) && !/^29:[\w-]+$/.test(m.id)) problems.push(`ESCALATION_POLICY: mention user "${m.id}" must be an Entra object id (GUID) or a Teams user id (29:…)`);
  }
  return { bySeverity, mention: mentions, ...(value.remindBeforeExpiryMinutes === undefined ? {} : { remindBeforeExpiryMinutes: value.remindBeforeExpiryMinutes }) };
}

export function readOwnershipEscalation(r: Reader, problems: string[]): OwnershipEscalationConfig {
  const routingKey = r.secret('PAGERDUTY_ROUTING_KEY');
  const eventsUrl = stripSlash(r.url('PAGERDUTY_EVENTS_URL') ?? 'https://events.pagerduty.com');
  const apiKey = r.secret('OPSGENIE_API_KEY');
  const apiUrl = stripSlash(r.url('OPSGENIE_API_URL') ?? 'https://api.opsgenie.com');
  const escalation = parsePolicy(r.text('ESCALATION_POLICY'), problems);
  const pages = Object.values(escalation.bySeverity).some((rule) => rule?.pageAfterMinutes !== undefined);
  if (pages && !routingKey && !apiKey) problems.push('ESCALATION_POLICY: pageAfterMinutes needs an on-call tool: set PAGERDUTY_ROUTING_KEY or OPSGENIE_API_KEY');
  return {
    leads: { groupIds: r.guidList('LEAD_GROUP_IDS'), userIds: r.guidList('LEAD_USER_IDS') },
    escalation,
    escalationSweepSeconds: r.int('ESCALATION_SWEEP_SECONDS', 30, 1, 3_600),
    ...(routingKey ? { pagerDuty: { eventsUrl, routingKey } } : {}),
    ...(apiKey ? { opsgenie: { apiUrl, apiKey } } : {}),
  };
}
