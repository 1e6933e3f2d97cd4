/**
 * Issue 15 in the store, on both databases: an owner is set by one conditional write (of two
 * instances taking at once, one wins), and the escalation schedule is claimed, advanced and
 * stopped so that two instances never run the same step and a crash loses nothing.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/domain/ports/store.ts';
import type { AlertOwner } from '../../src/domain/ports/alert-ownership.ts';
import { twoStoreInstancesOn } from '../support/two-store-instances.ts';
import { BACKENDS, makeAlert } from '../support/store-contract.ts';

const T0 = new Date('2026-03-01T03:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const owner = (id: string, name: string, minutes = 0): AlertOwner => ({ id, name, teamsId: `29:${id}`, since: at(minutes) });

describe.each(BACKENDS)('owners and escalations on $name', (backend) => {
  const twoInstances = twoStoreInstancesOn(backend);

  async function posted(store: Store, key: string, severity: 'high' | 'low' = 'high', minutes = 0): Promise<void> {
    await store.upsertAlert(makeAlert(key, { severity }), `fp-${key}`, at(minutes));
    await store.claimAlertsToPost('poster', 10, 60_000, at(minutes));
    await store.markAlertPosted(key, 'poster', { conversationId: '19:c@thread.tacv2', activityId: `root-${key}`, threadConversationId: `19:c@thread.tacv2;messageid=root-${key}` }, at(minutes));
  }

  it.skipIf(backend.skip)('two instances taking at once: one owner; a re-assign only over the owner it expects', async () => {
    const [a, b] = await twoInstances();
    await posted(a, 'k1');
    const results = await Promise.all([a.takeAlert('k1', owner('alice', 'Alice')), b.takeAlert('k1', owner('bob', 'Bob'))]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = (await a.getAlertByKey('k1'))!.owner!;
    expect([['alice', 'Alice'], ['bob', 'Bob']]).toContainEqual([winner.id, winner.name]);
    expect(winner.since.toISOString()).toBe(T0.toISOString());
    // A stale re-assign (it expects the loser) changes nothing; one that expects the winner does.
    const loser = winner.id === 'alice' ? 'bob' : 'alice';
    expect(await b.reassignAlert('k1', loser, owner('carol', 'Carol'))).toBe(false);
    expect(await b.reassignAlert('k1', winner.id, owner('dave', 'Dave', 5))).toBe(true);
    expect((await a.getAlertByKey('k1'))!.owner).toEqual({ id: 'dave', name: 'Dave', teamsId: '29:dave', since: at(5) });
    // Taking an owned alert is refused by the database, whoever asks.
    expect(await a.takeAlert('k1', owner('erin', 'Erin'))).toBe(false);
  });

  it.skipIf(backend.skip)('schedules each unowned posted alert once; steps are claimed by one instance; a stale claim is taken over', async () => {
    const [a, b] = await twoInstances();
    await posted(a, 'high-1');
    await posted(a, 'low-1', 'low');
    await posted(a, 'owned-1');
    await a.takeAlert('owned-1', owner('alice', 'Alice'));
    const candidates = await a.listAlertsToSchedule(['high'], at(-60), 10);
    expect(candidates.map((c) => c.alertKey)).toEqual(['high-1']);
    const created = await Promise.all([a.scheduleEscalation('high-1', 'remind', at(10)), b.scheduleEscalation('high-1', 'remind', at(10))]);
    expect(created.filter(Boolean)).toHaveLength(1);
    expect(await a.listAlertsToSchedule(['high'], at(-60), 10)).toEqual([]);

    expect(await a.claimDueEscalations('A', at(9), 10, 60_000)).toEqual([]);
    const [claimedA, claimedB] = await Promise.all([a.claimDueEscalations('A', at(10), 10, 60_000), b.claimDueEscalations('B', at(10), 10, 60_000)]);
    expect([...claimedA, ...claimedB].map((r) => r.alertKey)).toEqual(['high-1']);
    const holder = claimedA.length === 1 ? 'A' : 'B';
    const other = holder === 'A' ? 'B' : 'A';
    // Not the holder: cannot advance. A crash: after the stale time, another instance takes it over.
    expect(await a.advanceEscalation('high-1', other, 'remind', { step: 'page', dueAt: at(30), remindedAt: at(10) })).toBe(false);
    expect(await b.claimDueEscalations(other, at(10.5), 10, 60_000)).toEqual([]);
    const taken = await b.claimDueEscalations(other, at(12), 10, 60_000);
    expect(taken.map((r) => [r.alertKey, r.claimedBy])).toEqual([['high-1', other]]);
    expect(await a.advanceEscalation('high-1', holder, 'remind', { step: 'page', dueAt: at(30), remindedAt: at(10) })).toBe(false);
    expect(await a.advanceEscalation('high-1', other, 'remind', { step: 'page', dueAt: at(30), remindedAt: at(12) })).toBe(true);
    expect(await a.getEscalation('high-1')).toMatchObject({ step: 'page', dueAt: at(30), remindedAt: at(12), attempts: 0 });
    expect(await b.retryEscalation('high-1', other, 'page', at(31))).toBe(false);
  });

  it.skipIf(backend.skip)('stopping: nothing more is due, a page that went out is left to resolve (claimed by the stopper), a page racing the stop is recorded', async () => {
    const [a, b] = await twoInstances();
    await posted(a, 'paged');
    await a.scheduleEscalation('paged', 'page', at(30));
    await a.claimDueEscalations('A', at(30), 10, 60_000);
    expect(await a.advanceEscalation('paged', 'A', 'page', { step: 'done', dueAt: at(30), pagedAt: at(30), pagedVia: ['pagerduty', 'opsgenie'] })).toBe(true);
    expect((await a.listOpenPages(10)).map((r) => r.alertKey)).toEqual(['paged']);
    const stopped = await b.stopEscalation('paged', 'taken', 'B', at(40));
    expect(stopped).toMatchObject({ step: 'resolve', stopReason: 'taken', claimedBy: 'B', pagedVia: ['pagerduty', 'opsgenie'], stoppedAt: at(40) });
    expect(await a.stopEscalation('paged', 'decided', 'A', at(41))).toBeUndefined();
    expect(await a.listOpenPages(10)).toEqual([]);
    expect(await b.advanceEscalation('paged', 'B', 'resolve', { step: 'done', dueAt: at(40), pageResolvedAt: at(40) })).toBe(true);
    expect(await a.claimDueEscalations('A', at(500), 10, 60_000)).toEqual([]);

    // Stopped before any page: done. Then a page that was on its way when it stopped is recorded to resolve.
    await posted(a, 'racing');
    await a.scheduleEscalation('racing', 'page', at(30));
    await a.claimDueEscalations('A', at(30), 10, 60_000);
    expect(await b.stopEscalation('racing', 'taken', 'B', at(30))).toMatchObject({ step: 'done' });
    expect(await a.advanceEscalation('racing', 'A', 'page', { step: 'done', dueAt: at(30), pagedAt: at(30), pagedVia: ['pagerduty'] })).toBe(false);
    expect(await a.notePageAfterStop('racing', ['pagerduty'], at(30))).toBe(true);
    const due = await b.claimDueEscalations('B', at(31), 10, 60_000);
    expect(due.map((r) => [r.alertKey, r.step, r.pagedVia])).toEqual([['racing', 'resolve', ['pagerduty']]]);
  });
});
