/**
 * The alert webhook's world, every part real on loopback: the Entra token endpoint (issuing the
 * bot's Graph/Log Analytics tokens AND the webhook callers' tokens), Graph and Log Analytics
 * stand-ins, the local Teams connector, and the bot itself through `startIncidentBot`. Callers get
 * their tokens with the real SDK (@azure/identity), as a Logic App's identity gets its own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { LOG_ANALYTICS_AUDIENCE, startEntraTokenServer, verifyBearer, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startGraphServer, type GraphServer } from '../../sim/graph/graph-server.ts';
import { startLogAnalyticsServer, type LogAnalyticsServer } from '../../sim/loganalytics/log-analytics-server.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { createDemoTenant, type DemoTenant } from '../../sim/tenant.ts';
import { pushSignature, PUSH_SIGNATURE_HEADER, PUSH_TIMESTAMP_HEADER } from '../../src/http/alert-push-auth.ts';
import { startTestBot } from './test-bot.ts';

export const PUSH_AUDIENCE = 'api://incident-bot-alerts-test';
export const CHANNEL = '19:soc-push-0000@thread.tacv2';
const WORKSPACE = '6a0c2c8e-1111-2222-3333-444455556666';

export interface Caller {
  tenantId: string;
  clientId: string;
  secret: string;
  objectId: string;
}

export type PushBot = Awaited<ReturnType<typeof startTestBot>>;

export interface PushHarness {
  demo: DemoTenant;
  tokens: EntraTokenServer;
  graph: GraphServer;
  la: LogAnalyticsServer;
  connector: BotConnectorServer;
  /** The Logic App's managed identity: allowed (by its object id). */
  logicApp: Caller;
  /** An app of the same tenant that is not on the caller list. */
  otherApp: Caller;
  /** The Logic App's client id, registered in another tenant (a multi-tenant app's twin). */
  foreign: Caller;
  hmacSecret: string;
  env(extra?: Record<string, string>): Record<string, string>;
  startBot(extra?: Record<string, string>): Promise<PushBot>;
  /** An access token for `caller` and `scope`, through @azure/identity. */
  token(caller: Caller, scope?: string): Promise<string>;
  /** Headers of a signed push for `body` (timestamp now unless given). */
  signed(body: string, options?: { secret?: string; timestamp?: number }): Record<string, string>;
  push(bot: PushBot, body: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

function caller(tenantId: string, clientId: string = randomUUID()): Caller {
  return { tenantId, clientId, secret: randomBytes(24).toString('base64url'), objectId: randomUUID() };
}

export async function startPushHarness(): Promise<PushHarness> {
  const demo = createDemoTenant();
  const tenantId = demo.tenant.tenantId;
  const bot = caller(tenantId);
  const logicApp = caller(tenantId);
  const otherApp = caller(tenantId);
  const foreign = caller(randomUUID(), logicApp.clientId);
  const clients = [bot, logicApp, otherApp, foreign].map((c) => ({ tenantId: c.tenantId, clientId: c.clientId, clientSecret: c.secret, objectId: c.objectId }));
  const tokens = await startEntraTokenServer({ clients, extraAudiences: [PUSH_AUDIENCE] });
  const graph = await startGraphServer({ tokens, tenant: demo.tenant });
  const la = await startLogAnalyticsServer({ workspaceId: WORKSPACE, verifyToken: (header) => verifyBearer(header, LOG_ANALYTICS_AUDIENCE).ok });
  const connector = await startBotConnectorServer();
  const hmacSecret = randomBytes(36).toString('base64url');
  const dirs: string[] = [];
  const credentials = new Map<string, ClientSecretCredential>();

  const harness: PushHarness = {
    demo,
    tokens,
    graph,
    la,
    connector,
    logicApp,
    otherApp,
    foreign,
    hmacSecret,
    env(extra = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'push-'));
      dirs.push(dir);
      return {
        BOT_AUTH: 'off',
        ALERT_SOURCES: 'graph,sentinel',
        AZURE_TENANT_ID: tenantId,
        AZURE_CLIENT_ID: bot.clientId,
        AZURE_CLIENT_SECRET: bot.secret,
        AZURE_AUTHORITY_HOST: tokens.url,
        GRAPH_ENDPOINT: graph.url,
        LOGS_ENDPOINT: la.endpoint,
        SENTINEL_WORKSPACE_ID: WORKSPACE,
        TEAMS_CHANNEL_ID: CHANNEL,
        TEAMS_SERVICE_URL: connector.serviceUrl,
        // One poll at start, then none during a test: whatever is posted after it was pushed.
        POLL_INTERVAL_SECONDS: '86400',
        ALERT_PUSH_AUDIENCE: PUSH_AUDIENCE,
        ALERT_PUSH_CALLER_IDS: logicApp.objectId,
        ALERT_PUSH_HMAC_SECRET: hmacSecret,
        ALERT_PUSH_HMAC_WINDOW_SECONDS: '120',
        DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`,
        ...extra,
      };
    },
    startBot(extra = {}) {
      return startTestBot(harness.env(extra));
    },
    async token(c, scope = `${PUSH_AUDIENCE}/.default`) {
      const key = `${c.tenantId}/${c.clientId}`;
      let credential = credentials.get(key);
      if (!credential) {
        credential = new ClientSecretCredential(c.tenantId, c.clientId, c.secret, { authorityHost: tokens.url, disableInstanceDiscovery: true });
        credentials.set(key, credential);
      }
      const token = await credential.getToken(scope);
      return token.token;
    },
    signed(body, options = {}) {
      const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
      return { [PUSH_TIMESTAMP_HEADER]: timestamp, [PUSH_SIGNATURE_HEADER]: `sha256=${pushSignature(options.secret ?? hmacSecret, timestamp, body)}` };
    },
    async push(target, body, headers) {
      const response = await fetch(`${target.url}/api/alerts/notify`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: response.status, body: parsed };
    },
    async close() {
      await Promise.all([tokens.close(), graph.close(), la.close(), connector.close()]);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
