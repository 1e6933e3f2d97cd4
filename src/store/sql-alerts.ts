/**
 * Alerts over Kysely: upsert by fingerprint (exactly one "changed" per new version), reads by key, code and account.
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import type { Alert, AlertStatus } from '../domain/alert.ts';
import { accountKeysOfAlert, normalizeAccountKey } from '../domain/account-key.ts';
import { generateReferenceCode, normalizeReferenceCode } from './reference-code.ts';
import type { AlertRecord, AlertThread, PostState, UpsertAlertResult } from '../domain/ports/alert-store.ts';
import { isUniqueViolation } from './store-errors.ts';
import { iso } from './sql-values.ts';
import { hydrateAlerts, replaceAccounts, toAlertRecord } from './sql-rows.ts';
import { SqlPart } from './sql-part.ts';

const CODE_ATTEMPTS = 5;

/** Alerts and the accounts they name. */
export class SqlAlerts extends SqlPart {
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
        return await this.db.transaction().execute(async (trx) => {
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
    const row = await this.db.selectFrom('alerts').selectAll().where('key', '=', key).executeTakeFirst();
    return row === undefined ? undefined : (await hydrateAlerts(this.db, [row]))[0];
  }

  async getAlertByCode(code: string): Promise<AlertRecord | undefined> {
    const row = await this.db.selectFrom('alerts').selectAll().where('code', '=', normalizeReferenceCode(code)).executeTakeFirst();
    return row === undefined ? undefined : (await hydrateAlerts(this.db, [row]))[0];
  }

  async listOpenAlerts(limit: number): Promise<AlertRecord[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('status', '<>', 'resolved' satisfies AlertStatus)
      .orderBy('first_seen_at', 'desc')
      .orderBy('key')
      .limit(limit)
      .execute();
    return hydrateAlerts(this.db, rows);
  }

  async listAlertsForAccount(accountKey: string, limit: number): Promise<AlertRecord[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('key', 'in', (eb) =>
        eb.selectFrom('alert_accounts').select('alert_key').where('account_key', '=', normalizeAccountKey(accountKey)),
      )
      .orderBy('first_seen_at', 'desc')
      .orderBy('key')
      .limit(limit)
      .execute();
    return hydrateAlerts(this.db, rows);
  }

  async findRecentThreadForAccounts(accountKeys: string[], since: Date): Promise<AlertThread | undefined> {
    const keys = [...new Set(accountKeys.map(normalizeAccountKey))];
    if (keys.length === 0) return undefined;
    const row = await this.db
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
}
