import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdRemediation } from '../../src/adapters/ldap/ad-remediation.ts';
import { createRemediationRouter } from '../../src/actions/remediation-router.ts';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createGraphIdentityActions, type GraphIdentityActionsOptions } from '../../src/adapters/graph/graph-identity-actions.ts';
import { createOktaClient } from '../../src/adapters/okta/okta-client.ts';
import { createOktaRemediation } from '../../src/adapters/okta/okta-remediation.ts';
import { decideGuardRails } from '../../src/approvals/guard-rails.ts';
import type { Directory, DirectoryUser } from '../../src/domain/ports/directory.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { ActionTarget } from '../../src/domain/remediation.ts';
import { Secret } from '../../src/observability/logger.ts';
import { appError } from '../support/failures.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import type { EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addUser, assignRole, createDemoTenant, GLOBAL_ADMINISTRATOR_ROLE, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR_ROLE, type DemoTenant, type TenantUser } from '../../sim/tenant.ts';

/**
 * Entra privilege from directory roles (active and PIM-eligible) through the real SDKs against the
 * local Graph stand-in, and the honest refusal when Graph will not disable a privileged account.
 */

const clientId = 'a1b2c3d4-0000-4000-8000-0000000013a1';
const noRolesClientId = 'a1b2c3d4-0000-4000-8000-0000000013a2';
const secret = randomBytes(24).toString('base64url');
const oktaToken = `00${randomBytes(20).toString('base64url')}`;
const SECURITY_ADMINISTRATOR = '194ae4cb-b126-40b2-bd5b-6091b380977d';
const capture = captureLogger();
let demo: DemoTenant;
let tokens: EntraTokenServer;
let graph: GraphServer;
let okta: OktaServer;

function entra(id = clientId, extra: Partial<GraphIdentityActionsOptions> = {}) {
  const credential = createAzureCredential({ tenantId: demo.tenant.tenantId, clientId: id, clientSecret: new Secret(secret), managedIdentity: false, authorityHost: tokens.url }, { timeoutMs: 5_000 });
  const client = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5_000, logger: capture.logger, retryDelaySeconds: 1, maxRetries: 0 });
  return createGraphIdentityActions({ client, identityProtectionSpacingMs: 0, ...extra });
}

const opts = () => ({ dryRun: false, log: capture.logger });
const byId = (user: TenantUser): ActionTarget => ({ accountKey: `entra:${user.id}`, entraObjectId: user.id, userPrincipalName: user.userPrincipalName });
let counter = 0;
const cloudUser = (prefix: string) => addUser(demo.tenant, { name: `${prefix}.${++counter}`, synced: false, okta: true });

/** AD as a port fake: the person exists, unprivileged there (what AD alone would say). */
function plainDirectory(user: TenantUser): Directory {
  const found: DirectoryUser = {
    dn: `CN=${user.displayName},OU=Staff,DC=corp,DC=example,DC=test`,
    sid: 'S-1-5-21-1-2-3-4242',
    objectGuid: '00000000-0000-4000-8000-000000004242',
    samAccountName: user.userPrincipalName.split('@')[0]!.slice(0, 20),
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    mail: null,
    enabled: true,
    locked: false,
    pwdLastSet: null,
    mustChangePassword: false,
    lastLogon: null,
    ou: 'OU=Staff,DC=corp,DC=example,DC=test',
    userAccountControl: 512,
    adminCount: 0,
    privilegedGroups: [],
    memberOf: [],
  };
  const fail = async (): Promise<never> => {
    throw new AppError('INTERNAL', 'not in this test');
  };
  return {
    findUsers: async () => [found],
    getUser: async (ref) => {
      if (ref.userPrincipalName?.toLowerCase() === user.userPrincipalName.toLowerCase() || ref.sid === found.sid || ref.dn === found.dn) return found;
      throw new AppError('DIRECTORY_NO_SUCH_OBJECT', 'No account in the directory matches the reference.');
    },
    disableAccount: fail,
    enableAccount: fail,
    unlockAccount: fail,
    resetPassword: fail,
    ping: async () => undefined,
  };
}

