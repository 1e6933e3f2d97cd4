import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personalMessage, type TeamsContext } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { cacheConnectorClients, CONNECTOR_CACHE_ENTRIES } from '../../src/bot/connector-cache.ts';
import { ConfigurationBotFrameworkAuthentication, type TurnContext } from 'botbuilder';
import { loadConfig } from '../../src/config/config.ts';
import { createBotAdapter, handleBotRequest } from '../../src/bot/bot-adapter.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { TEST_LAB_SECRET } from '../support/lab-secret.ts';

// Replies reuse one Bot Framework connector client per bot identity, serviceUrl and audience,
// instead of botbuilder building a new client, credentials object and HTTP pipeline every turn.
describe('connector clients reused from turn to turn', () => {
  let connector: BotConnectorServer;
  beforeAll(async () => {
    connector = await startBotConnectorServer();
  });
  afterAll(async () => {
    await connector?.close();
  });

  it('the real adapter hands every turn to the same serviceUrl the same client, and the replies arrive', async () => {
    const config = loadConfig({ PORT: '0', BOT_AUTH: 'off', BOT_LAB_SECRET: TEST_LAB_SECRET, ALERT_SOURCES: 'none', DATABASE_URL: 'sqlite::memory:' });
    const logger = captureLogger().logger;
    const adapter = createBotAdapter({ config, logger });
    const teams: TeamsContext = { serviceUrl: connector.serviceUrl, botAppId: randomUUID(), tenantId: randomUUID() };
    const clients: unknown[] = [];
    const logic = async (context: TurnContext) => {
      clients.push(context.turnState.get(adapter.ConnectorClientKey));
      await context.sendActivity(`echo ${clients.length}`);
    };
    for (let i = 0; i < 5; i++) {
      const reply = await handleBotRequest(adapter, { method: 'POST', headers: {}, body: personalMessage(teams, { text: 'help' }) }, logic, logger);
      expect(reply.status).toBe(200);
    }
    expect(clients).toHaveLength(5);
    expect(new Set(clients).size).toBe(1);
    expect(connector.sent.filter((record) => record.kind === 'reply').map((record) => record.activity?.text)).toEqual(['echo 1', 'echo 2', 'echo 3', 'echo 4', 'echo 5']);
  });
});

describe('the connector client cache', () => {
  // botbuilder's own authentication with authentication off: factories and clients are real, nothing is called.
  const auth = () => cacheConnectorClients(new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant' }));
  // A ClaimsIdentity as botframework-connector's getAppId reads it (audience claim, else appid claim).
  const identity = (claims: Record<string, string>) => ({ claims: [], isAuthenticated: true, getClaimValue: (type: string) => claims[type] ?? null }) as unknown as Parameters<ReturnType<typeof auth>['createConnectorFactory']>[0];
  const url = 'https://127.0.0.1:1/';

  it('lends a client only to the same bot identity, serviceUrl and audience', async () => {
    const a = auth();
    const first = await a.createConnectorFactory(identity({ aud: 'bot-a' })).create(url, 'scope');
    expect(await a.createConnectorFactory(identity({ aud: 'bot-a' })).create(url, 'scope')).toBe(first);
    expect(await a.createConnectorFactory(identity({ appid: 'bot-a' })).create(url, 'scope')).toBe(first);
    expect(await a.createConnectorFactory(identity({ aud: 'bot-b' })).create(url, 'scope')).not.toBe(first);
    expect(await a.createConnectorFactory(identity({ aud: 'bot-a' })).create('https://127.0.0.1:2/', 'scope')).not.toBe(first);
    expect(await a.createConnectorFactory(identity({ aud: 'bot-a' })).create(url, 'other-scope')).not.toBe(first);
    // Another adapter's cache is its own.
    expect(await auth().createConnectorFactory(identity({ aud: 'bot-a' })).create(url, 'scope')).not.toBe(first);
  });

  it('is bounded: a hostile stream of serviceUrls evicts the least recently used, never grows past its size', async () => {
    const a = auth();
    const factory = a.createConnectorFactory(identity({ aud: 'bot-a' }));
    const kept = await factory.create(url, 'scope');
    const first = await factory.create('https://127.0.0.1:10000/', 'scope');
    for (let i = 1; i < CONNECTOR_CACHE_ENTRIES; i++) {
      await factory.create(`https://127.0.0.1:${10000 + i}/`, 'scope');
      expect(await factory.create(url, 'scope')).toBe(kept);
    }
    expect(await factory.create('https://127.0.0.1:10000/', 'scope')).not.toBe(first);
    expect(await factory.create(url, 'scope')).toBe(kept);
  });

  it('does not keep a failed creation: the next turn tries again', async () => {
    let calls = 0;
    const failingOnce = {
      createConnectorFactory: () => ({ create: async () => (++calls === 1 ? Promise.reject(new Error('token endpoint unreachable')) : { client: calls }) }),
      authenticateRequest: async () => ({}),
      createUserTokenClient: async () => ({}),
    } as unknown as ReturnType<typeof auth>;
    const factory = cacheConnectorClients(failingOnce).createConnectorFactory(identity({ aud: 'bot-a' }));
    await expect(factory.create(url, 'scope')).rejects.toThrow('token endpoint unreachable');
    const second = await factory.create(url, 'scope');
    expect(second).toEqual({ client: 2 });
    expect(await factory.create(url, 'scope')).toBe(second);
  });
});
