import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createLdapDirectory } from '../src/adapters/ldap/ldap-directory.ts';
import type { Directory, DirectoryUser } from '../src/domain/ports/directory.ts';
import { Secret, type Logger } from '../src/observability/logger.ts';
import { createDirectoryFileView, writeDirectoryFile } from './memory-directory.ts';

/**
 * The lab's on-premises directory: a real Samba AD DC on loopback when this machine can run one
 * (Linux, root, Samba installed or installable with apt), the same fixtures the tests use.
 * Otherwise a simulated directory with the same people: the in-memory Directory of
 * sim/memory-directory.ts, seeded from a file the lab writes and held by the bot process
 * (lab/bot-entry.ts), which writes every change back there. The card footer says which.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const SAMBA_SCRIPT = join(ROOT, 'scripts/samba-ad.sh');
/** The bot as `npm start` runs it (LDAP from the environment). */
const BOT_MAIN = join(ROOT, 'src/main.ts');
/** The bot with the in-memory directory injected. */
const BOT_WITH_MEMORY_DIRECTORY = join(ROOT, 'lab/bot-entry.ts');
const SIMULATED_BASE_DN = 'DC=corp,DC=example,DC=test';

/** sAMAccountNames of the people scripts/samba-ad.sh creates (OU=Staff, plus one in CN=Users). */
export const SAMBA_FIXTURE_ACCOUNTS = [
  'jdoe', 'jdoering', 'asmith', 'zmuller', 'jadoe', 'padmin', 'nnested', 'disabled01', 'outsider',
  'test01', 'test02', 'test03', 'test04', 'test05', 'test06', 'test07', 'test08', 'test09', 'test10',
] as const;

/** What scripts/samba-ad.sh writes to <dir>/env.json. */
export interface SambaRunEnv {
  ldapUrl: string;
  caFile: string;
  baseDn: string;
  domain: string;
  realm: string;
  serviceBindDn: string;
  servicePassword: string;
  staffOu: string;
}

interface LabDirectoryCommon {
  /** Card footer and banner text. */
  label: string;
  /** The people in it, as the bot sees them at start. */
  users: DirectoryUser[];
  /** To read results back: the DC itself (service account), or the simulated directory's file (read-only). */
  directory: Directory;
  /** Environment for the bot process. */
  botEnv: Record<string, string>;
  /** Script the bot process runs: src/main.ts, or lab/bot-entry.ts for the simulated directory. */
  botEntry: string;
  stop(): Promise<void>;
}

export type LabDirectory =
  | (LabDirectoryCommon & { kind: 'samba'; env: SambaRunEnv })
  | (LabDirectoryCommon & {
      kind: 'simulated';
      /** Why not Samba. */
      reason: string;
      /** The simulated directory's contents: seeded by the lab, rewritten by the bot after each change. */
      file: string;
    });

function canRunSamba(): { ok: true; install: boolean } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (Samba AD DC must run as root)' };
  if (existsSync('/usr/sbin/samba') && existsSync('/usr/bin/samba-tool')) return { ok: true, install: false };
  if (existsSync('/usr/bin/apt-get')) return { ok: true, install: true };
  return { ok: false, reason: 'Samba is not installed and apt-get is not available' };
}

export interface StartLabDirectoryOptions {
  /** Folder for the DC's files (recreated). */
  dir: string;
  logger: Logger;
  /** 'simulated' skips Samba even where it could run. */
  prefer?: 'samba' | 'simulated';
  /** Where the simulated directory lives (recreated); default <dir>/directory.json. */
  simulatedFile?: string;
  say?: (line: string) => void;
}