beforeAll(async () => {
  demo = createDemoTenant();
  ({ tokens, graph } = await startTokensAndGraph(demo.tenant, [
    { clientId, clientSecret: secret },
    { clientId: noRolesClientId, clientSecret: secret, roles: ['User.Read.All', 'User.EnableDisableAccount.All', 'GroupMember.Read.All'] },
  ]));
  okta = await startOktaServer({ apiToken: oktaToken, tenant: demo.tenant });
});

afterAll(async () => {
  await Promise.all([tokens?.close(), graph?.close(), okta?.close()]);
  expect(capture.text()).not.toContain(secret);
});

describe('Entra privilege from directory roles', () => {
  it('an active Global Administrator and a PIM-eligible Security Administrator are privileged; a revoked eligibility or no role is not', async () => {
    const admin = cloudUser('ga');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    const eligible = cloudUser('pim');
    assignRole(demo.tenant, eligible.id, SECURITY_ADMINISTRATOR, 'eligible');
    const revoked = cloudUser('revoked');
    assignRole(demo.tenant, revoked.id, SECURITY_ADMINISTRATOR, 'eligible').status = 'Revoked';
    const plain = cloudUser('plain');
    const remediation = entra();
    expect(await remediation.inspect('revoke-sessions', byId(admin), opts())).toMatchObject({ found: true, privileged: true, reasons: ['holds the Entra role Global Administrator'] });
    expect(await remediation.inspect('revoke-sessions', byId(eligible), opts())).toMatchObject({ found: true, privileged: true, reasons: ['holds the Entra role Security Administrator (eligible through PIM)'] });
    expect(await remediation.inspect('revoke-sessions', byId(revoked), opts())).toMatchObject({ found: true, privileged: false, reasons: [] });
    expect(await remediation.inspect('revoke-sessions', byId(plain), opts())).toMatchObject({ found: true, privileged: false, reasons: [] });
    // The list of roles is configuration: an empty one counts no role (groups still would).
    expect(await entra(clientId, { privilegedRoleIds: [] }).inspect('revoke-sessions', byId(admin), opts())).toMatchObject({ privileged: false });
    // Graph was asked with the documented filter, for the one person.
    const asked = graph.requests.filter((r) => r.path.endsWith('/roleManagement/directory/roleAssignments'));
    expect(asked.some((r) => r.query.get('$filter') === `principalId eq '${admin.id}'`)).toBe(true);
  });

  it('an app that may not read role assignments cannot say: the check fails with the permission named, never "not privileged"', async () => {
    const admin = cloudUser('ga-unread');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    const error = await appError(entra(noRolesClientId).inspect('suspend-entra', byId(admin), opts()));
    expect(error.code).toBe('UPSTREAM_FORBIDDEN');
    expect(error.message).toContain('RoleManagement.Read.Directory');
  });

  it('a tenant without PIM (no Entra ID P2) has no eligible roles: active roles still count, nobody else is refused', async () => {
    const admin = cloudUser('ga-nop2');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    const plain = cloudUser('plain-nop2');
    demo.tenant.pimLicensed = false;
    try {
      expect(await entra().inspect('revoke-sessions', byId(admin), opts())).toMatchObject({ privileged: true, reasons: ['holds the Entra role Global Administrator'] });
      expect(await entra().inspect('revoke-sessions', byId(plain), opts())).toMatchObject({ found: true, privileged: false });
    } finally {
      demo.tenant.pimLicensed = true;
    }
    // Any other failure of the PIM read still leaves the answer open: a refusal, not "unprivileged".
    graph.faults.push({ match: (r) => r.path.endsWith('/roleEligibilitySchedules'), status: 503, times: 3 });
    try {
      expect((await appError(entra().inspect('revoke-sessions', byId(plain), opts()))).code).toBe('UPSTREAM_ERROR');
    } finally {
      graph.faults.length = 0;
    }
  });

  it('a Global Administrator is held to the privileged policy in AD, Entra and Okta actions', async () => {
    const admin = cloudUser('ga-everywhere');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    const router = createRemediationRouter({
      activeDirectory: createAdRemediation({ directory: plainDirectory(admin), netbiosDomain: 'CORP' }),
      entra: entra(),
      okta: createOktaRemediation({ client: createOktaClient({ orgUrl: okta.url, apiToken: new Secret(oktaToken), timeoutMs: 3_000, logger: capture.logger }) }),
    });
    const target: ActionTarget = { accountKey: `upn:${admin.userPrincipalName}`, userPrincipalName: admin.userPrincipalName };
    for (const action of ['disable-ad-account', 'suspend-entra', 'mark-compromised', 'suspend-okta'] as const) {
      const inspection = await router.inspect(action, target, opts());
      expect(inspection.privileged, action).toBe(true);
      expect(inspection.reasons.join(' '), action).toContain('holds the Entra role Global Administrator');
      const decision = decideGuardRails(action, target, inspection, 1, { protectedAccounts: [], serviceAccounts: [], protectedApprovals: 2 }, admin.userPrincipalName);
      expect(decision, action).toEqual({ kind: 'allow', requiredApprovals: 2 });
      const refused = decideGuardRails(action, target, inspection, 1, { protectedAccounts: [], serviceAccounts: [], protectedApprovals: 'refuse' }, admin.userPrincipalName);
      expect(refused.kind, action).toBe('refuse');
    }
  });
});

