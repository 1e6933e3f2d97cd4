/**
 * The escalation schedule over Kysely (issue 15): one row per alert; each step claimed by one
 * instance with a single conditional UPDATE (a stale claim, from a crashed instance, is taken
 * over), advanced only by the holder of the claim at the step it claimed, and stopped by a take or
 * a decision whatever claim is held. Part of the SqlStore (./sql-store.ts).
 */
import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import type { AlertEscalationsTable, Database } from './schema.ts';
import type { Escalation, EscalationCandidate, EscalationProgress, EscalationStep } from '../domain/ports/escalation-store.ts';
import type { AlertStatus } from '../domain/alert.ts';
import type { PostState } from '../domain/ports/alert-store.ts';
import { iso, optional, optionalDate } from './sql-values.ts';
import { SqlPart } from './sql-part.ts';

type EscalationRow = Selectable<AlertEscalationsTable>;

function toEscalation(row: EscalationRow): Escalation {
  return {
    alertKey: row.alert_key,
    step: row.step as EscalationStep,
    dueAt: new Date(row.due_at),
    remindedAt: optionalDate(row.reminded_at),
    pagedAt: optionalDate(row.paged_at),
    pagedVia: row.paged_via ? (JSON.parse(row.paged_via) as string[]) : [],
    pageResolvedAt: optionalDate(row.page_resolved_at),
    stoppedAt: optionalDate(row.stopped_at),
    stopReason: optional(row.stop_reason),
    claimedBy: optional(row.claimed_by),
    claimedAt: optionalDate(row.claimed_at),
    attempts: Number(row.attempts),
  };
}

export class SqlEscalations extends SqlPart {
  async listAlertsToSchedule(severities: readonly string[], since: Date, limit: number): Promise<EscalationCandidate[]> {
    if (severities.length === 0) return [];
    const rows = await this.db
      .selectFrom('alerts')
      .select(['key', 'severity', 'posted_at'])
      .where('post_state', '=', 'posted' satisfies PostState)
      .where('status', '<>', 'resolved' satisfies AlertStatus)
      .where('owner_id', 'is', null)
      .where('severity', 'in', [...severities])
      .where('posted_at', '>=', iso(since))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('alert_escalations').select('alert_key').whereRef('alert_escalations.alert_key', '=', 'alerts.key'))))
      .orderBy('posted_at')
      .limit(limit)
      .execute();
    return rows.filter((row) => row.posted_at !== null).map((row) => ({ alertKey: row.key, severity: row.severity, postedAt: new Date(row.posted_at!) }));
  }

  async scheduleEscalation(alertKey: string, step: EscalationStep, dueAt: Date): Promise<boolean> {
    const inserted = await this.db
      .insertInto('alert_escalations')
      .values({ alert_key: alertKey, step, due_at: iso(dueAt) })
      .onConflict((oc) => oc.column('alert_key').doNothing())
      .returning('alert_key')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async getEscalation(alertKey: string): Promise<Escalation | undefined> {
    const row = await this.db.selectFrom('alert_escalations').selectAll().where('alert_key', '=', alertKey).executeTakeFirst();
    return row === undefined ? undefined : toEscalation(row);
  }

  async claimDueEscalations(holder: string, now: Date, limit: number, staleAfterMs: number): Promise<Escalation[]> {
    const staleBefore = iso(new Date(now.getTime() - staleAfterMs));
    const claimable = (eb: ExpressionBuilder<Database, 'alert_escalations'>): Expression<SqlBool> =>
      eb.and([
        eb('step', '<>', 'done' satisfies EscalationStep),
        eb('due_at', '<=', iso(now)),
        eb.or([eb('claimed_by', 'is', null), eb('claimed_at', '<', staleBefore)]),
      ]);
    let candidates = this.db.selectFrom('alert_escalations').select('alert_key').where(claimable).orderBy('due_at').limit(limit);
    if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('alert_escalations')
      .set({ claimed_by: holder, claimed_at: iso(now) })
      .where('alert_key', 'in', candidates)
      .where(claimable)
      .returningAll()
      .execute();
    return rows.map(toEscalation).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  }

  async advanceEscalation(alertKey: string, holder: string, from: EscalationStep, progress: EscalationProgress): Promise<boolean> {
    const result = await this.db
      .updateTable('alert_escalations')
      .set({
        step: progress.step,
        due_at: iso(progress.dueAt),
        claimed_by: null,
        claimed_at: null,
        attempts: 0,
        ...(progress.remindedAt ? { reminded_at: iso(progress.remindedAt) } : {}),
        ...(progress.pagedAt ? { paged_at: iso(progress.pagedAt) } : {}),
        ...(progress.pagedVia ? { paged_via: JSON.stringify(progress.pagedVia) } : {}),
        ...(progress.pageResolvedAt ? { page_resolved_at: iso(progress.pageResolvedAt) } : {}),
      })
      .where('alert_key', '=', alertKey)
      .where('step', '=', from)
      .where('claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async retryEscalation(alertKey: string, holder: string, from: EscalationStep, retryAt: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('alert_escalations')
      .set((eb) => ({ due_at: iso(retryAt), claimed_by: null, claimed_at: null, attempts: eb('attempts', '+', 1) }))
      .where('alert_key', '=', alertKey)
      .where('step', '=', from)
      .where('claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async stopEscalation(alertKey: string, reason: string, holder: string, now: Date): Promise<Escalation | undefined> {
    // A page that went out and is not resolved yet must still be resolved: the row moves to
    // `resolve`, due now, claimed by the stopper (a claim on the page step is void: its advance fails).
    const toResolve = sql<boolean>`paged_at is not null and page_resolved_at is null`;
    const row = await this.db
      .updateTable('alert_escalations')
      .set({
        step: sql<string>`case when ${toResolve} then 'resolve' else 'done' end`,
        due_at: iso(now),
        stopped_at: iso(now),
        stop_reason: reason,
        claimed_by: sql<string | null>`case when ${toResolve} then cast(${holder} as text) else null end`,
        claimed_at: sql<string | null>`case when ${toResolve} then cast(${iso(now)} as text) else null end`,
        attempts: 0,
      })
      .where('alert_key', '=', alertKey)
      .where('stopped_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toEscalation(row);
  }

  async claimExpiryReminder(approvalId: string, round: number, at: Date): Promise<boolean> {
    const inserted = await this.db
      .insertInto('approval_expiry_reminders')
      .values({ approval_id: approvalId, round, reminded_at: iso(at) })
      .onConflict((oc) => oc.columns(['approval_id', 'round']).doNothing())
      .returning('approval_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async listOpenPages(limit: number): Promise<Escalation[]> {
    const rows = await this.db
      .selectFrom('alert_escalations')
      .selectAll()
      .where('paged_at', 'is not', null)
      .where('page_resolved_at', 'is', null)
      .where('stopped_at', 'is', null)
      .orderBy('paged_at')
      .limit(limit)
      .execute();
    return rows.map(toEscalation);
  }

  /**
   * A page that went out while (or after) the escalation was stopped: recorded, and left to be
   * resolved. Only for a stopped row whose page is not recorded yet.
   */
  async notePageAfterStop(alertKey: string, pagedVia: string[], at: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('alert_escalations')
      .set({ step: 'resolve', due_at: iso(at), paged_at: iso(at), paged_via: JSON.stringify(pagedVia), claimed_by: null, claimed_at: null })
      .where('alert_key', '=', alertKey)
      .where('stopped_at', 'is not', null)
      .where('page_resolved_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
