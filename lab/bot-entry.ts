import { exitOnStartFailure, runBotProcess } from '../src/main.ts';
import { createMemoryDirectory, readDirectoryFile, writeDirectoryFile } from '../sim/memory-directory.ts';

/**
 * incident-bot for the lab's simulated directory: the same process as `node src/main.ts` (the
 * configuration from the environment, SIGTERM/SIGINT finish the work in flight), plus the
 * in-memory directory seeded from LAB_DIRECTORY_FILE (written by the lab) in place of LDAP.
 * Every change the bot makes is written back to that file, where the lab reads the result.
 * Started by lab/bot-process.ts with NODE_EXTRA_CA_CERTS (the lab's local HTTPS stand-ins).
 */

if (import.meta.main) {
  runBotProcess((logger) => {
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
    return { directory, directoryDomain: seed.netbiosDomain };
  }).catch(exitOnStartFailure);
}
