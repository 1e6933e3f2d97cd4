/**
 * The product against the floor of its stack, side by side in one run: the bare botbuilder +
 * restify echo bot (bench/floor-bot.ts) and incident-bot (src/main.ts), each as its own process on
 * the same Node.js, started one after the other under the same conditions (same connector, same
 * requests, same warm-up), in alternating order over several rounds. A ratio is the median of the
 * rounds' own ratios: each round runs both back to back, so a machine that slows down for a while
 * (a shared VM does, by 20 % and more) moves both sides of a round's ratio alike. The bot's CPU
 * time per turn (from /proc, user + system) is printed beside the rates: it does not depend on how
 * busy the rest of the machine is.
 *
 *   node bench/floor.ts     BENCH_TURNS (5000), BENCH_CONCURRENCY (32), BENCH_WARMUP (500), BENCH_ROUNDS (5)
 *
 * Measured: message turns/s with authentication off (a personal-chat message; each bot answers it
 * to the local connector, sim/teams/bot-connector-server.ts) and on (a typing activity carrying a
 * real RS256 Bot Framework token checked against local OpenID metadata; neither bot answers it),
 * p99 of a turn, start → ready (spawn to the first /healthz 200), RSS idle (2 s after ready) and
 * after the load. The product runs as a real deployment would without integrations: its production
 * build (scripts/build.ts, `node dist/main.mjs` as the image runs it, built into this run's
 * temporary directory), SQLite store, no alert source, logs at info to a file. Both run with Node's compile cache (NODE_COMPILE_CACHE,
 * as the Dockerfile sets it), filled by a start of each that is not measured.
 *
 * Targets (issue 16): turns/s >= 0.95 × floor, start → ready <= 1.5 ×, RSS idle <= 1.3 ×.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { personalMessage, type TeamsContext } from '../sim/teams/bot-activity.ts';
import { startBotConnectorServer } from '../sim/teams/bot-connector-server.ts';
import { startBotOpenIdServer } from '../sim/teams/bot-openid-server.ts';
import { LAB_SECRET_HEADER } from '../src/http/front-door.ts';
import { intEnv, percentile, runBench, type BenchRow } from './lib/bench-report.ts';
import { drive, freePort, startBotProcess, type BotProcess } from './lib/bot-process.ts';
import { ensureTrustedTestCa } from './lib/trusted-ca.ts';
import { buildBot } from '../scripts/build.ts';

ensureTrustedTestCa(import.meta.filename);

const TURNS = intEnv('BENCH_TURNS', 5000);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 32);
const WARMUP = intEnv('BENCH_WARMUP', 500);
const ROUNDS = intEnv('BENCH_ROUNDS', 5);
const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID = randomUUID();
const LAB_SECRET = randomBytes(24).toString('base64url');

type Kind = 'floor' | 'product';

interface RunFigures {
  startToReadyMs: number;
  rssIdleMb: number;
  rssAfterMb: number;
  turnsPerSecondOff: number;
  p99OffMs: number;
  /** The bot process's CPU time (user + system) per measured turn, auth off. */
  cpuMsPerTurnOff: number;
  turnsPerSecondOn: number;
  p99OnMs: number;
}

const median = (values: number[]) => percentile(values, 50);

