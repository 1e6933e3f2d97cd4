import { randomBytes, randomUUID } from 'node:crypto';
import { LOG_ANALYTICS_AUDIENCE, startEntraTokenServer, type EntraTokenServer } from './entra/entra-token-server.ts';
import { startGraphServer, type GraphServer } from './graph/graph-server.ts';
import { startLogAnalyticsServer, type LogAnalyticsServer } from './loganalytics/log-analytics-server.ts';
import { startOktaServer, type OktaServer } from './okta/okta-server.ts';
import type { Tenant } from './tenant.ts';

/**
 * The Microsoft cloud and Okta as the lab simulates them: the same local HTTPS stand-ins the
 * tests use (Entra token endpoint, Graph, Log Analytics for Sentinel, Okta), all in THIS process
 * because the resource servers verify tokens with the token server's in-process key.
 * Credentials are generated per run; nothing is written to disk.
 */

export interface LabCloud {
  tokens: EntraTokenServer;
  graph: GraphServer;
  logAnalytics: LogAnalyticsServer;
  okta: OktaServer;
  /** Environment for the bot process (contains the run's generated secrets). */
  botEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLabCloud(tenant: Tenant): Promise<LabCloud> {
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString('base64url');
  const oktaToken = `00${randomBytes(20).toString('base64url')}`;
  const workspaceId = randomUUID();
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const tokens = await startEntraTokenServer({ clients: [{ tenantId: tenant.tenantId, clientId, clientSecret }] });
    started.push(tokens);
    const graph = await startGraphServer({ tokens, tenant });
    started.push(graph);
    const logAnalytics = await startLogAnalyticsServer({
      workspaceId,
      verifyToken: (header) => tokens.verifyBearer(header, LOG_ANALYTICS_AUDIENCE).ok,
    });
    started.push(logAnalytics);
    const okta = await startOktaServer({ apiToken: oktaToken, tenant });
    started.push(okta);
    return {
      tokens,
      graph,
      logAnalytics,
      okta,
      botEnv: {
        AZURE_TENANT_ID: tenant.tenantId,
        AZURE_CLIENT_ID: clientId,
        AZURE_CLIENT_SECRET: clientSecret,
        AZURE_AUTHORITY_HOST: tokens.url,
        GRAPH_ENDPOINT: graph.url,
        LOGS_ENDPOINT: logAnalytics.endpoint,
        SENTINEL_WORKSPACE_ID: workspaceId,
        OKTA_ORG_URL: okta.url,
        OKTA_API_TOKEN: oktaToken,
      },
      stop: () => closeAll(started),
    };
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

async function closeAll(servers: Array<{ close(): Promise<void> }>): Promise<void> {
  await Promise.allSettled(servers.map((s) => s.close()));
}
