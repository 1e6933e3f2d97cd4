import { resolve } from 'node:path';
import { loadConfig, ConfigError, type Config } from './config/config.ts';
import { environmentWithFiles } from './config/env-files.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createBotAdapter, handleBotRequest } from './bot/bot-adapter.ts';
import { createTurnLogic } from './bot/turn-logic.ts';
import { createHttpServer } from './http/server.ts';
import { openStore } from './store/index.ts';

/** A running bot: what tests and the local lab hold on to. */
export interface RunningBot {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The composition root: every adapter and use case is built here, once, from the validated
 * configuration, and handed to what needs it. Nothing else constructs dependencies.
 */
export async function startIncidentBot(config: Config, logger: Logger): Promise<RunningBot> {
  if (config.botAuth === 'off') {
    logger.warn({ host: config.host }, 'BOT_AUTH=off: /api/messages accepts unauthenticated requests; bound to loopback only');
  }
  if (config.approvers.groupIds.length === 0 && config.approvers.userIds.length === 0) {
    logger.warn('no approvers configured (APPROVER_GROUP_IDS, APPROVER_USER_IDS): nobody can approve actions');
  }
  const store = await openStore({ databaseUrl: config.databaseUrl.reveal(), logger });
  const adapter = createBotAdapter({ config, logger });
  const logic = createTurnLogic({}, logger);
  const http = createHttpServer({
    logger,
    handleMessages: (req) => handleBotRequest(adapter, req, logic, logger),
    isReady: async () => {
      await store.ping();
      return true;
    },
  });
  const { port, url } = await http.listen(config.port, config.host);
  logger.info({ url, store: store.dialect, alertSources: config.alertSources, dryRun: config.dryRun }, 'incident-bot listening');
  return {
    url,
    port,
    async stop() {
      await http.close();
      await store.close();
      logger.info('incident-bot stopped');
    },
  };
}

async function main(): Promise<void> {
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
  const bot = await startIncidentBot(config, logger);
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

if (import.meta.main) {
  main().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`incident-bot: could not start: ${message}\n`);
    process.exit(1);
  });
}
