import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/domain/ports/store.ts';
import { APPROVERS, approveClick, createHarness, seedAlert, identityTheftAlert, turnOf } from '../support/approval-harness.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { createTestDatabase, probePostgres, type TestDatabase } from '../support/postgres.ts';

// Exactly once across bot instances: each instance has its own workflow and its own pool on one database.
const probe = await probePostgres();

describe.skipIf(!probe.available)('approval workflow on PostgreSQL', () => {
  let database: TestDatabase;
  const stores: Store[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await database?.drop();
  });

  async function instance(url = database.url): Promise<Store> {
    const store = await openStore({ databaseUrl: url, logger: captureLogger().logger });
    stores.push(store);
    return store;
  }

  it('20 concurrent approves on two bot instances execute the action exactly once', async () => {
    const storeA = await instance();
    const storeB = await instance();
    await seedAlert(storeA, identityTheftAlert('alert-1'));
    const a = await createHarness({ store: storeA, seed: false });
    const b = await createHarness({ store: storeB, seed: false });
    const outcomes = await Promise.all(APPROVERS.map((actor, i) => (i % 2 === 0 ? a : b).workflow.onCardAction(approveClick('disable-ad-account'), turnOf(actor))));
    await Promise.all([a.workflow.idle(), b.workflow.idle()]);
    expect(outcomes.every((o) => o.kind === 'card')).toBe(true);
    expect(a.remediation.runs.length + b.remediation.runs.length).toBe(1);
    const approvals = await storeA.listApprovalsForAlert('alert-1');
    expect(approvals.map((x) => x.state)).toEqual(['succeeded']);
    const executed = (await storeA.listAudit({ approvalId: approvals[0]!.id, limit: 100 })).filter((e) => e.action === 'action.executed');
    expect(executed).toHaveLength(1);
  });

  it('the hourly cap holds across instances: with a cap of 3, 6 concurrent approvals run 3', async () => {
    // A database of its own: the cap's window is shared by everything in one database.
    const own = await createTestDatabase();
    const storeA = await instance(own.url);
    const storeB = await instance(own.url);
    stores.push({ close: () => own.drop() } as Store);
    const sids = Array.from({ length: 6 }, (_, i) => `S-1-5-21-7777-8888-9999-${2000 + i}`);
    for (const [i, sid] of sids.entries()) await seedAlert(storeA, identityTheftAlert(`cap-${i}`, `user${i}`, sid));
    const a = await createHarness({ store: storeA, seed: false, settings: { maxActionsPerHour: 3 } });
    const b = await createHarness({ store: storeB, seed: false, settings: { maxActionsPerHour: 3 } });
    await Promise.all(sids.map((sid, i) => (i % 2 === 0 ? a : b).workflow.onCardAction(approveClick('disable-ad-account', `sid:${sid.toLowerCase()}`, `cap-${i}`), turnOf(APPROVERS[i]!))));
    await Promise.all([a.workflow.idle(), b.workflow.idle()]);
    expect(a.remediation.runs.length + b.remediation.runs.length).toBe(3);
    expect(await storeA.listApprovalsInState('approved')).toHaveLength(3);
  });
});
