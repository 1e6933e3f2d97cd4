import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { buildIntegrations, LOOKUP_TIMEOUT_MS } from './composition/integrations.ts';
import { startApprovalSweeper } from './composition/approval-sweeper.ts';
import { startDefenderWriteback, upnLookup } from './composition/defender-writeback.ts';
import { allOwnershipListeners, ownershipWriteback } from './writeback/owner-writeback.ts';
import { warnAboutConfiguration } from './composition/startup-warnings.ts';
import { buildAlertPushRoute, PUSH_OUTBOX_CHECK_MS } from './composition/alert-push.ts';
import { buildTurnHandlers, readerCheckFor } from './composition/turn-handlers.ts';
import { buildOwnersAndEscalation } from './composition/owners-and-escalation.ts';
import { startEscalationSweeper } from './composition/escalation-sweeper.ts';
import type { RunningBot, StartOptions } from './composition/start-options.ts';
import { loadConfig, ConfigError, type Config } from './config/config.ts';
import { environmentWithFiles } from './config/env-files.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { startTelemetry } from './observability/otel-sdk.ts';
import { createBotAdapter, handleBotRequest } from './bot/bot-adapter.ts';
import { createTeamsMessenger } from './bot/teams-messenger.ts';
import { createOutboundPacer } from './bot/outbound-pacer.ts';
import { channelReferenceFromSettings } from './bot/conversation-reference.ts';
import { createHttpServer } from './http/server.ts';
import { frontDoorAuthFor } from './http/front-door.ts';
import { openStore } from './store/index.ts';
import type { Store } from './domain/ports/store.ts';
import { loadActionPolicy } from './actions/action-policy.ts';
import { createNotifier } from './notifier/notifier.ts';
import { resolveDestinations } from './notifier/destinations.ts';
import { createApprovalWorkflow } from './approvals/approval-workflow.ts';
import { createUserListApproverCheck } from './approvals/approver-check.ts';
import { createPersonResolver } from './approvals/person-resolver.ts';
import { createAlertMessageRenderer } from './notifier/alert-message.ts';

export type { RunningBot, StartOptions } from './composition/start-options.ts';

/**
 * The composition root: every adapter and use case is built here, once, from the validated
 * configuration, and handed to what needs it (the parts beside it in src/composition/: the vendor
 * integrations, the turn handlers, the sweeper). Nothing else constructs dependencies.
 */