export async function startLabDirectory(options: StartLabDirectoryOptions): Promise<LabDirectory> {
  const say = options.say ?? (() => undefined);
  const possible = options.prefer === 'simulated' ? ({ ok: false, reason: 'asked for the simulated directory' } as const) : canRunSamba();
  if (!possible.ok) {
    return simulated(`Samba AD DC not available here: ${possible.reason}`);
  }
  if (possible.install) {
    say('installing Samba AD DC from the distribution packages (once, ~20 s)...');
    await run(SAMBA_SCRIPT, ['install'], { timeout: 300_000 });
  }
  say('starting Samba AD DC on loopback...');
  // SAMBA_OWNER_PID: if this process dies without stopping it, the next `up` reaps the DC.
  const env = { ...process.env, SAMBA_OWNER_PID: String(process.pid) };
  const down = async () => {
    await run(SAMBA_SCRIPT, ['down', options.dir], { timeout: 30_000 }).catch((error: unknown) => {
      options.logger.warn({ err: error }, 'samba-ad.sh down failed');
    });
  };
  try {
    await run(SAMBA_SCRIPT, ['up', options.dir], { env, timeout: 180_000 });
  } catch (error) {
    await down();
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`scripts/samba-ad.sh up failed: ${stderr}`, { cause: error });
  }
  try {
    const sambaEnv = JSON.parse(readFileSync(join(options.dir, 'env.json'), 'utf8')) as SambaRunEnv;
    const directory = createLdapDirectory({
      url: sambaEnv.ldapUrl,
      bindDn: sambaEnv.serviceBindDn,
      bindPassword: new Secret(sambaEnv.servicePassword),
      baseDn: sambaEnv.baseDn,
      caPem: readFileSync(sambaEnv.caFile, 'utf8'),
      netbiosDomain: sambaEnv.domain,
      timeoutMs: 10_000,
      logger: options.logger,
    });
    // Read the people back as the bot will see them: their real SIDs, GUIDs and UPNs feed the
    // simulated Entra tenant, so alerts name accounts that exist in this very directory.
    const users = await Promise.all(SAMBA_FIXTURE_ACCOUNTS.map((sam) => directory.getUser({ samAccountName: sam })));
    return {
      kind: 'samba',
      label: `lab: Samba AD DC ${sambaEnv.ldapUrl}`,
      env: sambaEnv,
      directory,
      users,
      botEntry: BOT_MAIN,
      botEnv: {
        LDAP_URL: sambaEnv.ldapUrl,
        LDAP_BIND_DN: sambaEnv.serviceBindDn,
        LDAP_BIND_PASSWORD: sambaEnv.servicePassword,
        LDAP_BASE_DN: sambaEnv.baseDn,
        LDAP_CA_FILE: sambaEnv.caFile,
        LDAP_TIMEOUT_MS: '10000',
      },
      stop: down,
    };
  } catch (error) {
    await down();
    throw error;
  }

  function simulated(reason: string): LabDirectory {
    const file = resolve(options.simulatedFile ?? join(options.dir, 'directory.json'));
    const users = simulatedUsers();
    mkdirSync(dirname(file), { recursive: true });
    // A fresh directory every run: yesterday's disabled accounts are enabled again.
    writeDirectoryFile(file, { version: 1, baseDn: SIMULATED_BASE_DN, netbiosDomain: 'CORP', users });
    return {
      kind: 'simulated',
      label: 'lab: simulated directory',
      reason,
      users,
      file,
      directory: createDirectoryFileView(file),
      botEntry: BOT_WITH_MEMORY_DIRECTORY,
      botEnv: { LAB_DIRECTORY_FILE: file },
      stop: async () => {
        rmSync(file, { force: true });
      },
    };
  }
}

/**
 * The same people as the Samba fixtures, for machines without Samba: they seed the in-memory
 * directory the bot acts on and the simulated tenant.
 */
function simulatedUsers(): DirectoryUser[] {
  const base = SIMULATED_BASE_DN;
  const names: Array<[string, string]> = [
    ['jdoe', 'John Doe'], ['jdoering', 'John Doering'], ['asmith', 'Alice Smith'], ['zmuller', 'Zoë Müller'], ['jadoe', 'Doe, Jane'],
    ['padmin', 'Paula Admin'], ['nnested', 'Nina Nested'], ['disabled01', 'Dora Disabled'], ['outsider', 'Oscar Outsider'],
    ...Array.from({ length: 10 }, (_, i): [string, string] => [`test${String(i + 1).padStart(2, '0')}`, `Test User${String(i + 1).padStart(2, '0')}`]),
  ];
  return names.map(([sam, displayName], i) => ({
    dn: `CN=${displayName.replace(',', '\\,')},OU=Staff,${base}`,
    sid: `S-1-5-21-3623811015-3361044348-30300820-${1103 + i}`,
    objectGuid: `5b0f4c2e-8d6a-4f7b-9e21-${String(i).padStart(12, '0')}`,
    samAccountName: sam,
    userPrincipalName: `${sam}@corp.example.test`,
    displayName,
    mail: `${sam}@corp.example.test`,
    enabled: sam !== 'disabled01',
    locked: false,
    pwdLastSet: '2026-01-05T08:00:00.000Z',
    mustChangePassword: false,
    lastLogon: null,
    ou: `OU=Staff,${base}`,
    userAccountControl: sam === 'disabled01' ? 514 : 512,
    adminCount: sam === 'padmin' ? 1 : 0,
    privilegedGroups: sam === 'padmin' || sam === 'nnested' ? ['Domain Admins'] : [],
    memberOf: [],
  }));
}
