import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { decodeJwt, startEntraTokenServer, verifyBearer, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { startGraphServer } from '../../sim/graph/graph-server.ts';
import { parseFilter, ODataFilterError } from '../../sim/graph/odata-filter.ts';
import { addGroup, addMembers, addUser, createDemoTenant, createTenant, transitiveGroupIds } from '../../sim/tenant.ts';
import { mdiAlert } from '../../sim/graph/graph-alert-factory.ts';

/** The stand-ins' own edges: certificate credentials, token expiry and tenant binding, the filter parser, the seed data. */

const started: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

async function tokenServer(...args: Parameters<typeof startEntraTokenServer>): Promise<EntraTokenServer> {
  const server = await startEntraTokenServer(...args);
  started.push(server);
  return server;
}

describe('Entra token endpoint', () => {
  it('accepts a certificate client assertion from ClientCertificateCredential and refuses an unregistered certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entra-cert-'));
    try {
      const make = (name: string) => {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
        return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
      };
      const good = make('good');
      const other = make('other');
      const tenantId = createTenant().tenantId;
      const server = await tokenServer({ clients: [{ tenantId, clientId: 'cert-app', certificatePem: good.cert }] });
      const options = { authorityHost: server.url, disableInstanceDiscovery: true };
      const token = await new ClientCertificateCredential(tenantId, 'cert-app', { certificate: good.cert + good.key }, options).getToken('https://graph.microsoft.com/.default');
      expect(decodeJwt(token.token)?.payload.aud).toBe('https://graph.microsoft.com');
      expect(server.issued.at(-1)?.credential).toBe('certificate');
      const refused = new ClientCertificateCredential(tenantId, 'cert-app', { certificate: other.cert + other.key }, options).getToken('https://graph.microsoft.com/.default');
      await expect(refused).rejects.toThrow(/AADSTS700027/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('issues tokens that expire, and Graph refuses a token from another tenant', async () => {
    const demo = createDemoTenant();
    const otherTenant = createTenant().tenantId;
    const secret = randomBytes(16).toString('hex');
    const server = await tokenServer({ clients: [{ tenantId: demo.tenant.tenantId, clientId: 'a', clientSecret: secret }, { tenantId: otherTenant, clientId: 'b', clientSecret: secret }], tokenLifetimeSeconds: 1 });
    const graph = await startGraphServer({ tokens: server, tenant: demo.tenant });
    started.push(graph);
    const foreign = await new ClientSecretCredential(otherTenant, 'b', secret, { authorityHost: server.url, disableInstanceDiscovery: true }).getToken('https://graph.microsoft.com/.default');
    const reply = await fetch(`${graph.url}/v1.0/users`, { headers: { authorization: `Bearer ${foreign.token}` }, signal: AbortSignal.timeout(5000) });
    expect(reply.status).toBe(401);
    const own = server.issued.find((t) => t.tenantId === otherTenant)?.accessToken;
    expect(verifyBearer(`Bearer ${own}`, 'https://graph.microsoft.com').ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(verifyBearer(`Bearer ${own}`, 'https://graph.microsoft.com')).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifyBearer(`Bearer ${own?.slice(0, -4)}AAAA`, 'https://graph.microsoft.com').ok).toBe(false);
  });

  it('answers unknown tenants and non-.default scopes like AAD', async () => {
    const server = await tokenServer({ clients: [{ tenantId: 't1', clientId: 'a', clientSecret: 's' }] });
    const post = (tenant: string, scope: string) =>
      fetch(`${server.url}/${tenant}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'a', client_secret: 's', scope }),
        signal: AbortSignal.timeout(5000),
      }).then(async (r) => [r.status, ((await r.json()) as { error: string }).error]);
    expect(await post('t2', 'https://graph.microsoft.com/.default')).toEqual([400, 'invalid_request']);
    expect(await post('t1', 'User.Read')).toEqual([400, 'invalid_scope']);
    expect(await post('t1', 'https://unknown.example/.default')).toEqual([400, 'invalid_resource']);
  });
});

describe('OData $filter parser', () => {
  it('parses literals with doubled quotes, datetimes, functions and and/or', () => {
    expect(parseFilter("displayName eq 'O''Brien'")).toEqual({ kind: 'compare', property: 'displayName', op: 'eq', value: { type: 'string', value: "O'Brien" } });
    expect(parseFilter("startswith(displayName,'a b')")).toMatchObject({ kind: 'call', fn: 'startswith', property: 'displayName' });
    const expr = parseFilter("serviceSource eq 'x' and (lastUpdateDateTime gt 2026-11-20T09:14:03.512Z or severity eq 'high')");
    expect(expr).toMatchObject({ kind: 'and', items: [{ kind: 'compare' }, { kind: 'or' }] });
  });
  it('rejects broken filters', () => {
    for (const bad of ["displayName eq 'open", 'displayName eq', "displayName like 'a'", "a eq 'b' c"]) {
      expect(() => parseFilter(bad), bad).toThrow(ODataFilterError);
    }
  });
});

describe('simulated tenant and alert factory', () => {
  it('builds a demo company with synced and cloud-only users and nested groups', () => {
    const demo = createDemoTenant();
    const users = [...demo.tenant.users.values()];
    expect(users.length).toBeGreaterThanOrEqual(30);
    expect(users.filter((u) => u.onPremisesSyncEnabled).length).toBeGreaterThan(users.length / 2);
    expect(users.some((u) => u.onPremisesSyncEnabled === null)).toBe(true);
    expect(new Set(users.map((u) => u.onPremisesSecurityIdentifier).filter(Boolean)).size).toBe(users.filter((u) => u.onPremisesSyncEnabled).length);
    expect(transitiveGroupIds(demo.tenant, demo.people.carol.id).has(demo.groups.socApprovers.id)).toBe(true);
    expect(transitiveGroupIds(demo.tenant, demo.people.dave.id).has(demo.groups.tier0.id)).toBe(true);
    expect(transitiveGroupIds(demo.tenant, demo.people.bob.id).has(demo.groups.socApprovers.id)).toBe(false);
  });
  it('tolerates group cycles', () => {
    const tenant = createTenant();
    const u = addUser(tenant, { name: 'x' });
    const a = addGroup(tenant, { displayName: 'A', members: [u] });
    const b = addGroup(tenant, { displayName: 'B', members: [a] });
    addMembers(a, b);
    expect([...transitiveGroupIds(tenant, u.id)].sort()).toEqual([a.id, b.id].sort());
  });
  it('maps a synced tenant user into MDI userEvidence', () => {
    const demo = createDemoTenant();
    const alert = mdiAlert({ kind: 'passTheHash', accounts: [demo.people.alice] });
    const evidence = (alert.evidence as Array<Record<string, unknown>>)[0];
    expect(alert.title).toBe('Suspected identity theft (pass-the-hash)');
    expect(evidence?.userAccount).toEqual({
      accountName: 'alice.martin',
      domainName: 'CORP',
      userSid: demo.people.alice.onPremisesSecurityIdentifier,
      azureAdUserId: demo.people.alice.id,
      userPrincipalName: 'alice.martin@corp.example.test',
      displayName: 'Alice Martin',
      activeDirectoryObjectGuid: demo.people.alice.onPremisesObjectGuid,
    });
  });
});
