import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { loadConfig, ConfigError, type Config } from './config/config.ts';
import { environmentWithFiles } from './config/env-files.ts';
import { createLogger, Secret, type Logger } from './observability/logger.ts';
import { createBotAdapter, handleBotRequest } from './bot/bot-adapter.ts';
import { createTurnLogic, type TurnAccess } from './bot/turn-logic.ts';
import { guardInbound } from './bot/inbound-guard.ts';
import { createReplayGuard } from './bot/replay-guard.ts';
import { createMemberCheck } from './bot/member-check.ts';
import { createTeamsMessenger } from './bot/teams-messenger.ts';
import { createOutboundPacer } from './bot/outbound-pacer.ts';
import { createTargetedSender } from './bot/targeted-reply.ts';
import { channelReferenceFromSettings } from './bot/conversation-reference.ts';
import { createHttpServer } from './http/server.ts';
import { LAB_SECRET_HEADER, frontDoorAuthFor } from './http/front-door.ts';
import { openStore } from './store/index.ts';
import type { Store } from './domain/ports/store.ts';
import type { AlertSource } from './domain/ports/alert-source.ts';
import type { Directory } from './domain/ports/directory.ts';
import type { Remediation } from './domain/remediation.ts';
import type { ActionSystem } from './actions/action-names.ts';
import { loadActionPolicy } from './actions/action-policy.ts';
import type { DirectoryCapabilities } from './actions/propose-actions.ts';
import { createRemediationRouter } from './actions/remediation-router.ts';
import { createAdRemediation, dnsDomainOfDn } from './adapters/ldap/ad-remediation.ts';
import { createAzureCredential } from './adapters/azure/azure-credential.ts';
import { createGraphClient, type GraphClient } from './adapters/graph/graph-client.ts';
import { createGraphAlertSource } from './adapters/graph/graph-alert-source.ts';
import { createGraphIdentityActions } from './adapters/graph/graph-identity-actions.ts';
import { createGraphUserLookup } from './adapters/graph/graph-user-lookup.ts';
import { createGraphApproverCheck } from './adapters/graph/graph-approver-check.ts';
import { createGraphReaderCheck } from './adapters/graph/graph-reader-check.ts';
import { createSentinelAlertSource } from './adapters/loganalytics/sentinel-alert-source.ts';
import { createSentinelPersonAlerts } from './adapters/loganalytics/sentinel-person-alerts.ts';
import { createLdapDirectory } from './adapters/ldap/ldap-directory.ts';
import { createOktaClient, type OktaClient } from './adapters/okta/okta-client.ts';
import { createOktaRemediation } from './adapters/okta/okta-remediation.ts';
import { createNotifier } from './notifier/notifier.ts';
import { resolveDestinations } from './notifier/destinations.ts';
import { sourceStatuses } from './notifier/poll-status.ts';
import { createApprovalWorkflow } from './approvals/approval-workflow.ts';
import { createUserListApproverCheck } from './approvals/approver-check.ts';
import { createPersonResolver } from './approvals/person-resolver.ts';
import { createCommandHandler } from './commands/command-handler.ts';
import { createAlertMessageRenderer } from './notifier/alert-message.ts';
import { createOktaUserLookup } from './adapters/okta/okta-user-lookup.ts';
import { createUserListReaderCheck } from './commands/reader-check.ts';
import type { SentinelAlertLookup } from './domain/ports/sentinel-alert-lookup.ts';

/** A running bot: what tests and the local lab hold on to. */
export interface RunningBot {
  url: string;
  port: number;
  /**
   * BOT_AUTH=off: the secret every POST must carry in the lab secret header (BOT_LAB_SECRET or
   * the one generated for this run). Undefined with authentication on.
   */
  labSecret?: string;
  /** Runs the approval sweep now (expiry, then reconciliation) instead of waiting for the timer. */
  sweepNow(): Promise<void>;
  stop(): Promise<void>;
}

