/**
 * Backends the Store contract suite runs against: each gives a fresh, empty database per test,
 * plus raw SQL access that bypasses the Store (to prove what the database itself refuses).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { Alert, AlertAccount } from '../../src/domain/alert.ts';
import { createTestDatabase, probePostgres } from './postgres.ts';

export interface FreshDatabase {
  url: string;
  /** Runs SQL directly on the database, outside the Store. */
  rawExec(sqlText: string): Promise<void>;
  rawQuery(sqlText: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  skip: boolean;
  fresh(): Promise<FreshDatabase>;
}

const sqliteBackend: Backend = {
  name: 'sqlite',
  skip: false,
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'incident-bot-store-'));
    const file = join(dir, 'store.db');
    const withDb = <T>(run: (db: DatabaseSync) => T): T => {
      const db = new DatabaseSync(file, { timeout: 5_000 });
      try {
        return run(db);
      } finally {
        db.close();
      }
    };
    return {
      url: `sqlite:${file}`,
      rawExec: async (sqlText) => withDb((db) => void db.exec(sqlText)),
      rawQuery: async (sqlText) => withDb((db) => db.prepare(sqlText).all() as Record<string, unknown>[]),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

const postgresProbe = await probePostgres();

const postgresBackend: Backend = {
  name: 'postgres',
  skip: !postgresProbe.available,
  async fresh() {
    const database = await createTestDatabase();
    const withClient = async <T>(run: (client: pg.Client) => Promise<T>): Promise<T> => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        return await run(client);
      } finally {
        await client.end();
      }
    };
    return {
      url: database.url,
      rawExec: (sqlText) => withClient(async (client) => void (await client.query(sqlText))),
      rawQuery: (sqlText) => withClient(async (client) => (await client.query(sqlText)).rows as Record<string, unknown>[]),
      cleanup: () => database.drop(),
    };
  },
};

export const BACKENDS: Backend[] = [sqliteBackend, postgresBackend];

export function makeAccount(overrides: Partial<AlertAccount> = {}): AlertAccount {
  return {
    samAccountName: 'jdoe',
    domain: 'CORP',
    userPrincipalName: 'jdoe@corp.example',
    sid: 'S-1-5-21-1111-2222-3333-1104',
    roles: ['compromised'],
    ...overrides,
  };
}

export function makeAlert(key: string, overrides: Partial<Alert> = {}): Alert {
  return {
    key,
    sourceId: `src-${key}`,
    source: 'graph',
    title: 'Suspected DCSync attack',
    description: 'Replication request from a non-DC.',
    severity: 'high',
    status: 'new',
    mitreTechniques: ['T1003.006'],
    createdAt: '2025-01-01T10:00:00.000Z',
    accounts: [makeAccount()],
    devices: [{ hostName: 'ws01' }],
    ...overrides,
  };
}
