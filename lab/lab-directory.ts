import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createLdapDirectory } from '../src/adapters/ldap/ldap-directory.ts';
import type { Directory, DirectoryUser } from '../src/domain/directory.ts';
import { Secret, type Logger } from '../src/observability/logger.ts';

/**
 * The lab's on-premises directory: a real Samba AD DC on loopback when this machine can run one
 * (Linux, root, Samba installed or installable with apt), the same fixtures the tests use.
 * Otherwise there is no directory the bot process could reach, and the lab says so.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const SAMBA_SCRIPT = join(ROOT, 'scripts/samba-ad.sh');

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

export type LabDirectory =
  | {
      kind: 'samba';
      /** Card footer and banner text. */
      label: string;
      env: SambaRunEnv;
      /** The bot's own view of it (service account), to read results back. */
      directory: Directory;
      users: DirectoryUser[];
      /** Environment for the bot process. */
      botEnv: Record<string, string>;
      stop(): Promise<void>;
    }
  | { kind: 'simulated'; label: string; reason: string; users: DirectoryUser[]; botEnv: Record<string, string>; stop(): Promise<void> };

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
    return { kind: 'simulated', label: 'lab: simulated directory', reason, users: simulatedUsers(), botEnv: {}, stop: async () => undefined };
  }
}

/**
 * The same people as the Samba fixtures, for machines without Samba: they feed the simulated
 * tenant only. The bot gets no LDAP settings then, so it offers no AD actions.
 */
function simulatedUsers(): DirectoryUser[] {
  const base = 'DC=corp,DC=example,DC=test';
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
