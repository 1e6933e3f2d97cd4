import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createGraphUserLookup } from '../../src/adapters/graph/graph-user-lookup.ts';
import type { EntraUserLookup } from '../../src/domain/ports/entra-user-lookup.ts';
import { Secret } from '../../src/observability/logger.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import type { EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { addUser, createDemoTenant } from '../../sim/tenant.ts';

// Graph `$filter` values typed by an analyst reach Graph as one quoted literal, whatever they hold:
// quotes, percent-encodings, `&`, `#`, `+`. Proven against the local Graph, which decodes the
// query string as Graph does and evaluates the OData filter.
describe('Graph user lookup: filter values are literals on the wire', () => {
  const clientId = randomUUID();
  const secret = randomBytes(24).toString('base64url');
  let tokens: EntraTokenServer;
  let graph: GraphServer;
  let lookup: EntraUserLookup;

  beforeAll(async () => {
    const demo = createDemoTenant();
    addUser(demo.tenant, { name: 'admin.ops', displayName: 'Admin Ops', synced: false });
    addUser(demo.tenant, { name: 'att.liaison', displayName: 'AT&T Liaison', synced: false });
    addUser(demo.tenant, { name: 'plus.one', displayName: 'C++ Team', synced: false });
    ({ tokens, graph } = await startTokensAndGraph(demo.tenant, [{ clientId, clientSecret: secret }]));
    const credential = createAzureCredential(
      { tenantId: demo.tenant.tenantId, clientId, clientSecret: new Secret(secret), managedIdentity: false, authorityHost: tokens.url },
      { timeoutMs: 5_000 },
    );
    lookup = createGraphUserLookup({ client: createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5_000, logger: captureLogger().logger, maxRetries: 0 }) });
  });
  afterAll(async () => {
    await Promise.all([tokens?.close(), graph?.close()]);
  });

  const filtersSent = () => graph.requests.filter((r) => r.path === '/v1.0/users').map((r) => r.query.get('$filter') ?? '');

  it('keeps a percent-encoded quote inside the literal instead of closing it', async () => {
    const before = graph.requests.length;
    const found = await lookup.findUsers("x%27) or startswith(userPrincipalName,%27adm", 10);
    expect(found).toEqual([]);
    const sent = filtersSent().slice(-2).join('\n');
    expect(graph.requests.length).toBeGreaterThan(before);
    expect(sent).toContain("startswith(displayName,'x%27) or startswith(userPrincipalName,%27adm')");
  });

  it('keeps a real quote doubled, and finds names holding & and +', async () => {
    expect(await lookup.findUsers("O'Brien') or startswith(userPrincipalName,'adm", 10)).toEqual([]);
    expect(filtersSent().at(-1)).toContain("'O''Brien'') or startswith(userPrincipalName,''adm'");
    const att = await lookup.findUsers('AT&T', 10);
    expect(att.map((u) => u.displayName)).toEqual(['AT&T Liaison']);
    const plus = await lookup.findUsers('C++', 10);
    expect(plus.map((u) => u.displayName)).toEqual(['C++ Team']);
  });

  it('does not let # cut off the rest of the query', async () => {
    expect(await lookup.findUsers('Admin#', 10)).toEqual([]);
    const last = graph.requests.filter((r) => r.path === '/v1.0/users').at(-1)!;
    expect(last.query.get('$select')).toBeTruthy();
    expect(last.query.get('$top')).toBeTruthy();
  });
});
