import { randomUUID } from 'node:crypto';

/**
 * A simulated Microsoft Entra tenant with its on-premises AD (CORP) and its Okta org: the data
 * the local Graph and Okta stand-ins serve and mutate. Tests seed it with the builders below;
 * the local lab reuses createDemoTenant(). Everything is in memory and synchronous, so a test
 * can assert on state directly after a call went through the real SDKs.
 */

export type RiskLevel = 'low' | 'medium' | 'high' | 'hidden' | 'none' | 'unknownFutureValue';
export type RiskState =
  | 'none'
  | 'confirmedSafe'
  | 'remediated'
  | 'dismissed'
  | 'atRisk'
  | 'confirmedCompromised'
  | 'unknownFutureValue';

export interface TenantUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  jobTitle: string | null;
  department: string | null;
  accountEnabled: boolean;
  /** true for users synced from AD (their accountEnabled is mastered on-premises); null for cloud-only. */
  onPremisesSyncEnabled: boolean | null;
  onPremisesSamAccountName: string | null;
  onPremisesSecurityIdentifier: string | null;
  onPremisesDomainName: string | null;
  onPremisesUserPrincipalName: string | null;
  onPremisesDistinguishedName: string | null;
  /** On-premises objectGUID, what MDI reports as activeDirectoryObjectGuid. Not a Graph property. */
  onPremisesObjectGuid: string | null;
  /** Set by revokeSignInSessions (Graph's own property of that name). */
  signInSessionsValidFromDateTime: string;
  riskLevel: RiskLevel;
  riskState: RiskState;
  riskDetail: string;
  riskLastUpdatedDateTime: string | null;
}

export interface TenantGroup {
  id: string;
  displayName: string;
  description: string | null;
  securityEnabled: boolean;
  /** Direct members: user ids or group ids (nested groups). */
  memberIds: string[];
}

export type OktaUserStatus =
  | 'STAGED'
  | 'PROVISIONED'
  | 'ACTIVE'
  | 'RECOVERY'
  | 'PASSWORD_EXPIRED'
  | 'LOCKED_OUT'
  | 'SUSPENDED'
  | 'DEPROVISIONED';

export interface OktaUser {
  id: string;
  status: OktaUserStatus;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastLogin: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  profile: { login: string; email: string; firstName: string; lastName: string; [key: string]: unknown };
  /** Live sessions; DELETE /sessions sets it to 0. Not part of Okta's user object. */
  sessionCount: number;
  oauthTokenCount: number;
}

/** An alerts_v2 object as Graph returns it (see graph-alert-factory.ts); kept loose on purpose. */
export type GraphAlert = Record<string, unknown> & { id: string; lastUpdateDateTime: string };

export interface Tenant {
  tenantId: string;
  /** The verified UPN suffix, e.g. corp.example.test. */
  domain: string;
  /** NetBIOS name of the on-premises domain, e.g. CORP. */
  netbiosDomain: string;
  /** The on-premises domain SID prefix S-1-5-21-a-b-c. */
  domainSid: string;
  users: Map<string, TenantUser>;
  groups: Map<string, TenantGroup>;
  oktaUsers: Map<string, OktaUser>;
  /** Insertion order is kept; the Graph server sorts as asked. */
  alerts: Map<string, GraphAlert>;
  /**
   * Directory role assignments: `active` as /roleManagement/directory/roleAssignments lists them,
   * `eligible` as roleEligibilitySchedules do (PIM). A principalId equal to an app's client id
   * stands for that app's service principal.
   */
  roleAssignments: TenantRoleAssignment[];
  /** Whether the tenant has Entra ID P2 (PIM); without it the PIM APIs answer 400 AadPremiumLicenseRequired. */
  pimLicensed: boolean;
}

export interface TenantRoleAssignment {
  id: string;
  principalId: string;
  /** Template id of a built-in role, e.g. 62e90394-69f5-4237-9190-012177145e10 (Global Administrator). */
  roleDefinitionId: string;
  how: 'active' | 'eligible';
  /** PIM schedule status of an eligibility ('Provisioned' while it holds). */
  status?: string;
}

export const GLOBAL_ADMINISTRATOR_ROLE = '62e90394-69f5-4237-9190-012177145e10';
export const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR_ROLE = '7be44c8a-adaf-4e2a-84d6-ab2649e08a13';

