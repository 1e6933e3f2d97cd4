import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

/**
 * Issue 11: outbound endpoints are https-only (loopback excepted), and BOT_AUTH=off is a lab
 * mode that refuses to start against anything real unless DRY_RUN=true.
 */
const root = resolve(import.meta.dirname, '../..');
const authOn = { MicrosoftAppId: '0a1b2c3d-0000-4000-8000-000000000001', MicrosoftAppPassword: 'x'.repeat(8), MicrosoftAppTenantId: '0a1b2c3d-0000-4000-8000-000000000002', ALERT_SOURCES: 'none' };
const azure = { AZURE_TENANT_ID: '0a1b2c3d-0000-4000-8000-000000000003', AZURE_CLIENT_ID: '0a1b2c3d-0000-4000-8000-000000000004', AZURE_CLIENT_SECRET: 's'.repeat(12) };
const ldap = { LDAP_BIND_DN: 'CN=svc,DC=corp,DC=example,DC=com', LDAP_BIND_PASSWORD: 'p'.repeat(12), LDAP_BASE_DN: 'DC=corp,DC=example,DC=com' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('outbound URLs are https only, except loopback', () => {
  const keys: [string, Record<string, string>][] = [
    ['GRAPH_ENDPOINT', azure],
    ['LOGS_ENDPOINT', azure],
    ['AZURE_AUTHORITY_HOST', azure],
    ['OKTA_ORG_URL', { OKTA_API_TOKEN: 't'.repeat(20) }],
    ['TEAMS_SERVICE_URL', { TEAMS_CHANNEL_ID: '19:x@thread.tacv2' }],
    ['BotOpenIdMetadata', { ToBotFromChannelTokenIssuer: 'https://api.botframework.com' }],
    ['ToChannelFromBotLoginUrl', {}],
  ];
  it.each(keys)('%s: http:// to a real host is refused at start, naming the key', (key, extra) => {
    const problems = problemsOf({ ...authOn, ...extra, [key]: 'http://graph.example.com/' });
    // (A key whose companion is then missing adds that line too: OKTA_API_TOKEN needs OKTA_ORG_URL.)
    expect(problems[0]).toMatch(new RegExp(`^${key}: must be an https:// URL \\(http:// is accepted only for loopback addresses\\), got "http://graph.example.com/"$`));
  });
  it.each(keys)('%s: http:// on loopback (tests, lab) and https:// anywhere are accepted', (key, extra) => {
    for (const url of ['http://127.0.0.1:8443/', 'http://localhost:9/', 'http://[::1]:9/', 'https://graph.example.com/']) {
      expect(problemsOf({ ...authOn, ...extra, [key]: url }), url).toEqual([]);
    }
  });
  it('a host name that only looks like loopback is not loopback', () => {
    for (const url of ['http://127.0.0.1.attacker.example/', 'http://localhost.attacker.example/', 'http://127.0.0.999/']) {
      expect(problemsOf({ ...authOn, ...azure, GRAPH_ENDPOINT: url }), url).toHaveLength(1);
    }
  });
  it('other schemes are refused', () => {
    expect(problemsOf({ ...authOn, ...azure, GRAPH_ENDPOINT: 'ftp://graph.example.com/' })).toEqual([expect.stringMatching(/^GRAPH_ENDPOINT: must be an https:\/\/ URL/)]);
  });
});

describe('BOT_AUTH=off is a lab mode, not a deployment mode', () => {
  const off = { BOT_AUTH: 'off', ALERT_SOURCES: 'none' };
  it.each([
    ['a real LDAP server', { ...ldap, LDAP_URL: 'ldaps://dc1.corp.example.com:636' }, 'LDAP_URL points at dc1.corp.example.com:636'],
    ['the real Graph (default endpoint)', azure, 'GRAPH_ENDPOINT points at graph.microsoft.com'],
    ['a real Okta org', { OKTA_ORG_URL: 'https://corp.okta.com', OKTA_API_TOKEN: 't'.repeat(20) }, 'OKTA_ORG_URL points at corp.okta.com'],
    ['a real Teams service URL', { TEAMS_CHANNEL_ID: '19:x@thread.tacv2', TEAMS_SERVICE_URL: 'https://smba.trafficmanager.net/emea/' }, 'TEAMS_SERVICE_URL points at smba.trafficmanager.net'],
    ['the host managed identity', { AZURE_MANAGED_IDENTITY: 'true', GRAPH_ENDPOINT: 'https://127.0.0.1:2', LOGS_ENDPOINT: 'https://127.0.0.1:3/v1' }, 'AZURE_MANAGED_IDENTITY=true uses the real tenant'],
  ])('refuses to run against %s with DRY_RUN=false, in one sentence', (_label, extra, names) => {
    const problems = problemsOf({ ...off, ...extra });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(names);
    expect(problems[0]).toMatch(/^BOT_AUTH: off is a lab mode without authentication and runs only with DRY_RUN=true or with every integration on loopback, but .+\.$/);
  });
  it('runs with DRY_RUN=true against real integrations, or with every integration on loopback', () => {
    expect(problemsOf({ ...off, ...ldap, LDAP_URL: 'ldaps://dc1.corp.example.com:636', DRY_RUN: 'true' })).toEqual([]);
    expect(problemsOf({ ...off, ...ldap, ...azure, LDAP_URL: 'ldaps://127.0.0.1:636', AZURE_AUTHORITY_HOST: 'https://127.0.0.1:1', GRAPH_ENDPOINT: 'https://127.0.0.1:2', LOGS_ENDPOINT: 'https://127.0.0.1:3/v1' })).toEqual([]);
  });
  it('BOT_LAB_SECRET: at least 24 characters, and only with BOT_AUTH=off', () => {
    expect(problemsOf({ ...off, BOT_LAB_SECRET: 'short' })).toEqual([expect.stringMatching(/^BOT_LAB_SECRET: must be at least 24 characters \(value not shown\)$/)]);
    expect(problemsOf({ ...authOn, BOT_LAB_SECRET: 'l'.repeat(30) })).toEqual([expect.stringMatching(/^BOT_LAB_SECRET: only used with BOT_AUTH=off/)]);
    expect(loadConfig({ ...off, BOT_LAB_SECRET: 'l'.repeat(30) }).labSecret?.reveal()).toBe('l'.repeat(30));
  });

  it('the process exits with one sentence when BOT_AUTH=off meets a real LDAP URL and DRY_RUN=false', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ib-labmode-'));
    const run = spawnSync(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: dir, PORT: '0', BOT_AUTH: 'off', ALERT_SOURCES: 'none', DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`, ...ldap, LDAP_URL: 'ldaps://dc1.corp.example.com:636', DRY_RUN: 'false' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^incident-bot: configuration error: BOT_AUTH: off is a lab mode .* but LDAP_URL points at dc1\.corp\.example\.com:636\.$/)]);
    expect(run.stdout).not.toContain('incident-bot listening');
    expect(run.stderr + run.stdout).not.toContain('p'.repeat(12));
  });

  it('without BOT_LAB_SECRET the process prints a per-run secret once (not in its logs); requests need it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ib-labsecret-'));
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: dir, PORT: '0', BOT_AUTH: 'off', ALERT_SOURCES: 'none', DATABASE_URL: `sqlite:${join(dir, 'bot.db')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes('"incident-bot listening"') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const url = (JSON.parse(out.split('\n').find((l) => l.includes('"incident-bot listening"'))!) as { url: string }).url;
      const secret = /lab secret for this run \(send it as x-incident-bot-lab-secret\): ([A-Za-z0-9_-]{32})$/m.exec(err)?.[1];
      expect(secret).toBeDefined();
      expect(out).not.toContain(secret!);
      const activity = JSON.stringify({ type: 'event', name: 'probe', channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', from: { id: 'u' }, recipient: { id: 'b' }, conversation: { id: 'c' } });
      const post = (headers: Record<string, string>) => fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: activity }).then((r) => r.status);
      expect(await post({})).toBe(401);
      expect(await post({ 'x-incident-bot-lab-secret': secret! })).toBe(200);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
