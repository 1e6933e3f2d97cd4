import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { CONFIG_KEYS } from '../../src/config/keys.ts';

const root = resolve(import.meta.dirname, '../..');
const validAuthOn = {
  MicrosoftAppId: '0a1b2c3d-0000-4000-8000-000000000001',
  MicrosoftAppPassword: 'x'.repeat(8),
  MicrosoftAppTenantId: '0a1b2c3d-0000-4000-8000-000000000002',
  ALERT_SOURCES: 'none',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(validAuthOn);
    expect(config.port).toBe(3978);
    expect(config.graphEndpoint).toBe('https://graph.microsoft.com');
    expect(config.logsEndpoint).toBe('https://api.loganalytics.io/v1');
    expect(config.pollIntervalSeconds).toBe(60);
    expect(config.minSeverity).toBe('low');
    expect(config.databaseUrl.reveal()).toBe('sqlite:./data/incident-bot.db');
    expect(config.botAuth).toBe('on');
  });

  it('refuses to start without MicrosoftAppId unless BOT_AUTH=off', () => {
    expect(problemsOf({ ALERT_SOURCES: 'none' })).toEqual([expect.stringMatching(/^MicrosoftAppId: required/)]);
    const open = loadConfig({ BOT_AUTH: 'off', ALERT_SOURCES: 'none', HOST: '0.0.0.0' });
    expect(open.host).toBe('127.0.0.1');
  });

  it('names each malformed key on its own line', () => {
    const problems = problemsOf({ ...validAuthOn, PORT: 'eighty', POLL_INTERVAL_SECONDS: '-1', MIN_SEVERITY: 'catastrophic', APPROVER_GROUP_IDS: 'admins', GRAPH_ENDPOINT: 'ftp://x' });
    expect(problems).toHaveLength(5);
    for (const key of ['PORT', 'POLL_INTERVAL_SECONDS', 'MIN_SEVERITY', 'APPROVER_GROUP_IDS', 'GRAPH_ENDPOINT']) {
      expect(problems.filter((p) => p.startsWith(`${key}:`))).toHaveLength(1);
    }
  });

  it('requires credentials for the alert sources it is asked to poll', () => {
    const problems = problemsOf({ ...validAuthOn, ALERT_SOURCES: 'graph,sentinel' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'SENTINEL_WORKSPACE_ID']);
  });

  it('requires the LDAP keys together and never echoes a secret', () => {
    const secret = 'Sup3r-S3cret-Value';
    const problems = problemsOf({ ...validAuthOn, LDAP_URL: 'ldaps://dc1:636', LDAP_BIND_PASSWORD: secret, DATABASE_URL: `mysql://u:${secret}@h/db` });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'LDAP_BASE_DN', 'LDAP_BIND_DN']);
    expect(problems.join('\n')).not.toContain(secret);
  });

  it('keeps secrets out of JSON and string forms of the config', () => {
    const config = loadConfig({ ...validAuthOn, OKTA_ORG_URL: 'https://corp.okta.example', OKTA_API_TOKEN: 'okta-token-value-123' });
    const dumped = JSON.stringify(config) + String(config.okta?.apiToken);
    expect(dumped).not.toContain('okta-token-value-123');
    expect(dumped).not.toContain(validAuthOn.MicrosoftAppPassword);
    expect(config.okta?.apiToken?.reveal()).toBe('okta-token-value-123');
  });

  it('documents every key it reads in the README table', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const source = readFileSync(resolve(root, 'src/config/config.ts'), 'utf8');
    const documented = new Set(CONFIG_KEYS.map((k) => k.name));
    const read = [...source.matchAll(/r\.\w+\('([A-Za-z_]+)'/g)].map((m) => m[1]!);
    for (const key of read) expect(documented, `${key} is read but not documented`).toContain(key);
    for (const key of documented) expect(readme, `${key} missing from README`).toContain(`| \`${key}\``);
  });
});