/** What a test or the lab may substitute; production passes nothing. */
export interface StartOptions {
  /** Clock of the approval workflow (expiry, leases, audit times) and of the commands (audit, rate limit). */
  now?: () => Date;
  /**
   * The on-premises directory to use instead of the LDAP adapter the configuration describes
   * (the local lab's in-memory directory). AD actions and directory lookups then run against it.
   */
  directory?: Directory;
  /** BOT_AUTH=off without BOT_LAB_SECRET: where the generated lab secret is printed (default stderr). */
  printLabSecret?: (line: string) => void;
  /**
   * NetBIOS name of the domain `directory` serves (CORP); default LDAP_NETBIOS_DOMAIN (or the
   * first DC= of LDAP_BASE_DN) when LDAP is configured, else CORP.
   */
  directoryDomain?: string;
}

/** Graph lookups answer a person in front of a phone: no retries, short deadline. */
const LOOKUP_TIMEOUT_MS = 1_500;
/** How often expired approvals are swept and stuck executions reconciled. */
const SWEEP_INTERVAL_MS = 60_000;

interface Integrations {
  sources: AlertSource[];
  directory?: Directory;
  remediation: Remediation;
  capabilities: DirectoryCapabilities;
  graph?: GraphClient;
  graphLookup?: GraphClient;
  okta?: OktaClient;
  /** Sentinel searched by `lookup` for a person's recent alerts (whenever a workspace is configured). */
  sentinelLookup?: SentinelAlertLookup;
  /** NetBIOS domain of `directory` (CORP), when there is one. */
  netbiosDomain?: string;
}

/** The vendor adapters the configuration enables; nothing is built for what is not configured. */
function buildIntegrations(config: Config, logger: Logger, options: StartOptions = {}): Integrations {
  const timeoutMs = config.outboundTimeoutMs;
  const credential = config.azure ? createAzureCredential(config.azure, { timeoutMs }) : undefined;
  const graph = credential ? createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs, logger }) : undefined;
  const graphLookup = credential ? createGraphClient({ credential, endpoint: config.graphEndpoint, timeoutMs: LOOKUP_TIMEOUT_MS, logger, maxRetries: 0 }) : undefined;

  const sources: AlertSource[] = [];
  if (graph && config.alertSources.includes('graph')) sources.push(createGraphAlertSource({ client: graph, logger }));
  if (credential && config.sentinel && config.alertSources.includes('sentinel')) {
    sources.push(
      createSentinelAlertSource({
        credential,
        endpoint: config.logsEndpoint,
        workspaceId: config.sentinel.workspaceId,
        filter: config.sentinel.alertFilter,
        overlapSeconds: config.sentinel.overlapSeconds,
        logger,
        timeoutMs,
      }),
    );
  }

  // A directory handed in (the lab's in-memory one) replaces the LDAP adapter.
  const directory =
    options.directory ??
    (config.ldap
      ? createLdapDirectory({
          url: config.ldap.url,
          bindDn: config.ldap.bindDn,
          bindPassword: config.ldap.bindPassword,
          baseDn: config.ldap.baseDn,
          caPem: config.ldap.caFile ? readFileSync(config.ldap.caFile, 'utf8') : undefined,
          netbiosDomain: config.ldap.netbiosDomain,
          timeoutMs: config.ldap.timeoutMs,
          logger,
        })
      : undefined);
  // The lookup reads Sentinel whenever a workspace is configured, also when Graph is the alert
  // source: the workspace may hold MDI alerts from before the bot polled, or from another connector.
  const sentinelLookup =
    credential && config.sentinel
      ? createSentinelPersonAlerts({ credential, endpoint: config.logsEndpoint, workspaceId: config.sentinel.workspaceId, filter: config.sentinel.alertFilter, logger, timeoutMs: LOOKUP_TIMEOUT_MS, maxRetries: 0 })
      : undefined;
  const okta = config.okta
    ? createOktaClient({
        orgUrl: config.okta.orgUrl,
        ...(config.okta.oauth
          ? {
              oauth: {
                clientId: config.okta.oauth.clientId,
                privateKeyPem: new Secret(readFileSync(config.okta.oauth.privateKeyPath, 'utf8')),
                ...(config.okta.oauth.keyId ? { keyId: config.okta.oauth.keyId } : {}),
              },
            }
          : {}),
        ...(config.okta.apiToken ? { apiToken: config.okta.apiToken } : {}),
        timeoutMs,
        logger,
      })
    : undefined;

  const systems: Partial<Record<ActionSystem, Remediation>> = {};
  const netbiosDomain = options.directory ? (options.directoryDomain ?? config.ldap?.netbiosDomain ?? 'CORP').toUpperCase() : config.ldap?.netbiosDomain;
  const dnsDomain = config.ldap ? dnsDomainOfDn(config.ldap.baseDn) : undefined;
  if (directory && netbiosDomain) systems.activeDirectory = createAdRemediation({ directory, netbiosDomain, ...(dnsDomain ? { dnsDomain } : {}) });
  if (graph) systems.entra = createGraphIdentityActions({
      client: graph,
      privilegedGroups: (config.entraPrivilegedGroupIds ?? []).map((id) => ({ id })),
      ...(config.entraPrivilegedRoleIds ? { privilegedRoleIds: config.entraPrivilegedRoleIds } : {}),
    });
  if (okta) systems.okta = createOktaRemediation({ client: okta, forgetDevices: config.okta?.forgetDevices ?? false });
  return {
    sources,
    directory,
    remediation: createRemediationRouter(systems),
    capabilities: { activeDirectory: Boolean(directory), entra: Boolean(graph), okta: Boolean(okta) },
    graph,
    graphLookup,
    okta,
    sentinelLookup,
    netbiosDomain,
  };
}

