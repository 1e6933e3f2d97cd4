import type { DirectoryUser } from '../src/domain/ports/directory.ts';
import { addGroup, addOktaUser, addUser, createTenant, type Tenant, type TenantGroup, type TenantUser } from './tenant.ts';

/**
 * The lab's simulated Entra tenant, "Example Corp": every person of the on-premises directory
 * appears as a user synced from it (same sAMAccountName, SID, UPN, objectGUID, DN), plus a few
 * cloud-only accounts, Okta for some, and the groups the bot cares about (SOC Approvers,
 * privileged groups). Built from what the directory actually holds, never from a second list.
 */

export const LAB_TENANT_ID = '7d1c0b7e-2f7a-4b55-9b61-0c7e3e2a9f10';

/** Who plays what in the lab story. */
export const LAB_CAST = {
  /** The analyst at the keyboard (the playground's current user); an approver. */
  analyst: 'asmith',
  /** The account the attacker brute-forces and then uses (pass-the-hash, DCSync). */
  victim: 'jdoering',
  /** The account whose machine runs the reconnaissance. */
  recon: 'test07',
} as const;

export interface LabTenant {
  tenant: Tenant;
  /** Synced users by lower-case sAMAccountName. */
  bySam: Map<string, TenantUser>;
  analyst: TenantUser;
  victim: TenantUser;
  reconUser: TenantUser;
  cloudOnly: TenantUser[];
  groups: { socApprovers: TenantGroup; domainAdmins: TenantGroup; allStaff: TenantGroup };
}

function domainSidOf(sid: string): string {
  return sid.split('-').slice(0, -1).join('-');
}

export function buildLabTenant(directoryUsers: readonly DirectoryUser[]): LabTenant {
  const first = directoryUsers[0];
  if (!first) throw new Error('the directory holds no users');
  const tenant = createTenant({ tenantId: LAB_TENANT_ID, domain: 'corp.example.test', netbiosDomain: 'CORP', domainSid: domainSidOf(first.sid) });
  const bySam = new Map<string, TenantUser>();
  for (const [i, person] of directoryUsers.entries()) {
    const rid = Number(person.sid.split('-').at(-1));
    const user = addUser(tenant, {
      name: person.samAccountName,
      displayName: person.displayName ?? person.samAccountName,
      rid,
      accountEnabled: person.enabled,
      department: ['Finance', 'Sales', 'Engineering', 'HR', 'Operations', 'IT'][i % 6] as string,
      mail: person.mail,
      okta: i % 3 === 0,
    });
    // What Entra Connect copies from AD: the real UPN, GUID and DN (addUser derives look-alikes).
    const upn = person.userPrincipalName ?? user.userPrincipalName;
    Object.assign(user, {
      userPrincipalName: upn,
      onPremisesUserPrincipalName: upn,
      onPremisesObjectGuid: person.objectGuid,
      onPremisesDistinguishedName: person.dn,
      onPremisesSecurityIdentifier: person.sid,
    });
    bySam.set(person.samAccountName.toLowerCase(), user);
  }
  const cloudOnly = [
    addUser(tenant, { name: 'carol.jones', displayName: 'Carol Jones', synced: false, jobTitle: 'SOC Lead', department: 'IT Security' }),
    addUser(tenant, { name: 'erin.contractor', displayName: 'Erin (Contractor)', synced: false, department: 'Engineering', okta: true }),
    addUser(tenant, { name: 'breakglass', displayName: 'Break Glass Admin', synced: false, mail: null }),
  ];
  if (!tenant.oktaUsers.size) addOktaUser(tenant, { login: cloudOnly[1]!.userPrincipalName });
  const pick = (sam: string): TenantUser => {
    const user = bySam.get(sam);
    if (!user) throw new Error(`the directory has no ${sam}: the lab story needs it`);
    return user;
  };
  const analyst = pick(LAB_CAST.analyst);
  const socApprovers = addGroup(tenant, { displayName: 'SOC Approvers', description: 'May approve containment actions', members: [analyst, cloudOnly[0]!] });
  const privileged = directoryUsers.filter((u) => u.privilegedGroups.includes('Domain Admins')).map((u) => pick(u.samAccountName.toLowerCase()));
  const domainAdmins = addGroup(tenant, { displayName: 'Domain Admins', members: privileged });
  addGroup(tenant, { displayName: 'Tier 0 Admins', description: 'Privileged: never auto-contain', members: [domainAdmins, cloudOnly[2]!] });
  const allStaff = addGroup(tenant, { displayName: 'All Staff', members: [...bySam.values(), cloudOnly[0]!, cloudOnly[1]!] });
  return { tenant, bySam, analyst, victim: pick(LAB_CAST.victim), reconUser: pick(LAB_CAST.recon), cloudOnly, groups: { socApprovers, domainAdmins, allStaff } };
}
