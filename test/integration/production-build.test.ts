import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBot } from '../../scripts/build.ts';
import { ensureTestCa } from '../../sim/test-ca.ts';
import { linkProductionNodeModules } from '../support/production-tree.ts';
import { personalMessage } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { LAB_SECRET_HEADER } from '../../src/http/front-door.ts';
import { UNREACHABLE_INTEGRATIONS_ENV } from '../support/unreachable-integrations.ts';

// The production build (scripts/build.ts; the image and `npm start` run it): one ES module for our
// code and kysely, a chunk per lazily imported integration, every other package from node_modules.
// Built here into a temporary directory beside the production dependencies only (no dev
// dependency, no src/) and run as a real process, as the image runs it.
const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ib-build-'));
const probe = join(root, 'test/support/module-probe.ts');
let entry: string;
let connector: BotConnectorServer;

beforeAll(async () => {
  entry = await buildBot(join(dir, 'dist'));
  expect(linkProductionNodeModules(dir)).toBeGreaterThan(5);
  connector = await startBotConnectorServer();
}, 60_000);
afterAll(async () => {
  await connector?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  modulesFile: string;
  output: () => string;
}

async function start(env: Record<string, string>): Promise<Started> {
  const name = randomUUID().slice(0, 8);
  const modulesFile = join(dir, `modules-${name}.json`);
  const child = spawn(process.execPath, ['--import', probe, entry], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      NODE_EXTRA_CA_CERTS: ensureTestCa().caFile,
      MODULE_PROBE_FILE: modulesFile,
      PORT: '0',
      HOST: '127.0.0.1',
      DRY_RUN: 'true',
      DATABASE_URL: `sqlite:${join(dir, `bot-${name}.db`)}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && child.exitCode === null; ) {
    const line = out.split('\n').find((l) => l.includes('"incident-bot listening"'));
    if (line) return { child, url: (JSON.parse(line) as { url: string }).url, modulesFile, output: () => out };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`the built bot did not start:\n${out}`);
}

async function stop(bot: Started): Promise<string[]> {
  bot.child.kill('SIGTERM');
  const [code] = (await once(bot.child, 'exit')) as [number | null];
  expect(code, bot.output()).toBe(0);
  return JSON.parse(readFileSync(bot.modulesFile, 'utf8')) as string[];
}

const packagesIn = (urls: string[]) => new Set(urls.flatMap((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));

describe('the production build', () => {
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('is our code and kysely in one module plus lazy chunks; nothing in it imports the TypeScript sources', () => {
    const main = readFileSync(entry, 'utf8');
    expect(main).toMatch(/^\/\/ node_modules\/kysely\/dist\//m);
    expect(main).toMatch(/^\/\/ src\/main\.ts$/m);
    expect(main).not.toMatch(/^import\b[^;]*from ["']kysely["']/m);
    const chunks = readdirSync(join(dir, 'dist/chunks')).filter((file) => file.endsWith('.mjs'));
    for (const integration of ['graph-integration', 'ldap-integration', 'okta-integration', 'sentinel-integration']) {
      expect(chunks.some((file) => file.startsWith(`${integration}-`)), integration).toBe(true);
    }
    for (const file of [entry, ...chunks.map((file) => join(dir, 'dist/chunks', file))]) expect(readFileSync(file, 'utf8'), file).not.toMatch(/^import\b[^;]*from ["'][^"']*\.ts["']/m);
  });

  it('answers a message end to end (lab secret, reply to the connector) and loads no vendor SDK it was not configured for', async () => {
    const secret = randomBytes(24).toString('base64url');
    const bot = await start({ BOT_AUTH: 'off', BOT_LAB_SECRET: secret, ALERT_SOURCES: 'none' });
    running.push(bot.child);
    expect((await fetch(`${bot.url}/readyz`)).status).toBe(200);
    const teams = { serviceUrl: connector.serviceUrl, botAppId: randomUUID(), tenantId: randomUUID() };
    const activity = personalMessage(teams, { text: 'help' });
    const answer = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', [LAB_SECRET_HEADER]: secret }, body: JSON.stringify(activity) });
    expect(answer.status).toBe(200);
    const reply = connector.sent.find((record) => record.conversationId === (activity.conversation as { id: string }).id);
    expect(String(reply?.activity?.text)).toMatch(/lookup/);
    // The wrong secret is still refused by the built front door.
    const refused = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', [LAB_SECRET_HEADER]: 'wrong' }, body: JSON.stringify(activity) });
    expect(refused.status).toBe(401);

    const loaded = await stop(bot);
    expect(loaded.filter((url) => url.startsWith(pathToFileURL(join(root, 'src')).href))).toEqual([]);
    const packages = packagesIn(loaded);
    for (const name of ['botbuilder', 'restify', 'pino']) expect(packages, name).toContain(name);
    for (const name of ['kysely', '@microsoft/microsoft-graph-client', '@azure/monitor-query-logs', 'ldapts', 'pg', 'adaptivecards-templating', 'zod']) expect(packages, name).not.toContain(name);
  });

  it('with Graph, Sentinel, LDAP and Okta configured: their chunks load their SDKs from node_modules', async () => {
    const bot = await start({ BOT_AUTH: 'off', ...UNREACHABLE_INTEGRATIONS_ENV });
    running.push(bot.child);
    const packages = packagesIn(await stop(bot));
    for (const name of ['@microsoft/microsoft-graph-client', '@azure/monitor-query-logs', 'ldapts']) expect(packages, name).toContain(name);
    expect(packages).not.toContain('pg');
  });
});
