/**
 * Opening the store: URL forms, SQLite file creation, and failures that must become
 * STORE_UNAVAILABLE sentences naming no password (in the error or in the log).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { accountKeys, accountKeysOfAlert, normalizeAccountKey } from '../../src/domain/account-key.ts';
import type { Alert } from '../../src/domain/alert.ts';
import { openStore, parseDatabaseUrl } from '../../src/store/open-store.ts';
import { CODE_ALPHABET, generateReferenceCode, normalizeReferenceCode } from '../../src/store/reference-code.ts';
import { redactDatabaseUrl } from '../../src/store/store-errors.ts';

function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

/** A loopback port with nothing listening: bind, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'incident-bot-open-'));
  dirs.push(dir);
  return dir;
}

describe('parseDatabaseUrl', () => {
  it('defaults to the SQLite file and accepts the documented forms', () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ dialect: 'sqlite', path: './data/incident-bot.db' });
    expect(parseDatabaseUrl('  ')).toEqual({ dialect: 'sqlite', path: './data/incident-bot.db' });
    expect(parseDatabaseUrl('sqlite:./var/bot.db')).toEqual({ dialect: 'sqlite', path: './var/bot.db' });
    expect(parseDatabaseUrl('sqlite:///var/lib/bot.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/bot.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('postgresql://u:p@db:5432/bot')).toEqual({ dialect: 'postgres', url: 'postgresql://u:p@db:5432/bot' });
  });

  it('refuses other schemes without echoing credentials', () => {
    expect(() => parseDatabaseUrl('mysql://root:hunter2@db/bot')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => parseDatabaseUrl('mysql://root:hunter2@db/bot')).toThrow(/^(?!.*hunter2)/);
  });

  it('redacts user, password and query from URLs', () => {
    expect(redactDatabaseUrl('postgres://bot:s3cret@db.internal:5432/incidents?password=x')).toBe('postgres://db.internal:5432/incidents');
    expect(redactDatabaseUrl('sqlite:./data/x.db')).toBe('sqlite:./data/x.db');
  });
});

describe('openStore', () => {
  it('creates the SQLite directory and file, and answers ping', async () => {
    const file = join(tempDir(), 'nested', 'deeper', 'bot.db');
    const store = await openStore({ databaseUrl: `sqlite:${file}`, logger: createLogger({ level: 'silent' }) });
    try {
      await store.ping();
      expect(store.dialect).toBe('sqlite');
      expect(existsSync(file)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('works in memory for tests', async () => {
    const store = await openStore({ databaseUrl: 'sqlite::memory:', logger: createLogger({ level: 'silent' }) });
    try {
      await store.setWatermark('s', 'v');
      expect(await store.getWatermark('s')).toBe('v');
    } finally {
      await store.close();
    }
  });

  it('reports an unusable SQLite path as STORE_UNAVAILABLE', async () => {
    const blocker = join(tempDir(), 'a-file');
    writeFileSync(blocker, 'not a directory');
    await expect(openStore({ databaseUrl: `sqlite:${join(blocker, 'bot.db')}`, logger: createLogger({ level: 'silent' }) })).rejects.toMatchObject({
      name: 'AppError',
      code: 'STORE_UNAVAILABLE',
    });
  });

  it('reports an unreachable PostgreSQL as STORE_UNAVAILABLE naming no password', async () => {
    const port = await closedPort();
    const { logger, lines } = capturingLogger();
    const error: unknown = await openStore({ databaseUrl: `postgres://bot:TopSecret42@127.0.0.1:${port}/incidents`, logger }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AppError', code: 'STORE_UNAVAILABLE' });
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}/incidents`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('TopSecret42');
    expect(JSON.stringify((error as { details: unknown }).details)).not.toContain('TopSecret42');
    expect(lines.join('')).toContain('store unavailable');
    expect(lines.join('')).not.toContain('TopSecret42');
  });
});

describe('reference codes and account keys', () => {
  it('generates six unambiguous characters and normalizes typed input', () => {
    const codes = new Set(Array.from({ length: 200 }, generateReferenceCode));
    for (const code of codes) expect(code).toMatch(new RegExp(`^[${CODE_ALPHABET}]{6}$`));
    expect(codes.size).toBeGreaterThan(195);
    expect(CODE_ALPHABET).not.toMatch(/[01OIL]/);
    expect(normalizeReferenceCode(' k7m-2qx ')).toBe('K7M2QX');
  });

  it('derives lower-case keys from every identifier an account carries', () => {
    expect(
      accountKeys({
        samAccountName: 'JDoe',
        domain: 'CORP',
        userPrincipalName: 'JDoe@Corp.Example',
        sid: 'S-1-5-21-1-2-3-1104',
        entraObjectId: 'AAAA-BBBB',
        roles: [],
      }).sort(),
    ).toEqual(['sam:corp\\jdoe', 'sid:s-1-5-21-1-2-3-1104', 'upn:jdoe@corp.example']); // 'AAAA-BBBB' is no object id
    // A bare sam is ambiguous across domains: the store does not index an alert under it.
    expect(accountKeysOfAlert({ accounts: [{ samAccountName: 'jdoe', roles: [] }] } as unknown as Alert)).toEqual([]);
    expect(normalizeAccountKey(' CORP\\JDoe ')).toBe('sam:corp\\jdoe'); // a bare identifier handed to the store reads as its key
    expect(normalizeAccountKey(' SID:S-1-5-21-1-2-3-1104 ')).toBe('sid:s-1-5-21-1-2-3-1104');
  });
});
