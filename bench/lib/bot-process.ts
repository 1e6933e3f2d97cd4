import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A bot (the floor or the product) as a process of its own, as it runs in production: start →
 * ready is measured from the spawn to the first `/healthz` 200, memory from /proc (resident set).
 */
export interface BotProcess {
  url: string;
  pid: number;
  /** Spawn → first /healthz 200, ms. */
  startToReadyMs: number;
  rssMb(): number;
  /** CPU time the process has used so far (user + system), ms, at the kernel's clock-tick resolution. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

/**
 * utime + stime of a process: fields 14 and 15 of /proc/<pid>/stat (proc(5)), counted after the
 * command name's closing parenthesis, in USER_HZ ticks (100 per second on Linux).
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function startBotProcess(options: { entry: string; env: Record<string, string>; port: number; logFile: string; timeoutMs?: number }): Promise<BotProcess> {
  const out = openSync(options.logFile, 'w');
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [options.entry], { env: { ...process.env, ...options.env }, stdio: ['ignore', out, out] });
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new Error(`${options.entry} exited with ${exited} before it was ready; see ${options.logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.entry} was not ready within ${options.timeoutMs ?? 60_000} ms; see ${options.logFile}`);
    }
    const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const startToReadyMs = performance.now() - started;
  const pid = child.pid!;
  return {
    url,
    pid,
    startToReadyMs,
    rssMb: () => rssMbOf(pid),
    cpuMs: () => cpuMsOf(pid),
    async stop() {
      if (exited !== undefined) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** `total` POSTs at `concurrency`, each built by `request(i)`; per-request latencies (ms) and the wall time. */
export async function drive(total: number, concurrency: number, post: (i: number) => Promise<number>): Promise<{ latencies: number[]; seconds: number; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        try {
          const status = await post(i);
          if (status !== 200) failures.push(`HTTP ${status}`);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, failures };
}
