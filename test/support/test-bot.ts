import { loadConfig } from '../../src/config/config.ts';
import { startIncidentBot, type RunningBot } from '../../src/main.ts';
import { captureLogger, type CapturedLogger } from '../../sim/harness/log-capture.ts';
import { TEST_LAB_SECRET } from './lab-secret.ts';

/**
 * Starts the real bot (composition root included) on an ephemeral loopback port with the given
 * environment on top of a minimal local one, and a captured logger.
 */
export async function startTestBot(env: Record<string, string>): Promise<RunningBot & { log: CapturedLogger }> {
  const log = captureLogger();
  const labSecret = env.BOT_AUTH === 'off' && env.BOT_LAB_SECRET === undefined ? { BOT_LAB_SECRET: TEST_LAB_SECRET } : {};
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ALERT_SOURCES: 'none', DATABASE_URL: 'sqlite::memory:', ...labSecret, ...env });
  const bot = await startIncidentBot(config, log.logger);
  return { ...bot, log };
}
