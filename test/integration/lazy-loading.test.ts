import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UNREACHABLE_INTEGRATIONS_ENV } from '../support/unreachable-integrations.ts';

// Start time and idle memory (issue 16): a configuration loads only the SDKs it uses. Each case
// starts the real bot (startIncidentBot) in a fresh Node.js process that records every package
// resolved from node_modules, then stops it.
const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ib-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VENDOR_PACKAGES = ['@microsoft/microsoft-graph-client', '@azure/monitor-query-logs', 'ldapts', 'pg', 'adaptivecards-templating', 'zod'] as const;

function packagesLoadedAtStart(env: Record<string, string>): string[] {
  const script = join(dir, `start-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    script,
    `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) seen.add(m[1]); return r; } });
const { startIncidentBot } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/main.ts')).href)});
const { loadConfig } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/config/config.ts')).href)});
const { createLogger } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/observability/logger.ts')).href)});
const bot = await startIncidentBot(loadConfig(JSON.parse(process.env.BOT_ENV)), createLogger({ level: 'silent' }), { printLabSecret: () => {} });
await bot.stop();
process.stdout.write(JSON.stringify([...seen]));
`,
  );
  const base = { PORT: '0', HOST: '127.0.0.1', BOT_AUTH: 'off', DRY_RUN: 'true', DATABASE_URL: `sqlite:${join(dir, `bot-${Math.random().toString(36).slice(2)}.db`)}` };
  const run = spawnSync(process.execPath, [script], { cwd: root, env: { PATH: process.env.PATH ?? '', BOT_ENV: JSON.stringify({ ...base, ...env }) }, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`the bot did not start and stop: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

describe('what a configuration loads at start', () => {
  it('without integrations: botbuilder, restify and the store, none of the vendor SDKs, no templating engine, no validator', () => {
    const loaded = packagesLoadedAtStart({ ALERT_SOURCES: 'none' });
    expect(loaded).toEqual(expect.arrayContaining(['botbuilder', 'restify', 'kysely', 'pino']));
    for (const name of VENDOR_PACKAGES) expect(loaded, name).not.toContain(name);
  });

  it('with Graph, Sentinel, LDAP and Okta configured: their SDKs, and still no PostgreSQL driver for an SQLite store', () => {
    const loaded = packagesLoadedAtStart(UNREACHABLE_INTEGRATIONS_ENV);
    for (const name of ['@microsoft/microsoft-graph-client', '@azure/monitor-query-logs', 'ldapts']) expect(loaded, name).toContain(name);
    expect(loaded).not.toContain('pg');
  });
});
