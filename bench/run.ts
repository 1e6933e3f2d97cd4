/**
 * `npm run bench`: the performance targets of the issues, measured end to end on loopback.
 * Each benchmark runs as its own process that trusts the throw-away test CA (Node reads
 * NODE_EXTRA_CA_CERTS only at start), one after the other, then a summary is printed: the
 * product against the floor of its stack (bench/floor.ts) as a ratio table, then every target.
 *
 *   node bench/run.ts [floor] [alert-storm] [storm-10k] [storm-postgres] [card-invoke] [lookup] [alert-push]
 *   (default: all)
 *
 *   node bench/run.ts alert-push   (push → card beside the poll path's detection delay)
 *
 * Sizes (each file says more): BENCH_TURNS, BENCH_CONCURRENCY, BENCH_ROUNDS (floor); BENCH_ALERTS,
 * BENCH_ACCOUNTS, BENCH_429_SHARE (alert-storm); BENCH_STORM_ALERTS, BENCH_STORM_ACCOUNTS,
 * BENCH_STORM_SECONDS (storm-10k); BENCH_PG_ALERTS, BENCH_PG_SECONDS (storm-postgres); BENCH_CLICKS,
 * BENCH_CLICK_GAP_MS (card-invoke); BENCH_LOOKUPS (lookup); BENCH_PUSHES,
 * BENCH_POLLED, BENCH_POLL_SECONDS (alert-push). A quick run, e.g.:
 *   BENCH_TURNS=1000 BENCH_ROUNDS=1 BENCH_STORM_ALERTS=2000 BENCH_STORM_ACCOUNTS=40 BENCH_STORM_SECONDS=60 BENCH_CLICKS=10 npm run bench
 * Exit code: 1 when a benchmark hit an error (wrong counts, failed requests, a crash); a missed
 * target is reported as FAIL in the tables and does not fail the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestCa } from '../sim/test-ca.ts';
import { formatTable, ms, type BenchResult } from './lib/bench-report.ts';

const BENCHMARKS = ['floor', 'alert-storm', 'storm-10k', 'storm-postgres', 'card-invoke', 'lookup', 'alert-push'] as const;

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}\n`);
  process.exit(2);
}
const selected = asked.length > 0 ? BENCHMARKS.filter((name) => asked.includes(name)) : [...BENCHMARKS];

const ca = ensureTestCa();
const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
const resultFile = join(dir, 'results.jsonl');
const started = performance.now();
const outcomes: { name: string; status: number | null }[] = [];
for (const name of selected) {
  process.stdout.write(`\n-- ${name}\n`);
  const child = spawnSync(process.execPath, [join(import.meta.dirname, `${name}.ts`)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile, BENCH_RESULT_FILE: resultFile },
  });
  outcomes.push({ name, status: child.error ? null : child.status });
}

const results: BenchResult[] = existsSync(resultFile)
  ? readFileSync(resultFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as BenchResult)
  : [];
rmSync(dir, { recursive: true, force: true });

const rows: string[][] = [];
for (const { name, status } of outcomes) {
  const result = results.find((r) => r.name === name);
  if (!result) {
    rows.push([name, 'no result', '', '', '', `ERROR (exit ${status})`]);
    continue;
  }
  for (const row of result.rows.filter((r) => r.verdict !== 'info')) {
    const figure = row.p95 !== undefined ? `p50 ${ms(row.p50)}, p95 ${ms(row.p95)}` : '';
    rows.push([name, row.metric, figure, row.rate ?? '', row.target ?? '', row.verdict]);
  }
  if (result.errors.length > 0) rows.push([name, `${result.errors.length} error(s), see above`, '', '', '', 'ERROR']);
}
const floorRows = results.find((r) => r.name === 'floor')?.rows.filter((r) => r.ratio !== undefined) ?? [];
if (floorRows.length > 0) {
  const table = formatTable(['against the floor', 'floor', 'incident-bot', 'ratio', 'target', 'verdict'], floorRows.map((r) => [r.metric, r.floor ?? '', r.product ?? '', r.ratio!.toFixed(2), r.target ?? '', r.verdict]), [1, 2, 3]);
  process.stdout.write(`\n== incident-bot against the floor (bare botbuilder + restify echo bot, same Node.js, same run)\n${table}\n`);
}
const failedRuns = outcomes.filter((o) => o.status !== 0).length;
process.stdout.write(`\n== summary (${((performance.now() - started) / 1000).toFixed(0)} s)\n${formatTable(['benchmark', 'metric', 'latency', 'rate / count', 'target', 'verdict'], rows)}\n`);
if (failedRuns > 0) process.stdout.write(`${failedRuns} benchmark(s) ended with errors.\n`);
process.exitCode = failedRuns > 0 ? 1 : 0;
