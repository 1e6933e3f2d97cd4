import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';

// The bot as an operator runs it, as a real process: `node src/main.ts` (the sources; the production
// build of the same code, dist/main.mjs, is run as a process by production-build.test.ts).
const root = resolve(import.meta.dirname, '../..');

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

async function startProcess(env: Record<string, string>): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'ib-main-'));
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: dir, PORT: '0', ALERT_SOURCES: 'none', DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const line = out.split('\n').find((l) => l.includes('"incident-bot listening"'));
    if (line) return { child, url: (JSON.parse(line) as { url: string }).url, stdout: () => out };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`bot did not start:\n${out}`);
}

describe('the bot process', () => {
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('with MicrosoftAppId set: /healthz 200, /readyz 200, unauthenticated POST /api/messages 401', async () => {
    const secret = randomBytes(18).toString('base64url');
    const bot = await startProcess({ HOST: '127.0.0.1', MicrosoftAppId: randomUUID(), MicrosoftAppPassword: secret, MicrosoftAppTenantId: randomUUID() });
    running.push(bot.child);
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${bot.url}/readyz`)).status).toBe(200);
    const post = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'lookup jdoe', channelId: 'msteams', serviceUrl: 'https://smba.example.test/', from: { id: 'x' }, recipient: { id: 'y' }, conversation: { id: 'z' } }),
    });
    expect(post.status).toBe(401);
    expect(bot.stdout()).not.toContain(secret);
  });

  it('stops cleanly on SIGTERM: exit code 0 and a last log line', async () => {
    const bot = await startProcess({ BOT_AUTH: 'off' });
    running.push(bot.child);
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    bot.child.kill('SIGTERM');
    const [code] = (await once(bot.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(bot.stdout()).toContain('"incident-bot stopped"');
  });

  it('refuses to start when the store cannot be opened, in one sentence without the password', async () => {
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', BOT_AUTH: 'off', PORT: '0', ALERT_SOURCES: 'none', DATABASE_URL: 'postgres://bot:Pa55-w0rd-x@127.0.0.1:1/none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(err).toMatch(/incident-bot: could not start: .*PostgreSQL/);
    expect(err).not.toContain('Pa55-w0rd-x');
    expect(err).not.toMatch(/\n\s+at /);
  });
});
