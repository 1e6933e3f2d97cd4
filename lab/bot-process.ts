import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { stopProcessGroup, waitUntil } from '../sim/teams/playground.ts';

/**
 * incident-bot as its own process (`node src/main.ts`, the sources `npm start` builds and runs, or
 * lab/bot-entry.ts for the simulated directory): Node
 * reads NODE_EXTRA_CA_CERTS only at process start, and the bot must trust the lab's local HTTPS
 * stand-ins, so it cannot run inside the lab process.
 */

const ROOT = resolve(import.meta.dirname, '..');

export interface BotProcess {
  url: string;
  pid: number;
  logFile: string;
  /** Last lines of its output (for failure messages). */
  tail(): string;
  stop(): Promise<void>;
}

export async function startBotProcess(options: {
  env: Record<string, string>;
  port: number;
  logFile: string;
  /** Script to run; default src/main.ts. */
  entry?: string;
  readyTimeoutMs?: number;
}): Promise<BotProcess> {
  const log = createWriteStream(options.logFile, { flags: 'w' });
  // Only what the bot needs from our environment: the lab's settings must not be overridden
  // by whatever incident-bot configuration the developer has exported in this shell.
  const inherited = Object.fromEntries(['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
  const child: ChildProcess = spawn(process.execPath, [options.entry ?? join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { ...inherited, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let recent = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString('utf8')).slice(-6000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitCode: number | null | undefined;
  child.once('exit', (code) => {
    exitCode = code;
    log.end();
  });
  const url = `http://127.0.0.1:${options.port}`;
  const stop = () => stopProcessGroup(child, 10_000);
  try {
    await waitUntil(`incident-bot on ${url}/healthz`, options.readyTimeoutMs ?? 30_000, async () => {
      if (exitCode !== undefined) throw new Error(`incident-bot exited with ${exitCode}: ${recent.trim().split('\n').slice(-5).join(' | ')}`);
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: child.pid as number, logFile: options.logFile, tail: () => recent, stop };
}
