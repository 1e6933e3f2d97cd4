/**
 * The floor of this stack: a bare botbuilder + restify echo bot, nothing else (no store, no
 * logging, no guard). Same Node.js, the project's own installed botbuilder and restify. It answers
 * a message with "echo: <text>" to the activity's serviceUrl (the local connector) and
 * `/healthz` with 200, like the product, so `npm run bench` can measure both the same way.
 *
 *   node bench/floor-bot.ts      FLOOR_PORT (required), FLOOR_AUTH=off|on, and with `on`:
 *                                FLOOR_APP_ID, FLOOR_APP_PASSWORD, FLOOR_TENANT_ID, FLOOR_OPENID_METADATA
 *
 * It prints one line `floor listening on <port>` once it is listening.
 */
import restify from 'restify';
import { ActivityTypes, CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';

const port = Number(process.env.FLOOR_PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('FLOOR_PORT must be a port number');
const authOn = process.env.FLOOR_AUTH === 'on';

// The same settings keys the product hands botbuilder (src/bot/bot-adapter.ts).
const settings: Record<string, string> = authOn
  ? {
      MicrosoftAppId: process.env.FLOOR_APP_ID ?? '',
      MicrosoftAppPassword: process.env.FLOOR_APP_PASSWORD ?? '',
      MicrosoftAppType: 'SingleTenant',
      MicrosoftAppTenantId: process.env.FLOOR_TENANT_ID ?? '',
      BotOpenIdMetadata: process.env.FLOOR_OPENID_METADATA ?? '',
      ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
      ToChannelFromBotLoginUrl: process.env.FLOOR_LOGIN_URL ?? '',
      ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    }
  : { MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant' };
const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(settings));

const server = restify.createServer();
server.use(restify.plugins.bodyParser());
server.get('/healthz', (_req, res, next) => {
  res.send(200, { ok: true });
  next();
});
server.post('/api/messages', async (req, res) => {
  await adapter.process(req, res, async (context) => {
    if (context.activity.type === ActivityTypes.Message) await context.sendActivity(`echo: ${context.activity.text ?? ''}`);
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`floor listening on ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
