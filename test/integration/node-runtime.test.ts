import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// `npm start` on a host that already has a Node.js satisfying engines (a production host, the
// container image) must start the bot with that Node.js and download nothing: here the registry is
// unreachable (npm_config_registry points at a closed port), and the checkout is a fresh copy
// without .tools/, so any attempt to fetch Node.js would fail the start.
const root = resolve(import.meta.dirname, '../..');
const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) {
    // npm → bash → node: end the whole process group this test started.
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  }
});

/** A fresh checkout: package.json and scripts copied, the rest linked (no .tools/). */
function freshCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ib-start-'));
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'scripts'), join(dir, 'scripts'), { recursive: true });
  for (const name of ['src', 'cards', 'node_modules']) symlinkSync(join(root, name), join(dir, name));
  return dir;
}

async function npmStart(dir: string, pathDirs: string[]): Promise<{ child: ChildProcess; output: () => string; url: Promise<string> }> {
  const child = spawn('npm', ['start'], {
    cwd: dir,
    detached: true,
    env: {
      PATH: pathDirs.join(':'),
      HOME: dir,
      npm_config_cache: join(dir, '.npm'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_update_notifier: 'false',
      PORT: '0',
      HOST: '127.0.0.1',
      BOT_AUTH: 'off',
      ALERT_SOURCES: 'none',
      DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const url = (async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const line = out.split('\n').find((l) => l.includes('"incident-bot listening"'));
      if (line) return (JSON.parse(line) as { url: string }).url;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`npm start did not start the bot:\n${out}`);
  })();
  return { child, output: () => out, url };
}

describe('npm start and the Node.js runtime', () => {
  it('with Node.js 24 on PATH and the registry unreachable, npm start runs the bot on that Node.js and downloads nothing', { timeout: 60_000 }, async () => {
    const dir = freshCheckout();
    const node24 = dirname(process.execPath);
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
    const started = await npmStart(dir, [node24, '/usr/local/bin', '/usr/bin', '/bin']);
    const url = await started.url;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(started.output()).not.toContain('installing Node.js');
    expect(existsSync(join(dir, '.tools'))).toBe(false);
  });

  it('engines.node names Node.js 24 and the check script agrees with the running Node.js', async () => {
    const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/^>=24\b/);
    const child = spawn(process.execPath, [join(root, 'scripts/node-satisfies-engines.cjs')], { stdio: 'ignore' });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
  });
});
