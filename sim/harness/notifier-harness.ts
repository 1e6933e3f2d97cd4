/**
 * The notifier's world, all real parts on loopback: Entra token endpoint, Graph and Log Analytics
 * stand-ins read through the real adapters (MSAL, microsoft-graph-client, monitor-query-logs),
 * the Teams messenger (botbuilder CloudAdapter) posting to the local connector, and a real store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createGraphAlertSource } from '../../src/adapters/graph/graph-alert-source.ts';
import { createSentinelAlertSource } from '../../src/adapters/loganalytics/sentinel-alert-source.ts';
import { loadActionPolicy } from '../../src/actions/action-policy.ts';
import { createBotAdapter, type GuardedCloudAdapter } from '../../src/bot/bot-adapter.ts';
import { channelReferenceFromSettings } from '../../src/bot/conversation-reference.ts';
import { createTeamsMessenger } from '../../src/bot/teams-messenger.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Severity } from '../../src/domain/alert.ts';
import type { AlertSource } from '../../src/domain/ports/alert-source.ts';
import type { ConversationReferenceJson, Messenger } from '../../src/domain/ports/messenger.ts';
import { createNotifier, type Notifier, type NotifierDeps, type NotifierTuning } from '../../src/notifier/notifier.ts';
import { Secret } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../teams/bot-connector-server.ts';
import { LOG_ANALYTICS_AUDIENCE, startEntraTokenServer, verifyBearer, type EntraTokenServer } from '../entra/entra-token-server.ts';
import { startGraphServer, type GraphServer } from '../graph/graph-server.ts';
import { startLogAnalyticsServer, type LogAnalyticsServer } from '../loganalytics/log-analytics-server.ts';
import { createDemoTenant, type DemoTenant } from '../tenant.ts';
import { captureLogger, type CapturedLogger } from './log-capture.ts';

export const CHANNEL = '19:soc-incidents-0000@thread.tacv2';
export const WORKSPACE = '5f0c2c8e-1111-2222-3333-444455556666';
const CLIENT_ID = 'a1b2c3d4-0000-4000-8000-00000000a0f1';
const BOT_APP_ID = 'local-incident-bot';

export interface NotifierHarness {
  demo: DemoTenant;
  tokens: EntraTokenServer;
  graph: GraphServer;
  la: LogAnalyticsServer;
  connector: BotConnectorServer;
  log: CapturedLogger;
  /** The configured channel (as TEAMS_CHANNEL_ID + TEAMS_SERVICE_URL give it). */
  channel: ConversationReferenceJson;
  graphSource(): AlertSource;
  /** The Graph source with its own paging (production defaults where not given). */
  graphSourceWith(paging: { pageSize?: number; maxPages?: number }): AlertSource;
  sentinelSource(): AlertSource;
  messenger(): Messenger;
  /** A fresh SQLite store in a temp directory, or a store on the given URL. */
  store(databaseUrl?: string): Promise<Store>;
  notifier(store: Store, options?: NotifierOptions): Notifier;
  close(): Promise<void>;
}

export interface NotifierOptions {
  instanceId?: string;
  sources?: AlertSource[];
  minSeverity?: Severity;
  threadWindowMinutes?: number;
  channel?: ConversationReferenceJson | null;
  clock?: NotifierDeps['clock'];
  tuning?: Partial<NotifierTuning>;
  messenger?: Messenger;
  /** POLL_INTERVAL_SECONDS (default 5). */
  pollIntervalSeconds?: number;
}

export async function startNotifierHarness(options: { graphPageSize?: number } = {}): Promise<NotifierHarness> {
  const secret = randomBytes(24).toString('base64url');
  const log = captureLogger('info');
  const demo = createDemoTenant();
  const tokens = await startEntraTokenServer({ clients: [{ tenantId: demo.tenant.tenantId, clientId: CLIENT_ID, clientSecret: secret }] });
  const graph = await startGraphServer({ tokens, tenant: demo.tenant, alertPageSize: options.graphPageSize ?? 50 });
  const la = await startLogAnalyticsServer({ workspaceId: WORKSPACE, verifyToken: (header) => verifyBearer(header, LOG_ANALYTICS_AUDIENCE).ok });
  const connector = await startBotConnectorServer();
  const adapter: GuardedCloudAdapter = createBotAdapter({ config: loadConfig({ BOT_AUTH: 'off', ALERT_SOURCES: 'none' }), logger: log.logger });
  const credential = createAzureCredential(
    { tenantId: demo.tenant.tenantId, clientId: CLIENT_ID, clientSecret: new Secret(secret), managedIdentity: false, authorityHost: tokens.url },
    { timeoutMs: 5000 },
  );
  const dirs: string[] = [];
  const channel = channelReferenceFromSettings({ channelId: CHANNEL, serviceUrl: connector.serviceUrl, tenantId: demo.tenant.tenantId, botAppId: BOT_APP_ID, botName: 'Incident Bot' });
  const policy = loadActionPolicy();

  const harness: NotifierHarness = {
    demo,
    tokens,
    graph,
    la,
    connector,
    log,
    channel,
    graphSource() {
      // Small pages so that a handful of alerts already spans several pages; SDK retries fast.
      const client = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5000, logger: log.logger, maxRetries: 1, retryDelaySeconds: 0 });
      return createGraphAlertSource({ client, logger: log.logger, pageSize: options.graphPageSize ?? 3 });
    },
    graphSourceWith(paging) {
      const client = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5000, logger: log.logger, maxRetries: 1, retryDelaySeconds: 0 });
      return createGraphAlertSource({ client, logger: log.logger, ...paging });
    },
    sentinelSource() {
      return createSentinelAlertSource({ credential, endpoint: la.endpoint, workspaceId: WORKSPACE, logger: log.logger, timeoutMs: 5000, maxRetries: 0 });
    },
    messenger() {
      return createTeamsMessenger({ adapter, botAppId: BOT_APP_ID, logger: log.logger, timeoutMs: 5000, retry: { baseDelayMs: 50, maxAttempts: 6 } });
    },
    async store(databaseUrl) {
      if (databaseUrl) return openStore({ databaseUrl, logger: log.logger });
      const dir = mkdtempSync(join(tmpdir(), 'notifier-'));
      dirs.push(dir);
      return openStore({ databaseUrl: `sqlite:${join(dir, 'bot.db')}`, logger: log.logger });
    },
    notifier(store, o = {}) {
      return createNotifier({
        store,
        sources: o.sources ?? [harness.graphSource()],
        messenger: o.messenger ?? harness.messenger(),
        policy,
        capabilities: { activeDirectory: true, entra: true, okta: false },
        config: { pollIntervalSeconds: o.pollIntervalSeconds ?? 5, minSeverity: o.minSeverity ?? 'low', threadWindowMinutes: o.threadWindowMinutes ?? 60, dryRun: false },
        ...(o.channel === null ? {} : { channel: o.channel ?? channel }),
        logger: log.logger,
        instanceId: o.instanceId ?? `test-${randomBytes(3).toString('hex')}`,
        ...(o.clock ? { clock: o.clock } : {}),
        tuning: { retry: { baseMs: 50, maxMs: 400 }, fetchTimeoutMs: 15_000, ...o.tuning },
      });
    },
    async close() {
      await Promise.all([tokens.close(), graph.close(), la.close(), connector.close()]);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