describe('npm start with a bad environment', () => {
  it('prints one line naming the missing key and exits non-zero, with no stack trace', () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ALERT_SOURCES: 'none' };
    const run = spawnSync(process.execPath, ['src/main.ts'], { cwd: root, env, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^incident-bot: configuration error: MicrosoftAppId: required/)]);
    expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe('configuration: Entra privilege (issue 13)', () => {
  const azure = { AZURE_TENANT_ID: '0a1b2c3d-0000-4000-8000-000000000003', AZURE_CLIENT_ID: '0a1b2c3d-0000-4000-8000-000000000004', AZURE_CLIENT_SECRET: 's'.repeat(12) };

  it('privileged Entra groups without Graph are refused instead of silently ignored', () => {
    expect(problemsOf({ ...validAuthOn, ENTRA_PRIVILEGED_GROUP_IDS: '66666666-6666-4666-8666-666666666666' })).toEqual([expect.stringMatching(/^ENTRA_PRIVILEGED_GROUP_IDS: needs the Azure app registration/)]);
    expect(loadConfig({ ...validAuthOn, ...azure, ENTRA_PRIVILEGED_GROUP_IDS: '66666666-6666-4666-8666-666666666666' }).entraPrivilegedGroupIds).toEqual(['66666666-6666-4666-8666-666666666666']);
  });

  it('ENTRA_PRIVILEGED_ROLE_IDS: unset means the built-in list, `none` none, otherwise GUIDs only', () => {
    expect(loadConfig(validAuthOn).entraPrivilegedRoleIds).toBeUndefined();
    expect(loadConfig({ ...validAuthOn, ENTRA_PRIVILEGED_ROLE_IDS: 'none' }).entraPrivilegedRoleIds).toEqual([]);
    expect(loadConfig({ ...validAuthOn, ENTRA_PRIVILEGED_ROLE_IDS: '62E90394-69F5-4237-9190-012177145E10' }).entraPrivilegedRoleIds).toEqual(['62e90394-69f5-4237-9190-012177145e10']);
    expect(problemsOf({ ...validAuthOn, ENTRA_PRIVILEGED_ROLE_IDS: 'Global Administrator' })).toEqual([expect.stringMatching(/^ENTRA_PRIVILEGED_ROLE_IDS: each entry must be/)]);
  });
});

describe('configuration: Okta (issue 13)', () => {
  it('a service app (client id + private key file) is the documented way; the API token a fallback; forgetDevices off by default', () => {
    const oauth = loadConfig({ ...validAuthOn, OKTA_ORG_URL: 'https://corp.okta.example/', OKTA_CLIENT_ID: '0oa1client', OKTA_PRIVATE_KEY_PATH: '/etc/bot/okta.pem', OKTA_KEY_ID: 'kid-1' });
    expect(oauth.okta).toEqual({ orgUrl: 'https://corp.okta.example', oauth: { clientId: '0oa1client', privateKeyPath: '/etc/bot/okta.pem', keyId: 'kid-1' }, forgetDevices: false });
    const both = loadConfig({ ...validAuthOn, OKTA_ORG_URL: 'https://corp.okta.example', OKTA_CLIENT_ID: '0oa1client', OKTA_PRIVATE_KEY_PATH: '/k.pem', OKTA_API_TOKEN: 'okta-token-value-123', OKTA_FORGET_DEVICES: 'true' });
    expect(both.okta?.apiToken).toBeUndefined();
    expect(both.okta?.forgetDevices).toBe(true);
    expect(loadConfig({ ...validAuthOn, OKTA_ORG_URL: 'https://corp.okta.example', OKTA_API_TOKEN: 'okta-token-value-123' }).okta?.oauth).toBeUndefined();
  });

  it('half a service app, or an org URL without any credential, is refused with the key named', () => {
    expect(problemsOf({ ...validAuthOn, OKTA_ORG_URL: 'https://corp.okta.example', OKTA_CLIENT_ID: '0oa1client' })).toEqual([expect.stringMatching(/^OKTA_PRIVATE_KEY_PATH: required when OKTA_CLIENT_ID/)]);
    expect(problemsOf({ ...validAuthOn, OKTA_ORG_URL: 'https://corp.okta.example' })).toEqual([expect.stringMatching(/^OKTA_CLIENT_ID: required when OKTA_ORG_URL/)]);
    expect(problemsOf({ ...validAuthOn, OKTA_CLIENT_ID: '0oa1client', OKTA_PRIVATE_KEY_PATH: '/k.pem' })).toEqual([expect.stringMatching(/^OKTA_ORG_URL: required when OKTA_CLIENT_ID/)]);
  });
});
