import { resolve } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../src/config/config.ts';
import { environmentWithFiles } from '../src/config/env-files.ts';
import { startIncidentBot } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createMemoryDirectory, readDirectoryFile, writeDirectoryFile } from './memory-directory.ts';

/**
 * incident-bot for the lab's simulated directory: the same process as `node src/main.ts` (the
 * configuration from the environment, SIGTERM/SIGINT finish the work in flight), plus the
 * in-memory directory seeded from LAB_DIRECTORY_FILE (written by the lab) in place of LDAP.
 * Every change the bot makes is written back to that file, where the lab reads the result.
 * Started by lab/bot-process.ts with NODE_EXTRA_CA_CERTS (the lab's local HTTPS stand-ins).
 */

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
  const file = process.env.LAB_DIRECTORY_FILE;
  if (!file) throw new Error('LAB_DIRECTORY_FILE is not set (the lab writes it; run `npm run lab`)');
  const seed = readDirectoryFile(file);
  const directory = createMemoryDirectory({
    users: seed.users,
    baseDn: seed.baseDn,
    netbiosDomain: seed.netbiosDomain,
    logger,
    onChange: (users) => writeDirectoryFile(file, { ...seed, users }),
  });
  logger.info({ file, users: seed.users.length, domain: seed.netbiosDomain }, 'lab: simulated (in-memory) directory in place of LDAP');
  const bot = await startIncidentBot(config, logger, { directory, directoryDomain: seed.netbiosDomain });
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