export async function startIncidentBot(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningBot> {
  // The lab mode's one credential: a per-run secret header (set by the lab and the tests).
  const frontDoor = frontDoorAuthFor({ botAuth: config.botAuth, labSecret: config.labSecret?.reveal(), print: options.printLabSecret ?? ((line) => process.stderr.write(`${line}\n`)) });
  warnAboutConfiguration(config, logger);
  const policy = loadActionPolicy({ file: config.actionPolicyFile });
  const store: Store = await openStore({ databaseUrl: config.databaseUrl.reveal(), logger });
  const integrations = await buildIntegrations(config, logger, options);
  const instanceId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

  const adapter = createBotAdapter({ config, logger });
  // Proactive turns need a non-empty app id even with authentication off.
  const botAppId = config.bot.appId || 'incident-bot-local';
  // One pacer per app and tenant: Teams' global limit is per app, whatever posts.
  const pacer = createOutboundPacer({ maxInFlightPerKey: 1 });
  const messenger = createTeamsMessenger({ adapter, botAppId, logger, timeoutMs: config.outboundTimeoutMs, pacer });
  const configuredChannel = config.teamsChannel
    ? channelReferenceFromSettings({ channelId: config.teamsChannel.channelId, serviceUrl: config.teamsChannel.serviceUrl, tenantId: config.teamsChannel.tenantId, botAppId })
    : undefined;

  const approvers = integrations.groupApprovers ?? createUserListApproverCheck(config.approvers.userIds);
  const channelFor = async (card: { conversationId: string }) => (await resolveDestinations(store, configuredChannel)).forConversation(card.conversationId);
  const defender = startDefenderWriteback({
    enabled: config.defenderWriteback.enabled,
    retrySeconds: config.defenderWriteback.retrySeconds,
    store,
    defender: integrations.defenderWriteback,
    logger,
    instanceId,
    timeoutMs: config.outboundTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const approvals = createApprovalWorkflow({
    store,
    writeback: defender.writeback,
    remediation: integrations.remediation,
    messenger,
    privateMessenger: messenger,
    approvers,
    policy,
    capabilities: integrations.capabilities,
    logger,
    settings: {
      ttlMinutes: config.approvalTtlMinutes,
      maxActionsPerHour: config.maxActionsPerHour,
      dryRun: config.dryRun,
      tempPasswordDelivery: config.tempPasswordDelivery,
      protectedAccounts: config.protectedAccounts,
      protectedApprovals: config.protectedAccountApprovals,
      serviceAccounts: config.serviceAccounts,
      cardFooter: config.cardFooter,
      runLeaseMs: config.approvalRunLeaseSeconds * 1000,
      confirmTimeoutMs: config.executors.mdiConfirmTimeoutSeconds * 1000,
    },
    instanceId,
    resolvePerson:
      integrations.directory || integrations.entraLookup
        ? createPersonResolver({
            directory: integrations.directory,
            entra: integrations.entraLookup,
            store,
            netbiosDomain: integrations.netbiosDomain,
            timeoutMs: LOOKUP_TIMEOUT_MS * 2,
          })
        : undefined,
    ...(options.now ? { now: options.now } : {}),
    channelFor,
  });
  const readers = readerCheckFor(config, integrations);
  const { ownership, escalation } = buildOwnersAndEscalation({
    config,
    logger,
    store,
    integrations,
    approvals,
    approvers,
    readers,
    messenger,
    channelFor,
    instanceId,
    ownershipListener: allOwnershipListeners([
      ...(options.ownershipListener ? [options.ownershipListener] : []),
      // Defender's assignedTo follows the owner (a no-op with write-back off: the recorder records nothing).
      ownershipWriteback(defender.owner, integrations.entraLookup ? upnLookup(integrations.entraLookup) : undefined),
    ]),
    ...(options.now ? { now: options.now } : {}),
  });

  const notifier = createNotifier({
    store,
    sources: integrations.sources,
    messenger,
    policy,
    capabilities: integrations.capabilities,
    config,
    channel: configuredChannel,
    logger,
    instanceId,
    // The one alert-card renderer; the approvals only answer what state the card's actions are in.
    render: createAlertMessageRenderer({
      policy,
      capabilities: integrations.capabilities,
      dryRun: config.dryRun,
      ttlMinutes: config.approvalTtlMinutes,
      ...(config.cardFooter ? { footer: config.cardFooter } : {}),
      cardState: (alertKey) => approvals.cardState(alertKey),
      shownProposals: (record, proposals, state) => approvals.shownProposals(record, proposals, state),
    }),
    // Pushed alerts that reach a standby instance are recorded there and posted by the poller.
    ...(config.alertPush ? { tuning: { outboxCheckMs: PUSH_OUTBOX_CHECK_MS } } : {}),
  });
  const alertPush = buildAlertPushRoute({ config, store, sources: integrations.sources, notifier, logger });

  const logic = buildTurnHandlers({ config, logger, store, integrations, approvals, ownership, approvers, readers, messenger, ...(options.now ? { now: options.now } : {}), ...(options.inboundCacheEntries === undefined ? {} : { inboundCacheEntries: options.inboundCacheEntries }) });

  const http = createHttpServer({
    logger,
    handleMessages: (req) => handleBotRequest(adapter, req, logic, logger),
    auth: frontDoor,
    ...(alertPush ? { alertPush } : {}),
    isReady: async () => {
      await store.ping();
      return true;
    },
  });
  const { port, url } = await http.listen(config.port, config.host);

  const sweeper = await startApprovalSweeper({ approvals, logger, runLeaseSeconds: config.approvalRunLeaseSeconds });
  const escalations = startEscalationSweeper({ escalation, logger, intervalSeconds: config.escalationSweepSeconds });
  notifier.start();

  logger.info(
    { url, store: store.dialect, instance: instanceId, alertSources: integrations.sources.map((s) => s.name), capabilities: integrations.capabilities, dryRun: config.dryRun },
    'incident-bot listening',
  );
  return {
    url,
    port,
    ...(frontDoor.kind === 'lab' ? { labSecret: frontDoor.secret } : {}),
    sweepNow: sweeper.sweep,
    escalateNow: escalations.sweep,
    async stop() {
      sweeper.stop();
      await escalations.stop();
      await http.close();
      await notifier.stop();
      await ownership.idle();
      approvals.close();
      await approvals.idle();
      await defender.stop();
      await store.close();
      logger.info('incident-bot stopped');
    },
  };
}

/**
 * The bot as a process: configuration from the environment (and env/ files), one line per
 * configuration problem and exit 2, structured logs, SIGTERM/SIGINT finish the work in flight.
 * `extend` lets another entry point (the local lab) add start options built from the same logger.
 */
export async function runBotProcess(extend?: (logger: Logger) => StartOptions): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(environmentWithFiles(process.env, resolve(import.meta.dirname, '../env')));
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`incident-bot: configuration error: ${problem}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  // Before anything else runs: an SDK only when an exporter is configured (see otel-sdk.ts).
  const telemetry = await startTelemetry(process.env, logger);
  const bot = await startIncidentBot(config, logger, extend?.(logger));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing work in flight');
    bot
      .stop()
      .then(() => telemetry.stop().catch((error: unknown) => logger.warn({ err: error }, 'telemetry: could not flush on shutdown')))
      .then(
        () => logger.flush(() => process.exit(0)),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          logger.flush(() => process.exit(1));
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Reports a failed start in one line (the cause's sentence, no stack) and exits 1. */
export function exitOnStartFailure(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`incident-bot: could not start: ${message}\n`);
  process.exit(1);
}

if (import.meta.main) {
  runBotProcess().catch(exitOnStartFailure);
}
