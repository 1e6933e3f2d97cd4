/**
 * Subscriptions and settings over Kysely: the channels alerts go to, and the settings changed by command.
 * Part of the SqlStore (./sql-store.ts), which composes one of each per database.
 */
import type { Subscription } from '../domain/ports/subscription-store.ts';
import { iso } from './sql-values.ts';
import { SqlPart } from './sql-part.ts';

/** Subscriptions (channels to post to). */
export class SqlSubscriptions extends SqlPart {
  async saveSubscription(subscription: Subscription): Promise<void> {
    const values = {
      id: subscription.id,
      conversation_reference: JSON.stringify(subscription.conversationReference),
      created_by: subscription.createdBy,
      created_at: iso(subscription.createdAt),
    };
    // Re-subscribing refreshes the reference (service URLs change) but keeps the original creator.
    await this.db
      .insertInto('subscriptions')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet({ conversation_reference: values.conversation_reference }))
      .execute();
  }

  async removeSubscription(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('subscriptions').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    const rows = await this.db.selectFrom('subscriptions').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id,
      conversationReference: JSON.parse(row.conversation_reference) as Record<string, unknown>,
      createdBy: row.created_by,
      createdAt: new Date(row.created_at),
    }));
  }
}

/** Settings, compare-and-set by expected value. */
export class SqlSettings extends SqlPart {
  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setSetting(key: string, value: string, options: { expected?: string | null; updatedBy?: string; now?: Date } = {}): Promise<boolean> {
    const updated_at = iso(options.now ?? new Date());
    const updated_by = options.updatedBy ?? null;
    if (options.expected === undefined) {
      await this.db
        .insertInto('settings')
        .values({ key, value, updated_at, updated_by })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at, updated_by }))
        .execute();
      return true;
    }
    if (options.expected === null) {
      const row = await this.db
        .insertInto('settings')
        .values({ key, value, updated_at, updated_by })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      return row !== undefined;
    }
    const result = await this.db
      .updateTable('settings')
      .set({ value, updated_at, updated_by })
      .where('key', '=', key)
      .where('value', '=', options.expected)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
