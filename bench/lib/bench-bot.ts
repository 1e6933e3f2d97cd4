import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadConfig } from '../../src/config/config.ts';
import { startIncidentBot, type RunningBot } from '../../src/main.ts';
import { createLogger } from '../../src/observability/logger.ts';

/**
 * The real bot (composition root included) in this process, on an ephemeral loopback port, with
 * BOT_AUTH=off and the given environment. It logs at LOG_LEVEL (default info, as in production)
 * to a file: a benchmark should pay what production pays for logging, not the debug capture the
 * tests keep in memory.
 */
export async function startBenchBot(env: Record<string, string>, logFile: string): Promise<RunningBot & { logFile: string }> {
  const stream = createWriteStream(logFile, { flags: 'w' });
  await once(stream, 'open');
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'info', destination: stream });
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', BOT_AUTH: 'off', ...env });
  const bot = await startIncidentBot(config, logger);
  return {
    ...bot,
    logFile,
    async stop() {
      await bot.stop();
      stream.end();
    },
  };
}
