/**
 * Alert owners and escalation (issue 15), built from the configuration: who leads, the on-call
 * tools, the escalation workflow and the ownership workflow (part of the composition root, src/main.ts).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../domain/ports/store.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import type { Messenger, ConversationReferenceJson } from '../domain/ports/messenger.ts';
import type { CardLocation } from '../domain/ports/alert-store.ts';
import type { Pager } from '../domain/ports/pager.ts';
import { NO_OWNERSHIP_LISTENER, type AlertOwnershipListener } from '../domain/ports/alert-ownership.ts';
import type { ApprovalWorkflow } from '../approvals/approval-workflow.ts';
import { createUserListApproverCheck } from '../approvals/approver-check.ts';
import { createPagerDutyPager } from '../adapters/pagerduty/pagerduty-pager.ts';
import { createOpsgeniePager } from '../adapters/opsgenie/opsgenie-pager.ts';
import { createEscalationWorkflow, type EscalationWorkflow } from '../escalation/escalation-workflow.ts';
import { createOwnershipWorkflow, type OwnershipWorkflow } from '../ownership/ownership-workflow.ts';
import type { Integrations } from './integrations.ts';

export interface OwnersAndEscalation {
  ownership: OwnershipWorkflow;
  escalation: EscalationWorkflow;
  pagers: Pager[];
}

export interface OwnersAndEscalationDeps {
  config: Config;
  logger: Logger;
  store: Store;
  integrations: Integrations;
  approvals: ApprovalWorkflow;
  approvers: ApproverCheck;
  readers: ReaderCheck;
  messenger: Messenger;
  channelFor(card: CardLocation): Promise<ConversationReferenceJson | undefined>;
  /** Told of every owner change (the write-back of `assignedTo`); default: nobody. */
  ownershipListener?: AlertOwnershipListener;
  instanceId: string;
  now?: () => Date;
}

export function buildOwnersAndEscalation(deps: OwnersAndEscalationDeps): OwnersAndEscalation {
  const { config, integrations } = deps;
  const leadsConfigured = config.leads.groupIds.length > 0 || config.leads.userIds.length > 0;
  // Leads re-assign and take over; with none configured, the approvers do.
  const leads: ApproverCheck = !leadsConfigured
    ? deps.approvers
    : integrations.groupCheck && config.leads.groupIds.length > 0
      ? integrations.groupCheck(config.leads.groupIds, config.leads.userIds)
      : createUserListApproverCheck(config.leads.userIds);
  const pagers: Pager[] = [];
  if (config.pagerDuty) pagers.push(createPagerDutyPager({ eventsUrl: config.pagerDuty.eventsUrl, routingKey: config.pagerDuty.routingKey, timeoutMs: config.outboundTimeoutMs }));
  if (config.opsgenie) pagers.push(createOpsgeniePager({ apiUrl: config.opsgenie.apiUrl, apiKey: config.opsgenie.apiKey, timeoutMs: config.outboundTimeoutMs }));
  const escalation = createEscalationWorkflow({
    store: deps.store,
    policy: config.escalation,
    pagers,
    messenger: deps.messenger,
    channelFor: deps.channelFor,
    refreshCard: (alertKey) => deps.approvals.updateCard(alertKey),
    logger: deps.logger,
    instanceId: deps.instanceId,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const ownership = createOwnershipWorkflow({
    store: deps.store,
    approvers: deps.approvers,
    readers: deps.readers,
    leads,
    listener: deps.ownershipListener ?? NO_OWNERSHIP_LISTENER,
    stopEscalation: (alertKey, reason) => escalation.stop(alertKey, reason),
    updateCard: (alertKey, statusLine) => deps.approvals.updateCard(alertKey, statusLine),
    renderCard: (alertKey, statusLine) => deps.approvals.renderCard(alertKey, statusLine),
    replyInThread: (alertKey, text) => deps.approvals.replyInThread(alertKey, text),
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return { ownership, escalation, pagers };
}