/** Gives `principalId` (a user id, or an app's client id) a directory role, active or PIM-eligible. */
export function assignRole(tenant: Tenant, principalId: string, roleDefinitionId: string, how: 'active' | 'eligible' = 'active'): TenantRoleAssignment {
  const assignment: TenantRoleAssignment = { id: randomUUID(), principalId, roleDefinitionId, how, ...(how === 'eligible' ? { status: 'Provisioned' } : {}) };
  tenant.roleAssignments.push(assignment);
  return assignment;
}

export interface CreateTenantOptions {
  tenantId?: string;
  domain?: string;
  netbiosDomain?: string;
  domainSid?: string;
}

export function createTenant(options: CreateTenantOptions = {}): Tenant {
  return {
    tenantId: options.tenantId ?? randomUUID(),
    domain: options.domain ?? 'corp.example.test',
    netbiosDomain: options.netbiosDomain ?? 'CORP',
    domainSid: options.domainSid ?? 'S-1-5-21-3623811015-3361044348-30300820',
    users: new Map(),
    groups: new Map(),
    oktaUsers: new Map(),
    alerts: new Map(),
    roleAssignments: [],
    pimLicensed: true,
  };
}

export interface AddUserOptions {
  /** Local part of the UPN, also the sAMAccountName of a synced user. */
  name: string;
  displayName?: string;
  id?: string;
  /** Synced from AD (default) or cloud-only. */
  synced?: boolean;
  accountEnabled?: boolean;
  /** Relative identifier for the on-premises SID; default: next free from 1104. */
  rid?: number;
  mail?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  riskLevel?: RiskLevel;
  riskState?: RiskState;
  /** Also create an ACTIVE Okta user with login = UPN. */
  okta?: boolean | Partial<Pick<OktaUser, 'status' | 'id'>>;
}

/** Next free relative id in this tenant's domain SID (AD hands out RIDs from 1104 upwards in a small domain). */
function nextRid(tenant: Tenant): number {
  let max = 1103;
  for (const user of tenant.users.values()) {
    const rid = Number(user.onPremisesSecurityIdentifier?.split('-').at(-1) ?? 0);
    if (rid > max) max = rid;
  }
  return max + 1;
}

