/**
 * The Store over Kysely: one set of queries for SQLite and PostgreSQL. Every exactly-once
 * guarantee is a single conditional statement (UPDATE ... WHERE state = ... RETURNING, or
 * INSERT ... ON CONFLICT), so it holds across processes without application locks.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { Alert, AlertStatus, Severity } from '../domain/alert.ts';
import { accountKeysOfAlert, normalizeAccountKey } from '../domain/account-key.ts';
import type { StoreDialect } from './migrations.ts';
import { generateReferenceCode, normalizeReferenceCode } from './reference-code.ts';
import type { AlertsTable, ApprovalsTable, AuditTable, Database } from './schema.ts';
import type { AlertRecord, AlertThread, CardLocation, PostState, UpdateClaim, UpsertAlertResult } from '../domain/ports/alert-store.ts';
import type { Approval, ApprovalPatch, ApprovalState, ApprovalRound, CardOffer, NewApproval, Vote } from '../domain/ports/approval-store.ts';
import type { AuditEntry, AuditOutcome, AuditQuery, AuditRecord } from '../domain/ports/audit-log.ts';
import type { Store } from '../domain/ports/store.ts';
import type { Subscription } from '../domain/ports/subscription-store.ts';
import { isUniqueViolation } from './store-errors.ts';

const CODE_ATTEMPTS = 5;

type AlertRow = Selectable<AlertsTable>;
type ApprovalRow = Selectable<ApprovalsTable>;
type AuditRow = Selectable<AuditTable>;

const iso = (date: Date): string => date.toISOString();
const optionalDate = (text: string | null): Date | undefined => (text === null ? undefined : new Date(text));
const optional = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

export class SqlStore implements Store {
  readonly dialect: StoreDialect;
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>, dialect: StoreDialect) {
    this.#db = db;
    this.dialect = dialect;
  }

  // ---- subscriptions -------------------------------------------------------------------------

  async saveSubscription(subscription: Subscription): Promise<void> {
    const values = {
      id: subscription.id,
      conversation_reference: JSON.stringify(subscription.conversationReference),
      created_by: subscription.createdBy,
      created_at: iso(subscription.createdAt),
    };
    // Re-subscribing refreshes the reference (service URLs change) but keeps the original creator.
    await this.#db
      .insertInto('subscriptions')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet({ conversation_reference: values.conversation_reference }))
      .execute();
  }

  async removeSubscription(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('subscriptions').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    const rows = await this.#db.selectFrom('subscriptions').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id,
      conversationReference: JSON.parse(row.conversation_reference) as Record<string, unknown>,
      createdBy: row.created_by,
      createdAt: new Date(row.created_at),
    }));
  }

  // ---- alerts --------------------------------------------------------------------------------

  async upsertAlert(alert: Alert, fingerprint: string, now: Date = new Date()): Promise<UpsertAlertResult> {
    const accountKeys = accountKeysOfAlert(alert);
    const columns = {
      source: alert.source,
      source_id: alert.sourceId,
      title: alert.title,
      severity: alert.severity,
      status: alert.status,
      alert_json: JSON.stringify(alert),
      fingerprint,
      changed_at: iso(now),
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#db.transaction().execute(async (trx) => {
          const inserted = await trx
            .insertInto('alerts')
            .values({ key: alert.key, code: generateReferenceCode(), first_seen_at: iso(now), post_state: 'pending', ...columns })
            .onConflict((oc) => oc.column('key').doNothing())
            .returningAll()
            .executeTakeFirst();
          if (inserted !== undefined) {
            await replaceAccounts(trx, alert.key, accountKeys);
            return { created: true, changed: false, record: toAlertRecord(inserted, accountKeys) };
          }
          // The fingerprint condition makes "changed" true for exactly one of several concurrent
          // upserts of the same new version; the counter bump asks for one card update.
          const updated = await trx
            .updateTable('alerts')
            .set((eb) => ({ ...columns, update_requested: eb('update_requested', '+', 1) }))
            .where('key', '=', alert.key)
            .where('fingerprint', '<>', fingerprint)
            .returningAll()
            .executeTakeFirst();
          if (updated !== undefined) {
            await replaceAccounts(trx, alert.key, accountKeys);
            return { created: false, changed: true, record: toAlertRecord(updated, accountKeys) };
          }
          const existing = await trx.selectFrom('alerts').selectAll().where('key', '=', alert.key).executeTakeFirstOrThrow();
          const [record] = await hydrateAlerts(trx, [existing]);
          return { created: false, changed: false, record: record! };
        });
      } catch (error) {
        // The only unique column a new row can collide on besides the key is the random code.
        if (isUniqueViolation(error) && attempt < CODE_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  async getAlertByKey(key: string): Promise<AlertRecord | undefined> {
    const row = await this.#db.selectFrom('alerts').selectAll().where('key', '=', key).executeTakeFirst();
    return row === undefined ? undefined : (await hydrateAlerts(this.#db, [row]))[0];
  }

  async getAlertByCode(code: string): Promise<AlertRecord | undefined> {
    const row = await this.#db.selectFrom('alerts').selectAll().where('code', '=', normalizeReferenceCode(code)).executeTakeFirst();
    return row === undefined ? undefined : (await hydrateAlerts(this.#db, [row]))[0];
  }

  async listOpenAlerts(limit: number): Promise<AlertRecord[]> {
    const rows = await this.#db
      .selectFrom('alerts')
      .selectAll()
      .where('status', '<>', 'resolved' satisfies AlertStatus)
      .orderBy('first_seen_at', 'desc')
      .orderBy('key')
      .limit(limit)
      .execute();
    return hydrateAlerts(this.#db, rows);
  }

  async listAlertsForAccount(accountKey: string, limit: number): Promise<AlertRecord[]> {
    const rows = await this.#db
      .selectFrom('alerts')
      .selectAll()
      .where('key', 'in', (eb) =>
        eb.selectFrom('alert_accounts').select('alert_key').where('account_key', '=', normalizeAccountKey(accountKey)),
      )
      .orderBy('first_seen_at', 'desc')
      .orderBy('key')
      .limit(limit)
      .execute();
    return hydrateAlerts(this.#db, rows);
  }

  async findRecentThreadForAccounts(accountKeys: string[], since: Date): Promise<AlertThread | undefined> {
    const keys = [...new Set(accountKeys.map(normalizeAccountKey))];
    if (keys.length === 0) return undefined;
    const row = await this.#db
      .selectFrom('alerts')
      .select(['key', 'code', 'conversation_id', 'activity_id', 'thread_conversation_id', 'posted_at'])
      .where('post_state', '=', 'posted' satisfies PostState)
      .where('posted_at', '>=', iso(since))
      .where('key', 'in', (eb) => eb.selectFrom('alert_accounts').select('alert_key').where('account_key', 'in', keys))
      .orderBy('posted_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row === undefined || row.conversation_id === null || row.activity_id === null || row.posted_at === null) return undefined;
    return {
      alertKey: row.key,
      alertCode: row.code,
      conversationId: row.conversation_id,
      activityId: row.activity_id,
      threadConversationId: row.thread_conversation_id ?? row.conversation_id,
      postedAt: new Date(row.posted_at),
    };
  }

  // ---- posting outbox ------------------------------------------------------------------------

  async claimAlertsToPost(holder: string, limit: number, staleAfterMs: number, now: Date = new Date()): Promise<AlertRecord[]> {
    const staleBefore = iso(new Date(now.getTime() - staleAfterMs));
    const claimable = (eb: ExpressionBuilder<Database, 'alerts'>): Expression<SqlBool> =>
      eb.or([
        eb('post_state', '=', 'pending' satisfies PostState),
        eb.and([eb('post_state', '=', 'posting' satisfies PostState), eb('post_claimed_at', '<', staleBefore)]),
      ]);
    let candidates = this.#db.selectFrom('alerts').select('key').where(claimable).orderBy('first_seen_at').limit(limit);
    // PostgreSQL: skip rows another claimer is updating rather than queue behind it. The outer
    // WHERE repeats the condition, so a row re-checked after a wait is only taken if still free.
    if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
    const rows = await this.#db
      .updateTable('alerts')
      // Posting renders the current alert, which covers every card update requested so far.
      .set((eb) => ({ post_state: 'posting', post_claimed_by: holder, post_claimed_at: iso(now), update_applied: eb.ref('update_requested') }))
      .where('key', 'in', candidates)
      .where(claimable)
      .returningAll()
      .execute();
    rows.sort((a, b) => a.first_seen_at.localeCompare(b.first_seen_at) || a.key.localeCompare(b.key));
    return hydrateAlerts(this.#db, rows);
  }

  async markAlertPosted(key: string, holder: string, card: CardLocation, now: Date = new Date()): Promise<boolean> {
    const result = await this.#db
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
    let query = this.#db
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
    const result = await this.#db
      .updateTable('alerts')
      .set({ post_state: 'pending' })
      .where('key', '=', key)
      .where('post_state', '=', 'filtered' satisfies PostState)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseClaim(key: string, holder: string): Promise<boolean> {
    const result = await this.#db
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
    const result = await this.#db
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
    let candidates = this.#db.selectFrom('alerts').select('key').where(claimable).orderBy('changed_at').limit(limit);
    if (this.dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
    const rows = await this.#db
      .updateTable('alerts')
      .set({ update_claimed_by: holder, update_claimed_at: iso(now) })
      .where('key', 'in', candidates)
      .where(claimable)
      .returningAll()
      .execute();
    rows.sort((a, b) => a.changed_at.localeCompare(b.changed_at) || a.key.localeCompare(b.key));
    const records = await hydrateAlerts(this.#db, rows);
    return records.map((record) => ({ record, version: record.updateRequested }));
  }

  async markAlertUpdated(key: string, holder: string, version: number): Promise<boolean> {
    const result = await this.#db
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
    const result = await this.#db
      .updateTable('alerts')
      .set({ update_claimed_by: null, update_claimed_at: null })
      .where('key', '=', key)
      .where('update_claimed_by', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // ---- watermarks ----------------------------------------------------------------------------

  async getWatermark(source: string): Promise<string | undefined> {
    const row = await this.#db.selectFrom('watermarks').select('value').where('source', '=', source).executeTakeFirst();
    return row?.value;
  }

  async setWatermark(source: string, value: string, now: Date = new Date()): Promise<void> {
    await this.#db
      .insertInto('watermarks')
      .values({ source, value, updated_at: iso(now) })
      .onConflict((oc) => oc.column('source').doUpdateSet({ value, updated_at: iso(now) }))
      .execute();
  }

  // ---- leases --------------------------------------------------------------------------------

  /** The database's clock (not this process's): what leases are compared with across instances. */
  async #databaseNow(): Promise<Date> {
    const query =
      this.dialect === 'postgres'
        ? sql<{ now: string }>`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now`
        : sql<{ now: string }>`select strftime('%Y-%m-%dT%H:%M:%fZ', 'now') as now`;
    const { rows } = await query.execute(this.#db);
    return new Date(rows[0]!.now);
  }

  async tryAcquireLease(name: string, holder: string, ttlMs: number, at?: Date): Promise<boolean> {
    const now = at ?? (await this.#databaseNow());
    const expiresAt = iso(new Date(now.getTime() + ttlMs));
    // Insert if absent; otherwise overwrite only when the lease is ours or expired. A row comes
    // back only if this statement wrote it, which is what "acquired" means.
    const row = await this.#db
      .insertInto('leases')
      .values({ name, holder, acquired_at: iso(now), expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({
            holder,
            expires_at: expiresAt,
            acquired_at: sql<string>`case when leases.holder = ${holder} then leases.acquired_at else ${iso(now)} end`,
          })
          .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', iso(now))])),
      )
      .returning('holder')
      .executeTakeFirst();
    return row !== undefined;
  }

  async renewLease(name: string, holder: string, ttlMs: number, at?: Date): Promise<boolean> {
    const now = at ?? (await this.#databaseNow());
    const result = await this.#db
      .updateTable('leases')
      .set({ expires_at: iso(new Date(now.getTime() + ttlMs)) })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // ---- approvals -----------------------------------------------------------------------------

  async createApproval(approval: NewApproval): Promise<Approval> {
    const requestedAt = approval.requestedAt ?? new Date();
    const row = await this.#db
      .insertInto('approvals')
      .values({
        id: approval.id,
        alert_key: approval.alertKey ?? null,
        action: approval.action,
        target_json: JSON.stringify(approval.target),
        code: normalizeReferenceCode(approval.code),
        state: 'pending' satisfies ApprovalState,
        required_approvals: approval.requiredApprovals,
        requested_by: approval.requestedBy,
        requested_at: iso(requestedAt),
        expires_at: iso(approval.expiresAt),
        updated_at: iso(requestedAt),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApproval(row);
  }

  async getApproval(id: string): Promise<Approval | undefined> {
    const row = await this.#db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toApproval(row);
  }

  async getApprovalByCode(code: string): Promise<Approval | undefined> {
    const row = await this.#db.selectFrom('approvals').selectAll().where('code', '=', normalizeReferenceCode(code)).executeTakeFirst();
    return row === undefined ? undefined : toApproval(row);
  }

  listPendingApprovals(): Promise<Approval[]> {
    return this.listApprovalsInState('pending');
  }

  async listApprovalsInState(state: ApprovalState): Promise<Approval[]> {
    const rows = await this.#db.selectFrom('approvals').selectAll().where('state', '=', state).orderBy('requested_at').orderBy('id').execute();
    return rows.map(toApproval);
  }

  async listApprovalsForAlert(alertKey: string): Promise<Approval[]> {
    const rows = await this.#db.selectFrom('approvals').selectAll().where('alert_key', '=', alertKey).orderBy('requested_at').orderBy('id').execute();
    return rows.map(toApproval);
  }

  async transitionApproval(
    id: string,
    from: ApprovalState | ApprovalState[],
    to: ApprovalState,
    patch: ApprovalPatch = {},
    now: Date = new Date(),
  ): Promise<boolean> {
    const fromStates = Array.isArray(from) ? from : [from];
    if (fromStates.length === 0) return false;
    const startedAt = patch.startedAt ?? (to === 'running' ? now : undefined);
    const finishedAt = patch.finishedAt ?? (to === 'succeeded' || to === 'failed' ? now : undefined);
    const result = await this.#db
      .updateTable('approvals')
      .set({
        state: to,
        updated_at: iso(now),
        ...(patch.decidedBy !== undefined && { decided_by: patch.decidedBy }),
        ...(patch.reason !== undefined && { reason: patch.reason }),
        ...(patch.result !== undefined && { result_json: JSON.stringify(patch.result) }),
        ...(patch.errorCode !== undefined && { error_code: patch.errorCode }),
        ...(startedAt !== undefined && { started_at: iso(startedAt) }),
        ...(finishedAt !== undefined && { finished_at: iso(finishedAt) }),
        ...(patch.card !== undefined && { card_conversation_id: patch.card.conversationId, card_activity_id: patch.card.activityId }),
        ...(patch.requiredApprovals !== undefined && { required_approvals: patch.requiredApprovals }),
      })
      .where('id', '=', id)
      .where('state', 'in', fromStates)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setApprovalCard(id: string, card: { conversationId: string; activityId: string }): Promise<boolean> {
    const result = await this.#db
      .updateTable('approvals')
      .set({ card_conversation_id: card.conversationId, card_activity_id: card.activityId })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async #currentRound(approvalId: string): Promise<number> {
    const row = await this.#db.selectFrom('approvals').select('round').where('id', '=', approvalId).executeTakeFirst();
    return row === undefined ? 1 : Number(row.round);
  }

  async addApprovalVote(approvalId: string, approverId: string, approverName: string, at: Date, round?: number): Promise<{ added: boolean; votes: Vote[] }> {
    const inRound = round ?? (await this.#currentRound(approvalId));
    const inserted = await this.#db
      .insertInto('approval_votes')
      .values({ approval_id: approvalId, round: inRound, approver_id: approverId, approver_name: approverName, voted_at: iso(at) })
      .onConflict((oc) => oc.columns(['approval_id', 'round', 'approver_id']).doNothing())
      .returning('approver_id')
      .executeTakeFirst();
    return { added: inserted !== undefined, votes: await this.listApprovalVotes(approvalId, inRound) };
  }

  async listApprovalVotes(approvalId: string, round?: number): Promise<Vote[]> {
    const inRound = round ?? (await this.#currentRound(approvalId));
    const rows = await this.#db
      .selectFrom('approval_votes')
      .selectAll()
      .where('approval_id', '=', approvalId)
      .where('round', '=', inRound)
      .orderBy('voted_at')
      .orderBy('approver_id')
      .execute();
    return rows.map((row) => ({ approverId: row.approver_id, approverName: row.approver_name, at: new Date(row.voted_at) }));
  }

  async reopenApproval(id: string, from: ApprovalState, next: ApprovalRound, now: Date = new Date()): Promise<boolean> {
    const result = await this.#db
      .updateTable('approvals')
      .set((eb) => ({
        state: 'pending' satisfies ApprovalState,
        round: eb('round', '+', 1),
        required_approvals: next.requiredApprovals,
        expires_at: iso(next.expiresAt),
        requested_by: next.requestedBy,
        requested_at: iso(now),
        updated_at: iso(now),
        decided_by: null,
        reason: null,
        result_json: null,
        error_code: null,
        started_at: null,
        finished_at: null,
      }))
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async saveCardOffer(offer: CardOffer): Promise<void> {
    const values = {
      conversation_id: offer.conversationId,
      activity_id: offer.activityId,
      target_key: offer.targetKey,
      actions_json: JSON.stringify(offer.actions),
      offered_to: offer.offeredTo,
      created_at: iso(offer.createdAt),
      expires_at: iso(offer.expiresAt),
    };
    await this.#db
      .insertInto('card_offers')
      .values(values)
      .onConflict((oc) => oc.columns(['conversation_id', 'activity_id']).doUpdateSet({ target_key: values.target_key, actions_json: values.actions_json, offered_to: values.offered_to, created_at: values.created_at, expires_at: values.expires_at }))
      .execute();
  }

  async getCardOffer(conversationId: string, activityId: string): Promise<CardOffer | undefined> {
    const row = await this.#db.selectFrom('card_offers').selectAll().where('conversation_id', '=', conversationId).where('activity_id', '=', activityId).executeTakeFirst();
    if (!row) return undefined;
    const actions: unknown = JSON.parse(row.actions_json);
    return {
      conversationId: row.conversation_id,
      activityId: row.activity_id,
      targetKey: row.target_key,
      actions: Array.isArray(actions) ? actions.filter((a): a is string => typeof a === 'string') : [],
      offeredTo: row.offered_to,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    };
  }

  async countExecutionsSince(since: Date): Promise<number> {
    const row = await this.#db
      .selectFrom('approvals')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('started_at', '>=', iso(since))
      .executeTakeFirstOrThrow();
    return Number(row.count); // PostgreSQL returns count(*) as a bigint string
  }

  // ---- settings ------------------------------------------------------------------------------

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.#db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setSetting(key: string, value: string, options: { expected?: string | null; updatedBy?: string; now?: Date } = {}): Promise<boolean> {
    const updated_at = iso(options.now ?? new Date());
    const updated_by = options.updatedBy ?? null;
    if (options.expected === undefined) {
      await this.#db
        .insertInto('settings')
        .values({ key, value, updated_at, updated_by })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at, updated_by }))
        .execute();
      return true;
    }
    if (options.expected === null) {
      const row = await this.#db
        .insertInto('settings')
        .values({ key, value, updated_at, updated_by })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      return row !== undefined;
    }
    const result = await this.#db
      .updateTable('settings')
      .set({ value, updated_at, updated_by })
      .where('key', '=', key)
      .where('value', '=', options.expected)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // ---- audit ---------------------------------------------------------------------------------

  async appendAudit(entry: AuditEntry): Promise<number> {
    const row = await this.#db
      .insertInto('audit')
      .values({
        at: iso(entry.at),
        actor: entry.actor ?? null,
        action: entry.action,
        target: entry.target ?? null,
        account_key: entry.accountKey === undefined ? null : normalizeAccountKey(entry.accountKey),
        alert_key: entry.alertKey ?? null,
        approval_id: entry.approvalId ?? null,
        correlation_id: entry.correlationId ?? null,
        outcome: entry.outcome,
        code: entry.code ?? null,
        details_json: entry.details === undefined ? null : JSON.stringify(entry.details),
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(row.seq); // bigint identity comes back as a string from pg
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    let select = this.#db.selectFrom('audit').selectAll();
    if (query.accountKey !== undefined) {
      const accountKey = normalizeAccountKey(query.accountKey);
      select = select.where((eb) =>
        eb.or([
          eb('account_key', '=', accountKey),
          eb('alert_key', 'in', eb.selectFrom('alert_accounts').select('alert_key').where('account_key', '=', accountKey)),
        ]),
      );
    }
    if (query.alertKey !== undefined) select = select.where('alert_key', '=', query.alertKey);
    if (query.approvalId !== undefined) select = select.where('approval_id', '=', query.approvalId);
    const rows = await select.orderBy('seq', 'desc').limit(query.limit).execute();
    return rows.map(toAuditRecord);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}

// ---- row mapping -----------------------------------------------------------------------------

async function replaceAccounts(db: Kysely<Database>, alertKey: string, accountKeys: string[]): Promise<void> {
  await db.deleteFrom('alert_accounts').where('alert_key', '=', alertKey).execute();
  if (accountKeys.length > 0) {
    await db
      .insertInto('alert_accounts')
      .values(accountKeys.map((account_key) => ({ alert_key: alertKey, account_key })))
      .execute();
  }
}

async function hydrateAlerts(db: Kysely<Database>, rows: AlertRow[]): Promise<AlertRecord[]> {
  if (rows.length === 0) return [];
  const accounts = await db
    .selectFrom('alert_accounts')
    .select(['alert_key', 'account_key'])
    .where(
      'alert_key',
      'in',
      rows.map((row) => row.key),
    )
    .orderBy('account_key')
    .execute();
  const byAlert = new Map<string, string[]>();
  for (const { alert_key, account_key } of accounts) {
    const keys = byAlert.get(alert_key) ?? [];
    keys.push(account_key);
    byAlert.set(alert_key, keys);
  }
  return rows.map((row) => toAlertRecord(row, byAlert.get(row.key) ?? []));
}

function toAlertRecord(row: AlertRow, accountKeys: string[]): AlertRecord {
  const card =
    row.conversation_id !== null && row.activity_id !== null && row.posted_at !== null
      ? {
          conversationId: row.conversation_id,
          activityId: row.activity_id,
          threadConversationId: row.thread_conversation_id ?? row.conversation_id,
          postedAt: new Date(row.posted_at),
        }
      : undefined;
  return {
    key: row.key,
    code: row.code,
    alert: JSON.parse(row.alert_json) as Alert,
    fingerprint: row.fingerprint,
    severity: row.severity as Severity,
    status: row.status as AlertStatus,
    accountKeys: [...accountKeys].sort(),
    firstSeenAt: new Date(row.first_seen_at),
    changedAt: new Date(row.changed_at),
    postState: row.post_state as PostState,
    postClaimedBy: optional(row.post_claimed_by),
    postClaimedAt: optionalDate(row.post_claimed_at),
    card,
    updateRequested: Number(row.update_requested),
    updateApplied: Number(row.update_applied),
    updateClaimedBy: optional(row.update_claimed_by),
    updateClaimedAt: optionalDate(row.update_claimed_at),
  };
}

function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    alertKey: optional(row.alert_key),
    action: row.action,
    target: JSON.parse(row.target_json) as Record<string, unknown>,
    code: row.code,
    state: row.state as ApprovalState,
    requiredApprovals: Number(row.required_approvals),
    requestedBy: row.requested_by,
    requestedAt: new Date(row.requested_at),
    expiresAt: new Date(row.expires_at),
    updatedAt: new Date(row.updated_at),
    decidedBy: optional(row.decided_by),
    reason: optional(row.reason),
    result: row.result_json === null ? undefined : (JSON.parse(row.result_json) as Record<string, unknown>),
    errorCode: optional(row.error_code),
    startedAt: optionalDate(row.started_at),
    finishedAt: optionalDate(row.finished_at),
    card:
      row.card_conversation_id !== null && row.card_activity_id !== null
        ? { conversationId: row.card_conversation_id, activityId: row.card_activity_id }
        : undefined,
    round: Number(row.round ?? 1),
  };
}

function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: new Date(row.at),
    actor: optional(row.actor),
    action: row.action,
    target: optional(row.target),
    accountKey: optional(row.account_key),
    alertKey: optional(row.alert_key),
    approvalId: optional(row.approval_id),
    correlationId: optional(row.correlation_id),
    outcome: row.outcome as AuditOutcome,
    code: optional(row.code),
    details: row.details_json === null ? undefined : (JSON.parse(row.details_json) as Record<string, unknown>),
  };
}
