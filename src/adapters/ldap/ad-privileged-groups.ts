/** Which AD groups make their members privileged (refused as action targets without the protected-account rule). */
import type { Client, Entry } from 'ldapts';
import { AppError } from '../../domain/errors.ts';
import type { PrivilegedGroup } from '../../domain/ports/directory.ts';
import { buffers, text } from './ad-user-entry.ts';
import { sidToString } from './ldap-filter.ts';

// Groups whose members control the domain (the AdminSDHolder-protected set, plus Group Policy
// Creator Owners, whose members can write policy), by well-known SID or RID.
const BUILTIN_PRIVILEGED: Record<string, PrivilegedGroup> = {
  'S-1-5-32-544': 'Administrators',
  'S-1-5-32-548': 'Account Operators',
  'S-1-5-32-549': 'Server Operators',
  'S-1-5-32-550': 'Print Operators',
  'S-1-5-32-551': 'Backup Operators',
  'S-1-5-32-552': 'Replicator',
};
const DOMAIN_PRIVILEGED_RIDS: Record<number, PrivilegedGroup> = {
  512: 'Domain Admins',
  516: 'Domain Controllers',
  518: 'Schema Admins',
  519: 'Enterprise Admins',
  520: 'Group Policy Creator Owners',
  521: 'Read-only Domain Controllers',
  526: 'Key Admins',
  527: 'Enterprise Key Admins',
};
/** The privileged group a group SID stands for, by well-known SID or domain RID. */
function privilegedGroupOf(sid: string): PrivilegedGroup | undefined {
  const builtin = BUILTIN_PRIVILEGED[sid];
  if (builtin) return builtin;
  const rid = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(sid)?.[1];
  return rid === undefined ? undefined : DOMAIN_PRIVILEGED_RIDS[Number(rid)];
}

/**
 * Privileged groups from the user's tokenGroups: the SIDs of every security group the user is
 * in, transitively, primary group and the domain's built-in groups included, computed by the
 * DC itself. Independent of LDAP_BASE_DN: Domain Admins lives in CN=Users and the built-in
 * groups in CN=Builtin, which a group search under an OU base would never see.
 * tokenGroups is a constructed attribute, only returned by a base-scope search on the object
 * (https://learn.microsoft.com/en-us/windows/win32/adschema/a-tokengroups).
 * A DC that does not return it (no right to read it) must not make the user look unprivileged:
 * the call fails with DIRECTORY_RIGHTS so the check refuses with a reason.
 */
export async function privilegedGroupsOf(client: Client, timeoutMs: number, entry: Entry): Promise<PrivilegedGroup[]> {
  const found = new Set<PrivilegedGroup>();
  const primary = DOMAIN_PRIVILEGED_RIDS[Number(text(entry, 'primaryGroupID'))];
  if (primary) found.add(primary);
  const { searchEntries } = await client.search(entry.dn, {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['tokenGroups'],
    explicitBufferAttributes: ['tokenGroups'],
    sizeLimit: 1,
    timeLimit: Math.max(1, Math.ceil(timeoutMs / 1000)),
  });
  const sids = buffers(searchEntries[0], 'tokenGroups');
  // Every user is at least in Domain Users (and its primary group): an empty answer means the
  // attribute was withheld, not that the user is in no group.
  if (sids.length === 0) {
    throw new AppError('DIRECTORY_RIGHTS', 'The directory did not return the groups (tokenGroups) of the account, so the bot cannot tell whether it is privileged.', { details: { operation: 'tokenGroups' } });
  }
  for (const sid of sids) {
    const name = privilegedGroupOf(sidToString(sid));
    if (name) found.add(name);
  }
  return [...found];
}