await runBench('floor', async (result) => {
  result.setup = `${TURNS} turns at concurrency ${CONCURRENCY} after ${WARMUP} warm-up turns, ${ROUNDS} rounds in alternating order, median of the rounds' ratios; floor = bare botbuilder + restify echo bot`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
  const connector = await startBotConnectorServer();
  const openId = await startBotOpenIdServer();
  const productEntry = await buildBot(join(dir, 'dist'));
  // As in the image: dist/ beside node_modules (here this checkout's, linked).
  symlinkSync(join(import.meta.dirname, '../node_modules'), join(dir, 'node_modules'));
  const teams: TeamsContext = { serviceUrl: connector.serviceUrl, botAppId: APP_ID, tenantId: TENANT };
  const figures: Record<Kind, RunFigures[]> = { floor: [], product: [] };
  try {
    // A start of each, not measured: fills the compile cache, so that every measured start is warm.
    for (const kind of ['floor', 'product'] as const) for (const auth of ['off', 'on'] as const) await (await start(kind, auth, -1)).stop();
    for (let round = 0; round < ROUNDS; round++) {
      const order: Kind[] = round % 2 === 0 ? ['floor', 'product'] : ['product', 'floor'];
      for (const kind of order) figures[kind].push(await measure(kind, round));
    }
  } finally {
    await Promise.all([connector.close(), openId.close()]);
    if (result.errors.length === 0 && !process.env.BENCH_KEEP_LOG) rmSync(dir, { recursive: true, force: true });
    else result.notes.push(`logs kept in ${dir}`);
  }

  const m = (kind: Kind, key: keyof RunFigures) => median(figures[kind].map((f) => f[key]));
  const ratioRow = (metric: string, key: keyof RunFigures, unit: string, target: { most?: number; least?: number }): BenchRow => {
    const floor = m('floor', key);
    const product = m('product', key);
    const ratio = median(figures.product.map((p, round) => p[key] / figures.floor[round]![key]));
    const pass = target.least !== undefined ? ratio >= target.least : target.most !== undefined ? ratio <= target.most : true;
    const fmt = (v: number) => (unit === 'MB' ? `${v.toFixed(0)} MB` : unit === 'ms' ? `${Math.round(v)} ms` : unit === 'cpu' ? `${v.toFixed(2)} ms` : `${Math.round(v)}/s`);
    return {
      metric,
      n: figures.product.length,
      floor: fmt(floor),
      product: fmt(product),
      ratio,
      rate: `floor ${fmt(floor)}, bot ${fmt(product)}, ×${ratio.toFixed(2)}`,
      target: target.least !== undefined ? `>= ${target.least} × floor` : target.most !== undefined ? `<= ${target.most} × floor` : '',
      verdict: target.least === undefined && target.most === undefined ? 'info' : pass ? 'PASS' : 'FAIL',
    };
  };
  result.rows.push(
    ratioRow('message turns/s, auth off', 'turnsPerSecondOff', '/s', { least: 0.95 }),
    ratioRow('turn p99, auth off', 'p99OffMs', 'ms', {}),
    ratioRow('bot CPU per turn, auth off', 'cpuMsPerTurnOff', 'cpu', {}),
    ratioRow('typing turns/s, JWT on', 'turnsPerSecondOn', '/s', { least: 0.95 }),
    ratioRow('turn p99, JWT on', 'p99OnMs', 'ms', {}),
    ratioRow('start → /healthz 200', 'startToReadyMs', 'ms', { most: 1.5 }),
    ratioRow('RSS idle', 'rssIdleMb', 'MB', { most: 1.3 }),
    ratioRow(`RSS after ${TURNS} turns`, 'rssAfterMb', 'MB', {}),
  );
  for (const kind of ['floor', 'product'] as const) {
    result.notes.push(`${kind} runs: ${figures[kind].map((f) => `${Math.round(f.turnsPerSecondOff)}/s off (${f.cpuMsPerTurnOff.toFixed(2)} ms CPU/turn), ${Math.round(f.turnsPerSecondOn)}/s on, ready ${Math.round(f.startToReadyMs)} ms, idle ${f.rssIdleMb.toFixed(0)} MB`).join('; ')}`);
  }

  async function measure(kind: Kind, round: number): Promise<RunFigures> {
    const off = await start(kind, 'off', round);
    let offFigures: Pick<RunFigures, 'startToReadyMs' | 'rssIdleMb' | 'rssAfterMb' | 'turnsPerSecondOff' | 'p99OffMs' | 'cpuMsPerTurnOff'>;
    try {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const rssIdleMb = off.rssMb();
      const message = (i: number) => post(off, kind, personalMessage(teams, { text: i % 2 ? 'help' : 'hello there' }));
      await run(`${kind} warm-up`, WARMUP, message);
      const cpuBefore = off.cpuMs();
      const measured = await run(`${kind} auth off`, TURNS, message);
      const cpuMsPerTurnOff = (off.cpuMs() - cpuBefore) / TURNS;
      offFigures = { startToReadyMs: off.startToReadyMs, rssIdleMb, rssAfterMb: off.rssMb(), turnsPerSecondOff: TURNS / measured.seconds, p99OffMs: percentile(measured.latencies, 99), cpuMsPerTurnOff };
    } finally {
      await off.stop();
    }
    const on = await start(kind, 'on', round);
    try {
      const token = openId.signToken({ iss: 'https://api.botframework.com', aud: APP_ID, serviceurl: connector.serviceUrl, nbf: Math.floor(Date.now() / 1000) - 60, exp: Math.floor(Date.now() / 1000) + 3600 });
      const typing = () => post(on, kind, { ...personalMessage(teams, { text: '' }), type: 'typing', text: undefined }, `Bearer ${token}`);
      await run(`${kind} warm-up (JWT)`, WARMUP, typing);
      const measured = await run(`${kind} JWT on`, TURNS, typing);
      return { ...offFigures, turnsPerSecondOn: TURNS / measured.seconds, p99OnMs: percentile(measured.latencies, 99) };
    } finally {
      await on.stop();
    }
  }

  async function run(what: string, total: number, post: (i: number) => Promise<number>) {
    const outcome = await drive(total, CONCURRENCY, post);
    if (outcome.failures.length > 0) result.errors.push(`${what}: ${outcome.failures.length} of ${total} turns failed (${[...new Set(outcome.failures)].slice(0, 3).join('; ')})`);
    return outcome;
  }

  async function post(bot: BotProcess, kind: Kind, activity: Record<string, unknown>, authorization?: string): Promise<number> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    else if (kind === 'product') headers[LAB_SECRET_HEADER] = LAB_SECRET;
    const response = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers, body: JSON.stringify(activity) });
    await response.arrayBuffer();
    return response.status;
  }

  async function start(kind: Kind, auth: 'off' | 'on', round: number): Promise<BotProcess> {
    const port = await freePort();
    const logFile = join(dir, `${kind}-${auth}-${round}.log`);
    // Both with Node's compile cache, as the product's image runs (Dockerfile: NODE_COMPILE_CACHE).
    const common = { NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
    if (kind === 'floor') {
      const env: Record<string, string> = { ...common, FLOOR_PORT: String(port), FLOOR_AUTH: auth };
      if (auth === 'on') Object.assign(env, { FLOOR_APP_ID: APP_ID, FLOOR_APP_PASSWORD: randomBytes(24).toString('base64url'), FLOOR_TENANT_ID: TENANT, FLOOR_OPENID_METADATA: openId.metadataUrl, FLOOR_LOGIN_URL: `${openId.url}/${TENANT}` });
      return startBotProcess({ entry: join(import.meta.dirname, 'floor-bot.ts'), env, port, logFile });
    }
    const env: Record<string, string> = { ...common, PORT: String(port), HOST: '127.0.0.1', ALERT_SOURCES: 'none', DATABASE_URL: `sqlite:${join(dir, `bot-${auth}-${round}.db`)}`, DRY_RUN: 'true', LOG_LEVEL: 'info' };
    if (auth === 'off') Object.assign(env, { BOT_AUTH: 'off', BOT_LAB_SECRET: LAB_SECRET });
    else {
      Object.assign(env, {
        BOT_AUTH: 'on',
        MicrosoftAppId: APP_ID,
        MicrosoftAppPassword: randomBytes(24).toString('base64url'),
        MicrosoftAppType: 'SingleTenant',
        MicrosoftAppTenantId: TENANT,
        TEAMS_TENANT_ID: TENANT,
        BotOpenIdMetadata: openId.metadataUrl,
        ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
        ToChannelFromBotLoginUrl: `${openId.url}/${TENANT}`,
        ToChannelFromBotOAuthScope: 'https://api.botframework.com',
      });
    }
    return startBotProcess({ entry: productEntry, env, port, logFile });
  }
});