/**
 * The composition root: every adapter and use case is built here, once, from the validated
 * configuration, and handed to what needs it. Nothing else constructs dependencies.
 */
export async function startIncidentBot(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningBot> {
  // The lab mode's one credential: a per-run secret header (set by the lab and the tests).
  const frontDoor = frontDoorAuthFor({ botAuth: config.botAuth, labSecret: config.labSecret?.reveal(), print: options.printLabSecret ?? ((line) => process.stderr.write(`${line}\n`)) });
  if (config.botAuth === 'off') {
    logger.warn({ host: config.host, header: LAB_SECRET_HEADER }, 'BOT_AUTH=off: lab mode without Bot Framework authentication; loopback only, lab secret header required, replies only to a loopback serviceUrl');
  }
  if (config.approvers.groupIds.length === 0 && config.approvers.userIds.length === 0) {
    logger.warn('no approvers configured (APPROVER_GROUP_IDS, APPROVER_USER_IDS): nobody can approve actions');
  }
  if (config.readers.groupIds.length > 0 && !config.azure) logger.warn('READER_GROUP_IDS needs Graph (AZURE_*) to check membership: only READER_USER_IDS and approvers may read');
  if (!config.teamsTenantId) logger.warn('no tenant configured (TEAMS_TENANT_ID, MicrosoftAppTenantId, AZURE_TENANT_ID): Teams turns from any tenant are accepted (BOT_AUTH=off only)');
  if (config.dryRun) logger.warn('DRY_RUN=true: approved actions go through every step except the change itself');
  const policy = loadActionPolicy({ file: config.actionPolicyFile });
  const store: Store = await openStore({ databaseUrl: config.databaseUrl.reveal(), logger });
  const integrations = buildIntegrations(config, logger, options);
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

  const approvers =
    integrations.graph && config.approvers.groupIds.length > 0
      ? createGraphApproverCheck({ client: integrations.graph, groupIds: config.approvers.groupIds, userIds: config.approvers.userIds })
      : createUserListApproverCheck(config.approvers.userIds);
  const approvals = createApprovalWorkflow({
    store,
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
    },
    instanceId,
    resolvePerson:
      integrations.directory || integrations.graphLookup
        ? createPersonResolver({
            directory: integrations.directory,
            entra: integrations.graphLookup ? createGraphUserLookup({ client: integrations.graphLookup }) : undefined,
            store,
            netbiosDomain: integrations.netbiosDomain,
            timeoutMs: LOOKUP_TIMEOUT_MS * 2,
          })
        : undefined,
    ...(options.now ? { now: options.now } : {}),
    channelFor: async (card) => (await resolveDestinations(store, configuredChannel)).forConversation(card.conversationId),
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
    }),
  });

  const onCommand = createCommandHandler({
    store,
    directory: integrations.directory,
    entra: integrations.graphLookup ? createGraphUserLookup({ client: integrations.graphLookup }) : undefined,
    okta: integrations.okta ? createOktaUserLookup(integrations.okta, { timeoutMs: LOOKUP_TIMEOUT_MS }) : undefined,
    sentinel: integrations.sentinelLookup,
    approvals,
    approvers,
    // Who may read besides the approvers; Graph answers for groups (without it, the listed users only).
    readers:
      integrations.graph && config.readers.groupIds.length > 0
        ? createGraphReaderCheck({ client: integrations.graph, groupIds: config.readers.groupIds, userIds: config.readers.userIds })
        : createUserListReaderCheck(config.readers.userIds),
    lookupRatePerMinute: config.lookupRatePerMinute,
    ...(options.now ? { now: options.now } : {}),
    status: {
      alertSources: () => sourceStatuses(store, integrations.sources.map((s) => s.name)),
    },
    capabilities: integrations.capabilities,
    netbiosDomain: integrations.netbiosDomain,
    minSeverity: config.minSeverity,
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
      onCardAction: approvals.onCardAction,
      // Private answers (refusals, personal data): targeted in the conversation, else a 1:1 chat.
      chat: { sendTargeted: createTargetedSender({ logger }), sendPrivate: (recipient, message, via) => messenger.sendPrivate(recipient, message, via), logger },
      access,
    },
    logger,
  );
  // Before a turn reaches the approvals and commands: size limits, once per activity id, and an
  // approval attempt's sender confirmed as one member of the conversation.
  const logic = guardInbound(turnLogic, { logger, replays: createReplayGuard(), members: createMemberCheck({ timeoutMs: config.outboundTimeoutMs }), access });

  const http = createHttpServer({
    logger,
    handleMessages: (req) => handleBotRequest(adapter, req, logic, logger),
    auth: frontDoor,
    isReady: async () => {
      await store.ping();
      return true;
    },
  });
  const { port, url } = await http.listen(config.port, config.host);

  // Executions a crashed instance left running are read back and reported, never re-run blindly.
  await approvals.reconcile().catch((error: unknown) => logger.error({ err: error }, 'reconciling unfinished actions failed; retried by the sweeper'));
  const sweep = async () => {
    await approvals.sweepExpired();
    await approvals.reconcile();
  };
  const sweeper = setInterval(() => {
    void sweep().catch((error: unknown) => logger.error({ err: error }, 'approval sweep failed; next one in a minute'));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  // A run killed just before this start still holds its lease for up to its lifetime: look again
  // once it has lapsed rather than a whole sweep interval later.
  const recheck = setTimeout(() => {
    void approvals.reconcile().catch((error: unknown) => logger.error({ err: error }, 'reconciling unfinished actions failed; retried by the sweeper'));
  }, config.approvalRunLeaseSeconds * 1000 + 500);
  recheck.unref();
  notifier.start();

  logger.info(
    { url, store: store.dialect, instance: instanceId, alertSources: integrations.sources.map((s) => s.name), capabilities: integrations.capabilities, dryRun: config.dryRun },
    'incident-bot listening',
  );
  return {
    url,
    port,
    ...(frontDoor.kind === 'lab' ? { labSecret: frontDoor.secret } : {}),
    sweepNow: sweep,
    async stop() {
      clearInterval(sweeper);
      clearTimeout(recheck);
      await http.close();
      await notifier.stop();
      await approvals.idle();
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
  const bot = await startIncidentBot(config, logger, extend?.(logger));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing work in flight');
    bot.stop().then(
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