function titleCase(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export function addUser(tenant: Tenant, options: AddUserOptions): TenantUser {
  const synced = options.synced ?? true;
  const upn = `${options.name}@${tenant.domain}`;
  const parts = options.name.split(/[._-]/).filter(Boolean).map(titleCase);
  const displayName = options.displayName ?? parts.join(' ');
  const rid = options.rid ?? nextRid(tenant);
  const user: TenantUser = {
    id: options.id ?? randomUUID(),
    userPrincipalName: upn,
    displayName,
    givenName: parts[0] ?? null,
    surname: parts.length > 1 ? (parts.at(-1) ?? null) : null,
    mail: options.mail === undefined ? upn : options.mail,
    jobTitle: options.jobTitle ?? null,
    department: options.department ?? null,
    accountEnabled: options.accountEnabled ?? true,
    onPremisesSyncEnabled: synced ? true : null,
    onPremisesSamAccountName: synced ? options.name.slice(0, 20) : null,
    onPremisesSecurityIdentifier: synced ? `${tenant.domainSid}-${rid}` : null,
    onPremisesDomainName: synced ? tenant.domain : null,
    onPremisesUserPrincipalName: synced ? upn : null,
    onPremisesDistinguishedName: synced ? `CN=${displayName},OU=Staff,${tenant.domain.split('.').map((dc) => `DC=${dc}`).join(',')}` : null,
    onPremisesObjectGuid: synced ? randomUUID() : null,
    signInSessionsValidFromDateTime: '2026-01-05T08:00:00Z',
    riskLevel: options.riskLevel ?? 'none',
    riskState: options.riskState ?? 'none',
    riskDetail: 'none',
    riskLastUpdatedDateTime: null,
  };
  if (findUser(tenant, user.id) || findUser(tenant, upn)) throw new Error(`user ${upn} already exists`);
  tenant.users.set(user.id, user);
  if (options.okta) {
    const extra = typeof options.okta === 'object' ? options.okta : {};
    addOktaUser(tenant, { login: upn, firstName: user.givenName ?? options.name, lastName: user.surname ?? '', ...extra });
  }
  return user;
}

export function addGroup(tenant: Tenant, options: { displayName: string; id?: string; members?: Array<TenantUser | TenantGroup | string>; description?: string }): TenantGroup {
  const group: TenantGroup = {
    id: options.id ?? randomUUID(),
    displayName: options.displayName,
    description: options.description ?? null,
    securityEnabled: true,
    memberIds: (options.members ?? []).map((m) => (typeof m === 'string' ? m : m.id)),
  };
  tenant.groups.set(group.id, group);
  return group;
}

export function addMembers(group: TenantGroup, ...members: Array<TenantUser | TenantGroup>): void {
  for (const member of members) if (!group.memberIds.includes(member.id)) group.memberIds.push(member.id);
}

/** Okta ids look like 00u1abcdEFGHijklm0h8: 20 characters starting with 00u. */
function oktaId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let id = '00u';
  for (let i = 0; i < 17; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

export function addOktaUser(
  tenant: Tenant,
  options: { login: string; firstName?: string; lastName?: string; email?: string; status?: OktaUserStatus; id?: string },
): OktaUser {
  const now = '2026-01-05T08:00:00.000Z';
  const user: OktaUser = {
    id: options.id ?? oktaId(),
    status: options.status ?? 'ACTIVE',
    created: now,
    activated: now,
    statusChanged: now,
    lastLogin: '2026-11-19T17:31:02.000Z',
    lastUpdated: now,
    passwordChanged: now,
    profile: { login: options.login, email: options.email ?? options.login, firstName: options.firstName ?? '', lastName: options.lastName ?? '' },
    sessionCount: 2,
    oauthTokenCount: 1,
  };
  tenant.oktaUsers.set(user.id, user);
  return user;
}

/** By object id or UPN (case-insensitive), as GET /users/{id | userPrincipalName} accepts. */
export function findUser(tenant: Tenant, idOrUpn: string): TenantUser | undefined {
  const byId = tenant.users.get(idOrUpn);
  if (byId) return byId;
  const wanted = idOrUpn.toLowerCase();
  for (const user of tenant.users.values()) if (user.userPrincipalName.toLowerCase() === wanted) return user;
  return undefined;
}

export function findOktaUser(tenant: Tenant, idOrLogin: string): OktaUser | undefined {
  const byId = tenant.oktaUsers.get(idOrLogin);
  if (byId) return byId;
  const wanted = idOrLogin.toLowerCase();
  for (const user of tenant.oktaUsers.values()) {
    if (user.profile.login.toLowerCase() === wanted) return user;
  }
  // Okta also resolves a login shortname (the part before @) when it is unique.
  const short = [...tenant.oktaUsers.values()].filter((u) => u.profile.login.toLowerCase().split('@')[0] === wanted);
  return short.length === 1 ? short[0] : undefined;
}

export function findGroup(tenant: Tenant, idOrName: string): TenantGroup | undefined {
  return tenant.groups.get(idOrName) ?? [...tenant.groups.values()].find((g) => g.displayName === idOrName);
}

/** Every group the object is a member of, directly or through nested groups (cycles tolerated). */
export function transitiveGroupIds(tenant: Tenant, memberId: string): Set<string> {
  const result = new Set<string>();
  const queue = [memberId];
  while (queue.length > 0) {
    const current = queue.shift() as string;
    for (const group of tenant.groups.values()) {
      if (group.memberIds.includes(current) && !result.has(group.id)) {
        result.add(group.id);
        queue.push(group.id);
      }
    }
  }
  return result;
}

/** Stores (or replaces) an alert; an update bumps lastUpdateDateTime as Graph does. */
export function putAlert(tenant: Tenant, alert: GraphAlert): GraphAlert {
  tenant.alerts.set(alert.id, alert);
  return alert;
}

export function updateAlert(tenant: Tenant, id: string, changes: Record<string, unknown>, now: Date = new Date()): GraphAlert {
  const alert = tenant.alerts.get(id);
  if (!alert) throw new Error(`no alert ${id}`);
  const updated: GraphAlert = { ...alert, ...changes, id, lastUpdateDateTime: now.toISOString() };
  tenant.alerts.set(id, updated);
  return updated;
}

export interface DemoTenant {
  tenant: Tenant;
  /** Named people and groups tests and the lab refer to. */
  people: {
    alice: TenantUser; // synced, also in Okta, SOC approver
    bob: TenantUser; // synced, helpdesk
    carol: TenantUser; // cloud-only, SOC lead (approver through the nested "SOC Leads" group)
    dave: TenantUser; // synced, Domain Admin (privileged)
    erin: TenantUser; // cloud-only contractor, also in Okta
    svcBackup: TenantUser; // synced service account
    breakGlass: TenantUser; // cloud-only emergency admin
  };
  groups: {
    socLeads: TenantGroup;
    socApprovers: TenantGroup;
    securityOperations: TenantGroup;
    domainAdmins: TenantGroup;
    tier0: TenantGroup;
    allStaff: TenantGroup;
  };
}

const DEPARTMENTS = ['Finance', 'Sales', 'Engineering', 'HR', 'Operations', 'Legal'] as const;
const FIRST = ['frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'uma', 'victor', 'walter', 'xena', 'yusuf', 'zoe', 'amir', 'bea', 'chen', 'dina', 'emil', 'fatima', 'gus', 'hana', 'igor', 'jun'];
const LAST = ['adams', 'baker', 'clark', 'diaz', 'evans', 'fischer', 'garcia', 'hill'];

/**
 * A small company, "Example Corp": CORP AD synced to Entra (most staff), a few cloud-only
 * accounts, Okta for a subset, a "SOC Approvers" group nested in "Security Operations", and
 * privileged groups (Domain Admins inside Tier 0). Ids are random per call except where given.
 */
export function createDemoTenant(options: CreateTenantOptions = {}): DemoTenant {
  const tenant = createTenant({ tenantId: '7d1c0b7e-2f7a-4b55-9b61-0c7e3e2a9f10', ...options });
  const alice = addUser(tenant, { name: 'alice.martin', displayName: 'Alice Martin', rid: 1104, jobTitle: 'Security Analyst', department: 'IT Security', okta: true });
  const bob = addUser(tenant, { name: 'bob.nguyen', displayName: 'Bob Nguyen', rid: 1105, jobTitle: 'Helpdesk Technician', department: 'IT', okta: true });
  const carol = addUser(tenant, { name: 'carol.jones', displayName: 'Carol Jones', synced: false, jobTitle: 'SOC Lead', department: 'IT Security' });
  const dave = addUser(tenant, { name: 'dave.admin', displayName: 'Dave Admin', rid: 1107, jobTitle: 'Domain Administrator', department: 'IT' });
  const erin = addUser(tenant, { name: 'erin.contractor', displayName: 'Erin (Contractor)', synced: false, department: 'Engineering', okta: true });
  const svcBackup = addUser(tenant, { name: 'svc-backup', displayName: 'svc-backup', rid: 1109, mail: null, department: 'IT' });
  const breakGlass = addUser(tenant, { name: 'breakglass', displayName: 'Break Glass Admin', synced: false, mail: null });
  const staff: TenantUser[] = [alice, bob, carol, dave, erin];
  let rid = 1200;
  for (const [i, first] of FIRST.entries()) {
    const last = LAST[i % LAST.length] as string;
    const cloudOnly = i % 7 === 3; // a handful of cloud-only staff
    staff.push(
      addUser(tenant, {
        name: `${first}.${last}`,
        rid: rid++,
        synced: !cloudOnly,
        department: DEPARTMENTS[i % DEPARTMENTS.length] as string,
        accountEnabled: i !== 5, // one leaver, already disabled
        okta: i % 3 === 0,
      }),
    );
  }
  // Carol approves only through nesting (SOC Leads inside SOC Approvers): transitive checks matter.
  const socLeads = addGroup(tenant, { displayName: 'SOC Leads', members: [carol] });
  const socApprovers = addGroup(tenant, { displayName: 'SOC Approvers', description: 'May approve containment actions', members: [alice, socLeads] });
  const securityOperations = addGroup(tenant, { displayName: 'Security Operations', members: [socApprovers, bob] });
  const domainAdmins = addGroup(tenant, { displayName: 'Domain Admins', members: [dave] });
  const tier0 = addGroup(tenant, { displayName: 'Tier 0 Admins', description: 'Privileged: never auto-contain', members: [domainAdmins, breakGlass, svcBackup] });
  const allStaff = addGroup(tenant, { displayName: 'All Staff', members: staff });
  return {
    tenant,
    people: { alice, bob, carol, dave, erin, svcBackup, breakGlass },
    groups: { socLeads, socApprovers, securityOperations, domainAdmins, tier0, allStaff },
  };
}