describe('Entra suspend of a privileged account', () => {
  it('Graph refuses accountEnabled of a Global Administrator to an app without a higher admin role: the sentence says why and what to do', async () => {
    const admin = cloudUser('ga-suspend');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    const error = await appError(entra().run('suspend-entra', byId(admin), opts()));
    expect(error.code).toBe('UPSTREAM_FORBIDDEN');
    expect(error.message).toBe(
      `Entra ID refused to disable ${admin.userPrincipalName}: the account holds the privileged role Global Administrator, and for such accounts Entra ID lets only an app that itself holds a higher privileged administrator role (such as Privileged Authentication Administrator) change accountEnabled; User.EnableDisableAccount.All is not enough. Use disable-ad-account (if it is synced from AD) and revoke-sessions instead, or disable it by hand.`,
    );
    expect(error.message).not.toContain('grant it the');
    // The stand-in answers as Graph does: a plain 403 Authorization_RequestDenied naming no role.
    expect(error.details).toMatchObject({ status: 403, graphCode: 'Authorization_RequestDenied', privilegedRoles: [GLOBAL_ADMINISTRATOR_ROLE], alternatives: ['disable-ad-account', 'revoke-sessions'] });
    expect(admin.accountEnabled).toBe(true);
    expect(graph.actions.some((a) => a.target === admin.id)).toBe(false);
  });

  it('an app that holds Privileged Authentication Administrator may disable the Global Administrator', async () => {
    const admin = cloudUser('ga-pa');
    assignRole(demo.tenant, admin.id, GLOBAL_ADMINISTRATOR_ROLE);
    assignRole(demo.tenant, clientId, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR_ROLE);
    try {
      const result = await entra().run('suspend-entra', byId(admin), opts());
      expect(result.summary).toBe(`Disabled ${admin.userPrincipalName} in Entra ID`);
      expect(admin.accountEnabled).toBe(false);
    } finally {
      demo.tenant.roleAssignments = demo.tenant.roleAssignments.filter((a) => a.principalId !== clientId);
    }
  });

  it('a plain user without the permission still hears which permission is missing', async () => {
    const plain = cloudUser('plain-403');
    const error = await appError(entra('a1b2c3d4-0000-4000-8000-0000000013a2').run('revoke-sessions', byId(plain), opts()));
    expect(error.message).toContain('grant it the User.RevokeSessions.All application permission');
  });
});
