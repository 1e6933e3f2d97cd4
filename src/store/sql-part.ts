/** What every SqlStore part holds: the Kysely database and which database it is. */
import type { Kysely } from 'kysely';
import type { StoreDialect } from './migrations.ts';
import type { Database } from './schema.ts';

export abstract class SqlPart {
  protected readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;

  constructor(db: Kysely<Database>, dialect: StoreDialect) {
    this.db = db;
    this.dialect = dialect;
  }
}
