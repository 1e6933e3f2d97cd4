import { createBotAdapter, handleBotRequest } from '../../src/bot/bot-adapter.ts';
import { createTargetedSender } from '../../src/bot/targeted-reply.ts';
import { createTurnLogic } from '../../src/bot/turn-logic.ts';
import type { CommandHandler } from '../../src/domain/ports/chat.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createHttpServer } from '../../src/http/server.ts';
import type { Logger } from '../../src/observability/logger.ts';
import { labJsonHeaders, TEST_LAB_SECRET } from './lab-secret.ts';
import type { InboundActivity } from '../../sim/teams/bot-activity.ts';
import type { BotConnectorServer, SentRecord } from '../../sim/teams/bot-connector-server.ts';

/**
 * A command handler behind the real `/api/messages` pipeline (CloudAdapter with BOT_AUTH=off,
 * turn logic, targeted replies, restify) on an ephemeral loopback port, replying to `connector`.
 */
export interface CommandBot {
  url: string;
  /** POSTs one activity; resolves with the HTTP status and every message the bot has posted so far. */
  send(activity: InboundActivity): Promise<{ status: number; posts: SentRecord[] }>;
  close(): Promise<void>;
}

export async function startCommandBot(options: { onCommand: CommandHandler; connector: BotConnectorServer; logger: Logger }): Promise<CommandBot> {
  const { onCommand, connector, logger } = options;
  const config = loadConfig({ BOT_AUTH: 'off', PORT: '0', ALERT_SOURCES: 'none', DATABASE_URL: 'sqlite::memory:' });
  const adapter = createBotAdapter({ config, logger });
  const logic = createTurnLogic({ onCommand, chat: { sendTargeted: createTargetedSender({ logger }) } }, logger);
  const http = createHttpServer({ logger, handleMessages: (req) => handleBotRequest(adapter, req, logic, logger), isReady: async () => true, auth: { kind: 'lab', secret: TEST_LAB_SECRET } });
  const { url } = await http.listen(0, '127.0.0.1');
  return {
    url,
    async send(activity) {
      const response = await fetch(`${url}/api/messages`, { method: 'POST', headers: labJsonHeaders(), body: JSON.stringify(activity) });
      await response.body?.cancel();
      return { status: response.status, posts: connector.sent.filter((record) => record.activity?.type === 'message') };
    },
    close: () => http.close(),
  };
}
