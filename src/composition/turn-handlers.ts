/**
 * What a Teams turn reaches: the command handler, the approvals' card actions, private answers,
 * the access rules and the inbound guard (part of the composition root, src/main.ts).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { TurnLogic } from '../bot/bot-adapter.ts';
import { createTurnLogic, type TurnAccess } from '../bot/turn-logic.ts';
import { guardInbound } from '../bot/inbound-guard.ts';
import { createReplayGuard } from '../bot/replay-guard.ts';
import { createMemberCheck } from '../bot/member-check.ts';
import { createTargetedSender } from '../bot/targeted-reply.ts';
import type { Store } from '../domain/ports/store.ts';
import type { ApproverCheck } from '../domain/ports/approver-check.ts';
import type { PrivateMessenger } from '../domain/ports/private-messenger.ts';
import type { ApprovalWorkflow } from '../approvals/approval-workflow.ts';
import type { OwnershipWorkflow } from '../ownership/ownership-workflow.ts';
import type { ReaderCheck } from '../domain/ports/reader-check.ts';
import { createCommandHandler } from '../commands/command-handler.ts';
import { createUserListReaderCheck } from '../commands/reader-check.ts';
import { sourceStatuses } from '../notifier/poll-status.ts';
import type { Integrations } from './integrations.ts';

export interface TurnHandlerDeps {
  config: Config;
  logger: Logger;
  store: Store;
  integrations: Integrations;
  approvals: ApprovalWorkflow;
  /** Take it / take / assign (issue 15). */
  ownership?: OwnershipWorkflow;
  approvers: ApproverCheck;
  /** Who may read besides the approvers (built once, in readerCheckFor). */
  readers: ReaderCheck;
  messenger: PrivateMessenger;
  now?: () => Date;
  /** Bound of the inbound guard's caches, replay ids and member answers (defaults 20,000 and 5,000). */
  inboundCacheEntries?: number;
}

/** Who may read besides the approvers; Graph answers for groups (without it, the listed users only). */
export function readerCheckFor(config: Config, integrations: Integrations): ReaderCheck {
  return integrations.groupReaders ?? createUserListReaderCheck(config.readers.userIds);
}

export function buildTurnHandlers(deps: TurnHandlerDeps): TurnLogic {
  const { config, logger, store, integrations, approvals, messenger } = deps;
  const onCommand = createCommandHandler({
    store,
    directory: integrations.directory,
    entra: integrations.entraLookup,
    okta: integrations.oktaLookup,
    sentinel: integrations.sentinelLookup,
    approvals,
    ...(deps.ownership ? { ownership: deps.ownership } : {}),
    approvers: deps.approvers,
    readers: deps.readers,
    lookupRatePerMinute: config.lookupRatePerMinute,
    ...(deps.now ? { now: deps.now } : {}),
    status: {
      alertSources: () => sourceStatuses(store, integrations.sources.map((s) => s.name)),
    },
    capabilities: integrations.capabilities,
    netbiosDomain: integrations.netbiosDomain,
    minSeverity: config.minSeverity,
    defenderWriteback: config.defenderWriteback.enabled,
    logger,
  });
  // Teams only (test channels with BOT_AUTH=off), our tenant only; refused approval attempts audited.
  const access: TurnAccess = {
    botAuth: config.botAuth,
    tenantId: config.teamsTenantId,
    onRefused: async (refusal) => {
      await store.appendAudit({ at: new Date(), actor: refusal.actor, action: 'approval.unauthorized', outcome: 'refused', details: { attempted: refusal.attempted, name: refusal.name, refusedBecause: refusal.reason, channelId: refusal.channelId, tenantId: refusal.tenantId } });
    },
  };
  const turnLogic = createTurnLogic(
    {
      // Typed approval commands too: the command handler is their one path into the approval use cases.
      onCommand,
      // One handler per verb: `take` to the ownership use cases, the rest to the approvals.
      onCardAction: (action, turn) => (deps.ownership?.verbs.has(action.verb) ? deps.ownership.onCardAction(action, turn) : approvals.onCardAction(action, turn)),
      // Private answers (refusals, personal data): targeted in the conversation, else a 1:1 chat.
      chat: { sendTargeted: createTargetedSender({ logger }), sendPrivate: (recipient, message, via) => messenger.sendPrivate(recipient, message, via), logger },
      access,
    },
    logger,
  );
  const bound = deps.inboundCacheEntries === undefined ? {} : { maxEntries: deps.inboundCacheEntries };
  // Before a turn reaches the approvals and commands: size limits, once per activity id, and an
  // approval attempt's sender confirmed as one member of the conversation.
  return guardInbound(turnLogic, { logger, replays: createReplayGuard(bound), members: createMemberCheck({ timeoutMs: config.outboundTimeoutMs, ...bound }), access });
}
