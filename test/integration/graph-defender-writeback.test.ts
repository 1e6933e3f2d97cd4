import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTokensAndGraph, type GraphServer } from '../../sim/graph/graph-server.ts';
import type { EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { mdiAlert } from '../../sim/graph/graph-alert-factory.ts';
import { createDemoTenant, putAlert, type DemoTenant } from '../../sim/tenant.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { createAzureCredential } from '../../src/adapters/azure/azure-credential.ts';
import { createGraphClient } from '../../src/adapters/graph/graph-client.ts';
import { createGraphDefenderWriteback } from '../../src/adapters/graph/graph-defender-writeback.ts';
import { mapGraphAlert } from '../../src/adapters/graph/graph-alert-mapper.ts';
import { Secret } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { createWritebackRecorder } from '../../src/writeback/record-writeback.ts';
import { createWritebackWorker } from '../../src/writeback/writeback-worker.ts';
import { createOwnerWriteback } from '../../src/writeback/owner-writeback.ts';
import { rejectionOf } from '../support/failures.ts';
import { AppError } from '../../src/domain/errors.ts';

/**
 * The Defender write-back adapter through the real Graph SDK against the Graph stand-in over TLS:
 * the documented requests (alert comments, alert PATCH, incident comments), what the stand-in
 * refuses (enum values, missing roles, unknown incident), and the owner listener end to end
 * (recorder → outbox in a real SQLite store → worker → Graph `assignedTo`).
 */
const clientId = 'a1b2c3d4-0000-4000-8000-00000000db01';
const readOnlyClientId = 'a1b2c3d4-0000-4000-8000-00000000db02';
const alertOnlyClientId = 'a1b2c3d4-0000-4000-8000-00000000db03';
const secret = randomBytes(24).toString('base64url');

let demo: DemoTenant;
let tokens: EntraTokenServer;
let graph: GraphServer;
const dirs: string[] = [];
const stores: Store[] = [];

beforeAll(async () => {
  demo = createDemoTenant();
  ({ tokens, graph } = await startTokensAndGraph(demo.tenant, [
    { clientId, clientSecret: secret },
    { clientId: readOnlyClientId, clientSecret: secret, roles: ['SecurityAlert.Read.All'] },
    { clientId: alertOnlyClientId, clientSecret: secret, roles: ['SecurityAlert.ReadWrite.All'] },
  ]));
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await Promise.all([tokens?.close(), graph?.close()]);
});

function writeback(id = clientId) {
  const log = captureLogger();
  const credential = createAzureCredential({ tenantId: demo.tenant.tenantId, clientId: id, clientSecret: new Secret(secret), managedIdentity: false, authorityHost: tokens.url }, { timeoutMs: 5000 });
  const client = createGraphClient({ credential, endpoint: graph.url, timeoutMs: 5000, logger: log.logger, maxRetries: 0 });
  return { defender: createGraphDefenderWriteback({ client }), log };
}

const appError = (promise: Promise<unknown>) => rejectionOf(promise, AppError);

describe('Graph Defender write-back adapter against the stand-in', () => {
  it('comments on the alert and its incident, and updates status, classification, determination and assignedTo', async () => {
    const alert = putAlert(demo.tenant, mdiAlert({ kind: 'goldenTicket' }));
    const { defender } = writeback();
    await defender.commentAlert(alert.id, 'incident-bot: first');
    await defender.commentIncident(String(alert.incidentId), 'incident-bot: on the incident');
    await defender.updateAlert(alert.id, { status: 'resolved', classification: 'truePositive', determination: 'compromisedUser', assignedTo: 'alice@corp.example' });
    const stored = demo.tenant.alerts.get(alert.id)!;
    expect(stored).toMatchObject({ status: 'resolved', classification: 'truePositive', determination: 'compromisedUser', assignedTo: 'alice@corp.example' });
    expect(typeof stored.resolvedDateTime).toBe('string');
    expect((stored.comments as { comment: string }[]).map((c) => c.comment)).toEqual(['incident-bot: first']);
    expect((graph.incidentComments.get(String(alert.incidentId)) as { comment: string }[]).map((c) => c.comment)).toEqual(['incident-bot: on the incident']);
  });

  it('the stand-in refuses what Graph refuses: values outside the enums, a missing role, an unknown incident or alert, an empty comment', async () => {
    const alert = putAlert(demo.tenant, mdiAlert({ kind: 'passTheTicket' }));
    const { defender } = writeback();
    expect((await appError(defender.updateAlert(alert.id, { status: 'closed' as 'resolved' }))).details.status).toBe(400);
    expect((await appError(defender.updateAlert(alert.id, { classification: 'benignPositive' }))).details.status).toBe(400);
    expect((await appError(defender.updateAlert(alert.id, { determination: 'compromisedAccount' }))).details.status).toBe(400);
    expect((await appError(defender.commentAlert(alert.id, '   '))).details.status).toBe(400);
    expect((await appError(defender.commentIncident('999999', 'x'))).code).toBe('UPSTREAM_NOT_FOUND');
    expect((await appError(defender.commentAlert('da-no-such-alert', 'x'))).code).toBe('UPSTREAM_NOT_FOUND');
    const readOnly = writeback(readOnlyClientId).defender;
    const refused = await appError(readOnly.commentAlert(alert.id, 'x'));
    expect(refused.code).toBe('UPSTREAM_FORBIDDEN');
    expect(refused.message).toContain('SecurityAlert.ReadWrite.All');
    // Incident comments need their own permission.
    const alertOnly = writeback(alertOnlyClientId).defender;
    expect((await appError(alertOnly.commentIncident(String(alert.incidentId), 'x'))).message).toContain('SecurityIncident.ReadWrite.All');
    expect(demo.tenant.alerts.get(alert.id)?.status).toBe(alert.status);
  });
});

describe('the owner listener (for take / re-assign)', () => {
  async function pipeline(enabled = true) {
    const dir = mkdtempSync(join(tmpdir(), 'wb-owner-'));
    dirs.push(dir);
    const log = captureLogger();
    const store = await openStore({ databaseUrl: `sqlite:${join(dir, 'bot.db')}`, logger: log.logger });
    stores.push(store);
    const recorder = createWritebackRecorder({ store, enabled, logger: log.logger });
    const worker = createWritebackWorker({ store, defender: writeback().defender, logger: log.logger, instanceId: 'test', retryBaseMs: 1000, timeoutMs: 5000 });
    return { store, recorder, worker, owner: createOwnerWriteback({ writeback: recorder }), log };
  }

  it('writes assignedTo = the owner and status inProgress, with a comment on the alert and its incident', async () => {
    const graphAlert = putAlert(demo.tenant, mdiAlert({ kind: 'bruteForce' }));
    const { store, worker, owner } = await pipeline();
    const { alert } = mapGraphAlert(graphAlert);
    await store.upsertAlert(alert, 'fp');
    await owner.ownerChanged({ key: alert.key }, { name: 'Carol Lead', userPrincipalName: 'carol@corp.example' }, { name: 'Carol Lead' });
    expect(await worker.drain()).toBe(3);
    expect(demo.tenant.alerts.get(graphAlert.id)).toMatchObject({ assignedTo: 'carol@corp.example', status: 'inProgress' });
    expect((demo.tenant.alerts.get(graphAlert.id)!.comments as { comment: string }[]).at(-1)?.comment).toMatch(/^incident-bot: assigned to Carol Lead by Carol Lead at /);
    expect(graph.incidentComments.get(String(graphAlert.incidentId))).toHaveLength(1);
    expect(await store.writebackStats(alert.key)).toEqual({ pending: 0, failed: 0, sent: 3 });
  });

  it('skips an alert read from Sentinel (no Graph alert id), and records nothing with write-back off', async () => {
    const { store, recorder, worker, log } = await pipeline();
    const { alert } = mapGraphAlert(putAlert(demo.tenant, mdiAlert({ kind: 'bruteForce' })));
    await store.upsertAlert({ ...alert, key: `sentinel-${alert.key}`, source: 'sentinel' }, 'fp');
    await recorder.record(`sentinel-${alert.key}`, { eventId: 'e1', comment: 'x', update: { status: 'inProgress' } });
    expect(await worker.drain()).toBe(0);
    expect(log.text()).toContain('only alerts read from Graph are written back');
    const off = await pipeline(false);
    await off.store.upsertAlert(alert, 'fp');
    await off.recorder.record(alert.key, { eventId: 'e2', comment: 'x' });
    expect(await off.store.writebackStats()).toEqual({ pending: 0, failed: 0, sent: 0 });
  });

  it('a refusal (403) is given up at once, a 503 retried later; the code is kept, never the message', async () => {
    const graphAlert = putAlert(demo.tenant, mdiAlert({ kind: 'bruteForce' }));
    const { store, worker } = await pipeline();
    const { alert } = mapGraphAlert(graphAlert);
    await store.upsertAlert(alert, 'fp');
    graph.faults.push({ match: (r) => r.path.endsWith(`/alerts_v2/${graphAlert.id}/comments`), status: 503, times: 1 });
    graph.faults.push({ match: (r) => r.path.includes('/incidents/'), status: 403, times: 1 });
    await createWritebackRecorder({ store, enabled: true, logger: captureLogger().logger }).record(alert.key, { eventId: 'e3', comment: 'hello' });
    await worker.drain();
    expect(await store.writebackStats(alert.key)).toMatchObject({ pending: 2, failed: 0, lastErrorCode: 'UPSTREAM_ERROR' });
    const later = createWritebackWorker({ store, defender: writeback().defender, logger: captureLogger().logger, instanceId: 'later', retryBaseMs: 1000, timeoutMs: 5000, now: () => new Date(Date.now() + 5_000) });
    await later.drain();
    const stats = await store.writebackStats(alert.key);
    expect(stats).toMatchObject({ pending: 0, failed: 1, sent: 1, lastErrorCode: 'UPSTREAM_FORBIDDEN' });
  });
});
