/**
 * The WritebackOutbox contract on both databases: enqueue is idempotent per job id, a claim is a
 * lease (two instances never hold one job; a lapsed claim is taken over), jobs of one alert go out
 * in order (a retried older job blocks the newer ones of that alert, not other alerts'), failures
 * back off or give up, and an alert is closed once.
 */
import { describe, expect, it } from 'vitest';
import type { NewWritebackJob } from '../../src/domain/ports/writeback-outbox.ts';
import { twoStoreInstancesOn } from '../support/two-store-instances.ts';
import { BACKENDS } from '../support/store-contract.ts';

const T0 = new Date('2025-03-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const LEASE = 30_000;

const comment = (id: string, alertKey = 'alert-1'): NewWritebackJob => ({ id, alertKey, kind: 'alert-comment', target: `graph-${alertKey}`, comment: `comment ${id}` });

describe.each(BACKENDS)('WritebackOutbox contract on $name', (backend) => {
  const twoInstances = twoStoreInstancesOn(backend);

  describe.skipIf(backend.skip)('with a fresh database', () => {
    it('enqueues each job id once and keeps its payload', async () => {
      const [store] = await twoInstances();
      expect(await store.enqueueWriteback([comment('j1'), { id: 'j2', alertKey: 'alert-1', kind: 'alert-update', target: 'graph-alert-1', update: { status: 'resolved', classification: 'truePositive', determination: 'compromisedUser' } }], T0)).toBe(2);
      expect(await store.enqueueWriteback([comment('j1'), comment('j3')], at(1))).toBe(1);
      const claimed = await store.claimWritebacks('h1', 10, LEASE, at(2));
      // One alert: only the oldest is claimable until it is done.
      expect(claimed.map((j) => j.id)).toEqual(['j1']);
      expect(claimed[0]).toMatchObject({ kind: 'alert-comment', comment: 'comment j1', attempts: 1, state: 'sending' });
      expect(await store.markWritebackSent('j1', 'h1', at(3))).toBe(true);
      const next = await store.claimWritebacks('h1', 10, LEASE, at(4));
      expect(next.map((j) => j.id)).toEqual(['j2']);
      expect(next[0]?.update).toEqual({ status: 'resolved', classification: 'truePositive', determination: 'compromisedUser' });
    });

    it('two instances claiming at once never get the same job', async () => {
      const [a, b] = await twoInstances();
      await a.enqueueWriteback(Array.from({ length: 12 }, (_, i) => comment(`j${i}`, `alert-${i}`)), T0);
      const [fromA, fromB] = await Promise.all([a.claimWritebacks('A', 12, LEASE, at(1)), b.claimWritebacks('B', 12, LEASE, at(1))]);
      const ids = [...fromA, ...fromB].map((j) => j.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(12);
      // Only the holder may settle its claim.
      const job = fromA[0] ?? fromB[0]!;
      const holder = fromA.length > 0 ? 'A' : 'B';
      expect(await a.markWritebackSent(job.id, 'someone-else', at(2))).toBe(false);
      expect(await a.markWritebackSent(job.id, holder, at(2))).toBe(true);
      expect(await a.markWritebackSent(job.id, holder, at(3))).toBe(false);
    });

    it('a claim whose instance died is taken over after its lease, with the attempt counted', async () => {
      const [a, b] = await twoInstances();
      await a.enqueueWriteback([comment('j1')], T0);
      expect((await a.claimWritebacks('A', 5, LEASE, at(1))).map((j) => j.id)).toEqual(['j1']);
      expect(await b.claimWritebacks('B', 5, LEASE, at(LEASE))).toEqual([]);
      const taken = await b.claimWritebacks('B', 5, LEASE, at(LEASE + 2));
      expect(taken.map((j) => [j.id, j.attempts])).toEqual([['j1', 2]]);
      // The dead holder's late answer changes nothing.
      expect(await a.markWritebackSent('j1', 'A', at(LEASE + 3))).toBe(false);
    });

    it('a failure backs off (blocking only its own alert) or gives up; stats say so without messages', async () => {
      const [store] = await twoInstances();
      await store.enqueueWriteback([comment('a1', 'alert-a'), comment('a2', 'alert-a')], T0);
      await store.enqueueWriteback([comment('b1', 'alert-b')], at(1));
      const first = await store.claimWritebacks('h', 10, LEASE, at(2));
      expect(first.map((j) => j.id).sort()).toEqual(['a1', 'b1']);
      expect(await store.markWritebackFailed('a1', 'h', { errorCode: 'UPSTREAM_ERROR', retryAt: at(60_000) }, at(3))).toBe(true);
      expect(await store.markWritebackSent('b1', 'h', at(3))).toBe(true);
      // a2 waits behind a1 (order per alert); a1 is not due yet.
      expect(await store.claimWritebacks('h', 10, LEASE, at(4))).toEqual([]);
      expect(await store.writebackStats()).toMatchObject({ pending: 2, failed: 0, sent: 1, lastErrorCode: 'UPSTREAM_ERROR' });
      expect(await store.writebackStats('alert-b')).toEqual({ pending: 0, failed: 0, sent: 1 });
      const retried = await store.claimWritebacks('h', 10, LEASE, at(60_000));
      expect(retried.map((j) => [j.id, j.attempts])).toEqual([['a1', 2]]);
      // Given up: a2 is no longer blocked.
      expect(await store.markWritebackFailed('a1', 'h', { errorCode: 'UPSTREAM_FORBIDDEN' }, at(60_001))).toBe(true);
      expect((await store.claimWritebacks('h', 10, LEASE, at(60_002))).map((j) => j.id)).toEqual(['a2']);
      expect(await store.writebackStats('alert-a')).toMatchObject({ pending: 1, failed: 1, sent: 0, lastErrorCode: 'UPSTREAM_FORBIDDEN' });
    });

    it('closes an alert once: the first close stands', async () => {
      const [a, b] = await twoInstances();
      const closure = { alertKey: 'alert-1', classification: 'truePositive', determination: 'compromisedUser', closedBy: 'id-alice', closedByName: 'Alice', closedAt: T0 };
      const results = await Promise.all([a.recordAlertClosure(closure), b.recordAlertClosure({ ...closure, classification: 'falsePositive', determination: 'clean', closedBy: 'id-bob', closedByName: 'Bob' })]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const stored = await b.getAlertClosure('alert-1');
      expect(stored?.closedByName).toBe(results[0] ? 'Alice' : 'Bob');
      expect(await a.getAlertClosure('alert-2')).toBeUndefined();
    });
  });
});
