/**
 * The Defender write-back outbox and the alerts closed from the card, over Kysely. Claims are one
 * conditional UPDATE each (PostgreSQL skips rows another claimer holds), a claim is a lease with
 * an expiry, and a job is only claimable when no older job of its alert is still unfinished.
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database, WritebackJobsTable } from './schema.ts';
import type { AlertClosure, AlertUpdate, NewWritebackJob, WritebackJob, WritebackKind, WritebackState, WritebackStats } from '../domain/ports/writeback-outbox.ts';
import { iso, optional, optionalDate } from './sql-values.ts';
import { SqlPart } from './sql-part.ts';

type JobRow = Omit<WritebackJobsTable, 'state' | 'attempts'> & { state: string; attempts: number };

function toJob(row: JobRow): WritebackJob {
  const payload = JSON.parse(row.payload_json) as { comment?: string; update?: AlertUpdate };
  return {
    id: row.id,
    alertKey: row.alert_key,
    kind: row.kind as WritebackKind,
    target: row.target,
    ...(payload.comment === undefined ? {} : { comment: payload.comment }),
    ...(payload.update === undefined ? {} : { update: payload.update }),
    state: row.state as WritebackState,
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(row.next_attempt_at),
    ...(row.last_error_code === null ? {} : { lastErrorCode: row.last_error_code }),
    createdAt: new Date(row.created_at),
  };
}

export class SqlWriteback extends SqlPart {
  async enqueueWriteback(jobs: readonly NewWritebackJob[], now: Date = new Date()): Promise<number> {
    let added = 0;
    for (const [index, job] of jobs.entries()) {
      const row = await this.db
        .insertInto('writeback_jobs')
        .values({
          id: job.id,
          alert_key: job.alertKey,
          kind: job.kind,
          target: job.target,
          payload_json: JSON.stringify({ ...(job.comment === undefined ? {} : { comment: job.comment }), ...(job.update === undefined ? {} : { update: job.update }) }),
          order_key: `${iso(now)}#${String(index).padStart(4, '0')}`,
          next_attempt_at: iso(now),
          created_at: iso(now),
          updated_at: iso(now),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (row) added++;
    }
    return added;
  }

  async claimWritebacks(holder: string, limit: number, leaseMs: number, now: Date = new Date()): Promise<WritebackJob[]> {
    const at = iso(now);
    const claimable = (eb: ExpressionBuilder<Database, 'writeback_jobs'>): Expression<SqlBool> =>
      eb.and([
        eb.or([
          eb.and([eb('writeback_jobs.state', '=', 'pending'), eb('writeback_jobs.next_attempt_at', '<=', at)]),
          eb.and([eb('writeback_jobs.state', '=', 'sending'), eb('writeback_jobs.claim_expires_at', '<', at)]),
        ]),
        // In order per alert: nothing older of the same alert is still to be sent (or being sent).
        eb.not(
          eb.exists(
            eb
              .selectFrom('writeback_jobs as older')
              .select('older.id')
              .whereRef('older.alert_key', '=', 'writeback_jobs.alert_key')
              .where((o) => o.or([o('older.order_key', '<', o.ref('writeback_jobs.order_key')), o.and([o('older.order_key', '=', o.ref('writeback_jobs.order_key')), o('older.id', '<', o.ref('writeback_jobs.id'))])]))
              .where('older.state', 'in', ['pending', 'sending']),
          ),
        ),
      ]);
    let candidates = this.db.selectFrom('writeback_jobs').select('writeback_jobs.id').where(claimable).orderBy('writeback_jobs.order_key').limit(limit);
    if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('writeback_jobs')
      .set((eb) => ({ state: 'sending', claimed_by: holder, claim_expires_at: iso(new Date(now.getTime() + leaseMs)), attempts: eb('attempts', '+', 1), updated_at: at }))
      .where('writeback_jobs.id', 'in', candidates)
      .where(claimable)
      .returningAll()
      .execute();
    return (rows as JobRow[]).sort((a, b) => a.order_key.localeCompare(b.order_key) || a.id.localeCompare(b.id)).map(toJob);
  }

  async markWritebackSent(id: string, holder: string, now: Date = new Date()): Promise<boolean> {
    const result = await this.db
      .updateTable('writeback_jobs')
      .set({ state: 'sent', claimed_by: null, claim_expires_at: null, updated_at: iso(now) })
      .where('id', '=', id)
      .where('state', '=', 'sending')
      .where('claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async markWritebackFailed(id: string, holder: string, failure: { errorCode: string; retryAt?: Date }, now: Date = new Date()): Promise<boolean> {
    const result = await this.db
      .updateTable('writeback_jobs')
      .set({
        state: failure.retryAt ? 'pending' : 'failed',
        next_attempt_at: iso(failure.retryAt ?? now),
        claimed_by: null,
        claim_expires_at: null,
        last_error_code: failure.errorCode.slice(0, 64),
        last_error_at: iso(now),
        updated_at: iso(now),
      })
      .where('id', '=', id)
      .where('state', '=', 'sending')
      .where('claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async writebackStats(alertKey?: string): Promise<WritebackStats> {
    let counts = this.db.selectFrom('writeback_jobs').select(['state', sql<number>`count(*)`.as('n')]).groupBy('state');
    if (alertKey !== undefined) counts = counts.where('alert_key', '=', alertKey);
    const rows = await counts.execute();
    const count = (...states: string[]) => rows.filter((r) => states.includes(r.state)).reduce((sum, r) => sum + Number(r.n), 0);
    let last = this.db.selectFrom('writeback_jobs').select(['last_error_code', 'last_error_at']).where('last_error_at', 'is not', null).orderBy('last_error_at', 'desc').limit(1);
    if (alertKey !== undefined) last = last.where('alert_key', '=', alertKey);
    const error = await last.executeTakeFirst();
    const lastErrorCode = optional(error?.last_error_code ?? null);
    const lastErrorAt = optionalDate(error?.last_error_at ?? null);
    return { pending: count('pending', 'sending'), failed: count('failed'), sent: count('sent'), ...(lastErrorCode ? { lastErrorCode } : {}), ...(lastErrorAt ? { lastErrorAt } : {}) };
  }

  async recordAlertClosure(closure: AlertClosure): Promise<boolean> {
    const row = await this.db
      .insertInto('alert_closures')
      .values({
        alert_key: closure.alertKey,
        classification: closure.classification,
        determination: closure.determination,
        closed_by: closure.closedBy,
        closed_by_name: closure.closedByName,
        closed_at: iso(closure.closedAt),
      })
      .onConflict((oc) => oc.column('alert_key').doNothing())
      .returning('alert_key')
      .executeTakeFirst();
    return row !== undefined;
  }

  async getAlertClosure(alertKey: string): Promise<AlertClosure | undefined> {
    const row = await this.db.selectFrom('alert_closures').selectAll().where('alert_key', '=', alertKey).executeTakeFirst();
    if (!row) return undefined;
    return { alertKey: row.alert_key, classification: row.classification, determination: row.determination, closedBy: row.closed_by, closedByName: row.closed_by_name, closedAt: new Date(row.closed_at) };
  }
}
