import { Client, InvalidCredentialsError } from 'ldapts';
import { createLdapDirectory, type LdapDirectoryOptions } from '../../src/adapters/ldap/ldap-directory.ts';
import type { Directory } from '../../src/domain/ports/directory.ts';
import { Secret, type Logger } from '../../src/observability/logger.ts';
import { sambaCa, type SambaEnv } from './samba.ts';

/**
 * The LDAP adapter and plain LDAPS clients against the test Samba AD DC, as the directory tests
 * wire them: the bot's delegated service account for the adapter, the domain administrator for
 * an independent view of what it wrote.
 */

/** The LDAP directory adapter bound as the bot's service account (LDAPS, the run's CA, 5 s timeout). */
export function sambaDirectory(env: SambaEnv, logger: Logger, overrides: Partial<LdapDirectoryOptions> = {}): Directory {
  return createLdapDirectory({
    url: env.ldapUrl,
    bindDn: env.serviceBindDn,
    bindPassword: new Secret(env.servicePassword),
    baseDn: env.baseDn,
    caPem: sambaCa(env),
    netbiosDomain: env.domain,
    timeoutMs: 5_000,
    logger,
    ...overrides,
  });
}

/** A fresh, unbound ldapts client over LDAPS trusting the run's CA. */
export function sambaLdapsClient(env: SambaEnv): Client {
  return new Client({ url: env.ldapUrl, timeout: 5_000, connectTimeout: 5_000, tlsOptions: { ca: [sambaCa(env)] } });
}

/** Runs `work` on a client bound as the domain administrator, then unbinds. */
export async function asSambaAdmin<T>(env: SambaEnv, work: (client: Client) => Promise<T>): Promise<T> {
  const client = sambaLdapsClient(env);
  try {
    await client.bind(env.adminDn, env.adminPassword);
    return await work(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Binds as a user over LDAPS; resolves with the AD reason of a refusal ('ok' when accepted). */
export async function sambaBindReason(env: SambaEnv, dn: string, password: string): Promise<string> {
  const client = sambaLdapsClient(env);
  try {
    await client.bind(dn, password);
    return 'ok';
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return /data (\w+)/.exec(error.message)?.[1] ?? 'invalid';
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
