import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningKey, startBotOpenIdServer, type BotOpenIdServer } from '../../sim/teams/bot-openid-server.ts';
import { startTestBot } from '../support/test-bot.ts';
import { labJsonHeaders } from '../support/lab-secret.ts';

// Inbound Bot Framework authentication, proven with real RS256 tokens against a local OpenID
// metadata + JWKS endpoint (botbuilder's BotOpenIdMetadata setting).
describe('bot endpoint authentication (MicrosoftAppId set)', () => {
  const appId = randomUUID();
  const serviceUrl = 'https://smba.example.test/emea/';
  let openId: BotOpenIdServer;
  let bot: Awaited<ReturnType<typeof startTestBot>>;

  beforeAll(async () => {
    openId = await startBotOpenIdServer();
    bot = await startTestBot({
      MicrosoftAppId: appId,
      MicrosoftAppPassword: randomBytes(24).toString('base64url'),
      MicrosoftAppTenantId: randomUUID(),
      BotOpenIdMetadata: openId.metadataUrl,
      ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    });
  });
  afterAll(async () => {
    await bot?.stop();
    await openId?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const goodClaims = () => ({ iss: 'https://api.botframework.com', aud: appId, serviceurl: serviceUrl, nbf: now() - 60, exp: now() + 3600 });
  const activity = (id: string) => ({
    type: 'event',
    name: 'auth-probe',
    id,
    channelId: 'msteams',
    serviceUrl,
    from: { id: '29:probe', aadObjectId: randomUUID() },
    recipient: { id: `28:${appId}` },
    conversation: { id: 'a:probe' },
  });
  async function post(id: string, authorization?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const response = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers, body: JSON.stringify(activity(id)) });
    return { status: response.status, body: await response.text() };
  }
  const processedTurns = () => bot.log.lines().filter((l) => l.msg === 'turn').map((l) => l.turn);

  it('accepts a valid token and processes the activity', async () => {
    const result = await post('valid-1', `Bearer ${openId.signToken(goodClaims())}`);
    expect(result.status).toBe(200);
    expect(processedTurns()).toContain('valid-1');
  });

  const rejected: [string, () => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['a malformed header', () => 'Bearer not-a-jwt'],
    ['an expired token', () => `Bearer ${openId.signToken({ ...goodClaims(), nbf: now() - 7200, exp: now() - 3600 })}`],
    ['a token for another audience', () => `Bearer ${openId.signToken({ ...goodClaims(), aud: randomUUID() })}`],
    ['a token from another issuer', () => `Bearer ${openId.signToken({ ...goodClaims(), iss: 'https://sts.windows.net/evil/' })}`],
    ['a token signed by an unknown key', () => `Bearer ${openId.signToken(goodClaims(), { key: makeSigningKey() })}`],
    ['a token for another serviceUrl', () => `Bearer ${openId.signToken({ ...goodClaims(), serviceurl: 'https://attacker.example.test/' })}`],
  ];
  it.each(rejected)('rejects %s with 401, leaks nothing and processes nothing', async (label, header) => {
    const id = `rejected-${label.replaceAll(' ', '-')}`;
    const result = await post(id, header());
    expect(result.status).toBe(401);
    expect(result.body).toBe('');
    expect(processedTurns()).not.toContain(id);
  });
});

describe('bot endpoint without authentication (BOT_AUTH=off)', () => {
  it('binds loopback, warns, and processes requests that carry the lab secret header', async () => {
    const bot = await startTestBot({ BOT_AUTH: 'off', HOST: '0.0.0.0' });
    try {
      expect(bot.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect(bot.log.lines().some((l) => l.level === 'warn' && String(l.msg).includes('BOT_AUTH=off'))).toBe(true);
      const response = await fetch(`${bot.url}/api/messages`, {
        method: 'POST',
        headers: labJsonHeaders(),
        body: JSON.stringify({ type: 'event', name: 'probe', id: 'open-1', channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', from: { id: 'u' }, recipient: { id: 'b' }, conversation: { id: 'c' } }),
      });
      expect(response.status).toBe(200);
    } finally {
      await bot.stop();
    }
  });
});
