import { appendFileSync } from 'node:fs';

/**
 * Figures of one benchmark: rows of a table (n, p50, p95, max, rate, target, verdict), notes, and
 * errors. A missed target is a FAIL row, not an error: only errors (wrong counts, failed requests,
 * a crashed run) make the process exit non-zero.
 */
export type Verdict = 'PASS' | 'FAIL' | 'info';

export interface BenchRow {
  metric: string;
  n: number;
  /** Milliseconds; omitted when the row is a single figure. */
  p50?: number;
  p95?: number;
  max?: number;
  /** Free text, e.g. "31.2 cards/s". */
  rate?: string;
  /** Free text, e.g. "< 1000 ms". */
  target?: string;
  verdict: Verdict;
  /** Against the floor (bench/floor.ts): the floor's figure, the product's, and product ÷ floor. */
  floor?: string;
  product?: string;
  ratio?: number;
}

export interface BenchResult {
  name: string;
  /** One line: what ran, sizes, environment. */
  setup: string;
  rows: BenchRow[];
  notes: string[];
  errors: string[];
  seconds: number;
}

/** Nearest-rank percentile of unsorted samples (ms); NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** n, p50, p95, max of samples (ms) as row fields. */
export function distribution(samples: readonly number[]): Pick<BenchRow, 'n' | 'p50' | 'p95' | 'max'> {
  return { n: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples.length ? Math.max(...samples) : Number.NaN };
}

/** PASS when the value is under the limit; NaN (no sample) is a FAIL. */
export function under(value: number, limit: number): Verdict {
  return Number.isFinite(value) && value < limit ? 'PASS' : 'FAIL';
}

export function intEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

export function shareEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value >= 1) throw new Error(`${name} must be a share in [0, 1), got "${raw}"`);
  return value;
}

/** Milliseconds as the tables show them: `812 ms`, `12.4 s`; empty for none, a dash for NaN. */
export function ms(value: number | undefined): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** A plain-text table; columns sized to their content. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatResult(result: BenchResult): string {
  const table = formatTable(
    ['metric', 'n', 'p50', 'p95', 'max', 'rate', 'target', 'verdict'],
    result.rows.map((r) => [r.metric, String(r.n), ms(r.p50), ms(r.p95), ms(r.max), r.rate ?? '', r.target ?? '', r.verdict]),
    [1, 2, 3, 4],
  );
  const lines = [`== ${result.name} (${result.seconds.toFixed(1)} s) — ${result.setup}`, table];
  for (const note of result.notes) lines.push(`  note: ${note}`);
  for (const error of result.errors) lines.push(`  ERROR: ${error}`);
  return lines.join('\n');
}

/**
 * Prints the table, hands the result to bench/run.ts (BENCH_RESULT_FILE, one JSON line) and sets
 * the exit code: 1 when the run found errors, 0 otherwise (missed targets included).
 */
export function publish(result: BenchResult): void {
  process.stdout.write(`${formatResult(result)}\n`);
  const file = process.env.BENCH_RESULT_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
  process.exitCode = result.errors.length > 0 ? 1 : 0;
}

/** Runs a benchmark body; an exception becomes an error row instead of a stack trace only. */
export async function runBench(name: string, body: (result: BenchResult) => Promise<void>): Promise<void> {
  const started = performance.now();
  const result: BenchResult = { name, setup: '', rows: [], notes: [], errors: [], seconds: 0 };
  try {
    await body(result);
  } catch (error) {
    result.errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  result.seconds = (performance.now() - started) / 1000;
  publish(result);
}

/** Resolves when `probe` returns a value, or rejects after `timeoutMs` naming what was awaited. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
