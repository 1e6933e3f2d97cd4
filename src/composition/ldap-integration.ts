/** Active Directory over LDAP (ldapts). Loaded (dynamic import) only when LDAP_URL is configured. */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { Directory } from '../domain/ports/directory.ts';
import { createLdapDirectory } from '../adapters/ldap/ldap-directory.ts';

export function buildLdapDirectory(ldap: NonNullable<Config['ldap']>, logger: Logger): Directory {
  return createLdapDirectory({
    url: ldap.url,
    bindDn: ldap.bindDn,
    bindPassword: ldap.bindPassword,
    baseDn: ldap.baseDn,
    caPem: ldap.caFile ? readFileSync(ldap.caFile, 'utf8') : undefined,
    netbiosDomain: ldap.netbiosDomain,
    timeoutMs: ldap.timeoutMs,
    logger,
  });
}
