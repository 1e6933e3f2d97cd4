/**
 * The alert posting outbox over Kysely: claims to post and to update cards, each a single conditional UPDATE, and the per-source watermarks.
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from './schema.ts';
import type { AlertRecord, CardLocation, PostState, UpdateClaim } from '../domain/ports/alert-store.ts';
import { iso } from './sql-values.ts';
import { hydrateAlerts } from './sql-rows.ts';
import { SqlPart } from './sql-part.ts';

/** Posting and card-update claims, and watermarks. */
export class SqlAlertOutbox extends SqlPart {
  // ---- posting outbox ------------------------------------------------------------------------

  async claimAlertsToPost(holder: string, limit: number, staleAfterMs: number, now: Date = new Date()): Promise<AlertRecord[]> {
    const staleBefore = iso(new Date(now.getTime() - staleAfterMs));
    const claimable = (eb: ExpressionBuilder<Database, 'alerts'>): Expression<SqlBool> =>
      eb.or([
        eb('post_state', '=', 'pending' satisfies PostState),
        eb.and([eb('post_state', '=', 'posting' satisfies PostState), eb('post_claimed_at', '<', staleBefore)]),
      ]);
    let candidates = this.db.selectFrom('alerts').select('key').where(claimable).orderBy('first_seen_at').limit(limit);
    // PostgreSQL: skip rows another claimer is updating rather than queue behind it. The outer
    // WHERE repeats the condition, so a row re-checked after a wait is only taken if still free.
    if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('alerts')
      // Posting renders the current alert, which covers every card update requested so far.
      .set((eb) => ({ post_state: 'posting', post_claimed_by: holder, post_claimed_at: iso(now), update_applied: eb.ref('update_requested') }))
      .where('key', 'in', candidates)
      .where(claimable)
      .returningAll()
      .execute();
    rows.sort((a, b) => a.first_seen_at.localeCompare(b.first_seen_at) || a.key.localeCompare(b.key));
    return hydrateAlerts(this.db, rows);
  }

  async markAlertPosted(key: string, holder: string, card: CardLocation, now: Date = new Date()): Promise<boolean> {
    const result = await this.db
      .updateTable('alerts')
      .set({
        post_state: 'posted',
        post_claimed_by: null,
        post_claimed_at: null,
        conversation_id: card.conversationId,
        activity_id: card.activityId,
        thread_conversation_id: card.threadConversationId,
        posted_at: iso(now),
      })
      .where('key', '=', key)
      .where('post_state', '=', 'posting' satisfies PostState)
      .where('post_claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async markAlertFiltered(key: string, holder?: string): Promise<boolean> {
    let query = this.db
      .updateTable('alerts')
      .set({ post_state: 'filtered', post_claimed_by: null, post_claimed_at: null })
      .where('key', '=', key);
    query =
      holder === undefined
        ? query.where('post_state', '=', 'pending' satisfies PostState)
        : query.where('post_state', '=', 'posting' satisfies PostState).where('post_claimed_by', '=', holder);
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async requeueFilteredAlert(key: string): Promise<boolean> {
    const result = await this.db
      .updateTable('alerts')
      .set({ post_state: 'pending' })
      .where('key', '=', key)
      .where('post_state', '=', 'filtered' satisfies PostState)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseClaim(key: string, holder: string): Promise<boolean> {
    const result = await this.db
      .updateTable('alerts')
      .set({ post_state: 'pending', post_claimed_by: null, post_claimed_at: null })
      .where('key', '=', key)
      .where('post_state', '=', 'posting' satisfies PostState)
      .where('post_claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // ---- card updates --------------------------------------------------------------------------

  async markAlertNeedsUpdate(key: string): Promise<boolean> {
    const result = await this.db
      .updateTable('alerts')
      .set((eb) => ({ update_requested: eb('update_requested', '+', 1) }))
      .where('key', '=', key)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async claimAlertsToUpdate(holder: string, limit: number, staleAfterMs: number, now: Date = new Date()): Promise<UpdateClaim[]> {
    const staleBefore = iso(new Date(now.getTime() - staleAfterMs));
    const claimable = (eb: ExpressionBuilder<Database, 'alerts'>): Expression<SqlBool> =>
      eb.and([
        eb('post_state', '=', 'posted' satisfies PostState),
        eb('update_requested', '>', eb.ref('update_applied')),
        eb.or([eb('update_claimed_by', 'is', null), eb('update_claimed_at', '<', staleBefore)]),
      ]);
    let candidates = this.db.selectFrom('alerts').select('key').where(claimable).orderBy('changed_at').limit(limit);
    if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('alerts')
      .set({ update_claimed_by: holder, update_claimed_at: iso(now) })
      .where('key', 'in', candidates)
      .where(claimable)
      .returningAll()
      .execute();
    rows.sort((a, b) => a.changed_at.localeCompare(b.changed_at) || a.key.localeCompare(b.key));
    const records = await hydrateAlerts(this.db, rows);
    return records.map((record) => ({ record, version: record.updateRequested }));
  }

  async markAlertUpdated(key: string, holder: string, version: number): Promise<boolean> {
    const result = await this.db
      .updateTable('alerts')
      .set({
        // Never move backwards: a late, older render must not hide a newer applied one.
        update_applied: sql<number>`case when update_applied > ${version} then update_applied else ${version} end`,
        update_claimed_by: null,
        update_claimed_at: null,
      })
      .where('key', '=', key)
      .where('update_claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseUpdateClaim(key: string, holder: string): Promise<boolean> {
    const result = await this.db
      .updateTable('alerts')
      .set({ update_claimed_by: null, update_claimed_at: null })
      .where('key', '=', key)
      .where('update_claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // ---- watermarks ----------------------------------------------------------------------------

  async getWatermark(source: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('watermarks').select('value').where('source', '=', source).executeTakeFirst();
    return row?.value;
  }

  async setWatermark(source: string, value: string, now: Date = new Date()): Promise<void> {
    await this.db
      .insertInto('watermarks')
      .values({ source, value, updated_at: iso(now) })
      .onConflict((oc) => oc.column('source').doUpdateSet({ value, updated_at: iso(now) }))
      .execute();
  }
}
