import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { buildBot } from '../../scripts/build.ts';
import { linkProductionNodeModules } from '../support/production-tree.ts';
import { CONFIG_KEYS } from '../../src/config/keys.ts';

// The deploy recipe (Agents Toolkit project files, Bicep, Dockerfile) checked without a cloud:
// what can be decided by reading the files against each other and against the bot's own
// configuration. Bicep itself is not compiled here (no Bicep CLI in the reachable registries).

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every `${{NAME}}` placeholder (Agents Toolkit syntax) in a text. */
export function placeholders(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!));
}

/** Names defined (even if empty) in these env files; a missing file defines nothing. */
function definedIn(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    if (!existsSync(join(root, file))) continue;
    for (const name of Object.keys(parseEnv(read(file)))) names.add(name);
  }
  return names;
}

/** Placeholders of `texts` no env file defines. */
function undefinedPlaceholders(texts: string[], env: Set<string>): string[] {
  return [...new Set(texts.flatMap((t) => [...placeholders(t)]))].filter((name) => !env.has(name)).sort();
}

// Which env files the toolkit reads for which project file (`--env <name>`: env/.env.<name> and
// the git-ignored env/.env.<name>.user, whose committed example lists the secret names).
const PROJECTS = [
  { yml: 'm365agents.yml', env: 'dev', alsoUses: ['appPackage/manifest.json', 'infra/azure.parameters.json'] },
  { yml: 'm365agents.local.yml', env: 'local', alsoUses: ['appPackage/manifest.json'] },
  { yml: 'm365agents.playground.yml', env: 'playground', alsoUses: [] },
] as const;

/** The `param` names of a Bicep file, and whether each has a default. */
function bicepParams(text: string): Map<string, { hasDefault: boolean }> {
  const params = new Map<string, { hasDefault: boolean }>();
  for (const m of text.matchAll(/^param\s+([A-Za-z_][A-Za-z0-9_]*)\s+\w+(\s*=)?/gm)) params.set(m[1]!, { hasDefault: Boolean(m[2]) });
  return params;
}

/** The container's environment in azure.bicep: `name: 'X'` followed by `value: <expr>` or `secretRef: '<name>'`. */
function bicepContainerEnv(text: string): { name: string; value?: string; secretRef?: string }[] {
  return [...text.matchAll(/\{\s*name:\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\n\s*(value|secretRef):\s*([^\n]+)\n\s*\}/g)].map((m) =>
    m[2] === 'value' ? { name: m[1]!, value: m[3]!.trim() } : { name: m[1]!, secretRef: m[3]!.trim().replace(/^'|'$/g, '') },
  );
}

describe('deploy recipe: toolkit project files and env files', () => {
  it.each(PROJECTS)('every ${{VAR}} of $yml (and what it uses) is defined in env/.env.$env', ({ yml, env, alsoUses }) => {
    const defined = definedIn([`env/.env.${env}`, `env/.env.${env}.user.example`]);
    expect(defined.size).toBeGreaterThan(0);
    expect(undefinedPlaceholders([read(yml), ...alsoUses.map(read)], defined)).toEqual([]);
  });

  it('the check finds a placeholder nobody defines', () => {
    expect(undefinedPlaceholders(['run: echo ${{NOT_DEFINED_ANYWHERE}} ${{TEAMSFX_ENV}}'], definedIn(['env/.env.dev']))).toEqual(['NOT_DEFINED_ANYWHERE']);
  });

  it('secrets the toolkit passes on are SECRET_* names listed only in the git-ignored user files', () => {
    const dev = definedIn(['env/.env.dev']);
    const secretNames = [...placeholders(read('infra/azure.parameters.json'))].filter((name) => name.startsWith('SECRET_'));
    expect(secretNames.sort()).toEqual(['SECRET_LDAP_BIND_PASSWORD', 'SECRET_OKTA_API_TOKEN', 'SECRET_POSTGRES_ADMIN_PASSWORD']);
    for (const name of secretNames) expect(dev.has(name), `${name} must not be in the committed env/.env.dev`).toBe(false);
    for (const file of ['env/.env.dev.user.example', 'env/.env.local.user.example']) {
      for (const [name, value] of Object.entries(parseEnv(read(file)))) expect(value, `${file}: ${name} must be empty`).toBe('');
    }
    expect(read('.gitignore')).toMatch(/^env\/\.env\.\*\.user$/m);
  });

  it('the outputs of azure.bicep are names env/.env.dev knows (the toolkit writes them back there)', () => {
    const outputs = [...read('infra/azure.bicep').matchAll(/^output\s+([A-Za-z_][A-Za-z0-9_]*)\s/gm)].map((m) => m[1]!);
    expect(outputs).toEqual(expect.arrayContaining(['BOT_ID', 'BOT_DOMAIN', 'AZURE_CONTAINER_APP_RESOURCE_ID']));
    const dev = definedIn(['env/.env.dev']);
    expect(outputs.filter((name) => !dev.has(name))).toEqual([]);
  });
});

describe('deploy recipe: Bicep', () => {
  const template = read('infra/azure.bicep');
  const params = bicepParams(template);

  it('every parameter in azure.parameters.json exists in the template, and every parameter without default is given', () => {
    const given = Object.keys((JSON.parse(read('infra/azure.parameters.json')) as { parameters: Record<string, unknown> }).parameters);
    expect(params.size).toBeGreaterThan(5);
    expect(given.filter((name) => !params.has(name))).toEqual([]);
    expect([...params].filter(([name, p]) => !p.hasDefault && !given.includes(name)).map(([name]) => name)).toEqual([]);
    // And the module's parameters are what azure.bicep passes.
    const module = bicepParams(read('infra/botRegistration/azurebot.bicep'));
    const passed = [...(/module botRegistration[^{]*\{[\s\S]*?params:\s*\{([\s\S]*?)\n {2}\}/.exec(template)?.[1] ?? '').matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*):/gm)].map((m) => m[1]!);
    expect(passed.filter((name) => !module.has(name))).toEqual([]);
    expect([...module].filter(([name, p]) => !p.hasDefault && !passed.includes(name)).map(([name]) => name)).toEqual([]);
  });

  it('sets every configuration key the bot requires in production: the container environment is a valid production configuration', () => {
    const env = bicepContainerEnv(template);
    const known = new Map(CONFIG_KEYS.map((key) => [key.name, key]));
    expect(env.length).toBeGreaterThan(10);
    // Only keys the bot reads (src/config/keys.ts): a misspelt key would silently be ignored.
    expect(env.map((e) => e.name).filter((name) => !known.has(name))).toEqual([]);
    // Secrets only as Key Vault references, never as plain values.
    for (const e of env) if (known.get(e.name)!.secret) expect(e.secretRef, `${e.name} is a secret`).toBeDefined();
    // What the container would see: literals as written, expressions and secrets as the documented examples.
    const values: Record<string, string> = {};
    for (const e of env) {
      const literal = e.value && /^'([^']*)'$/.exec(e.value)?.[1];
      values[e.name] = literal ?? (e.name === 'DATABASE_URL' ? 'postgres://incidentbot:secret@db.example:5432/incidentbot?sslmode=require' : known.get(e.name)!.example.replace(/^\(from .*\)$/, 'a-secret'));
    }
    const config = loadConfig(values);
    expect(config.botAuth).toBe('on');
    expect(config.bot.appType).toBe('UserAssignedMSI');
    expect(config.azure?.managedIdentity).toBe(true);
    expect(config.databaseUrl.reveal()).toMatch(/^postgres:\/\//);
    expect(config.ldap).toBeDefined();
    expect(config.approvers.groupIds.length).toBeGreaterThan(0);
    expect(config.teamsTenantId).toBeDefined();
    // Each of these keys is needed: without it the production configuration is refused or loses a feature it deploys.
    for (const name of ['MicrosoftAppId', 'MicrosoftAppTenantId', 'DATABASE_URL', 'LDAP_BIND_PASSWORD']) {
      const { [name]: _dropped, ...without } = values;
      let outcome: string;
      try {
        const partial = loadConfig(without);
        outcome = name === 'DATABASE_URL' ? (partial.databaseUrl.reveal().startsWith('postgres') ? 'postgres' : 'sqlite (one replica only)') : 'accepted';
      } catch {
        outcome = 'refused';
      }
      expect(outcome, name).not.toBe(name === 'DATABASE_URL' ? 'postgres' : 'accepted');
    }
  });

  it('runs two replicas in a VNet subnet, the database private, secrets from Key Vault, logs to Log Analytics', () => {
    expect(template).toMatch(/minReplicas:\s*2/);
    expect(template).toMatch(/infrastructureSubnetId:/);
    expect(template).toMatch(/delegatedSubnetResourceId:/);
    expect(template).toMatch(/publicNetworkAccess:\s*'Disabled'/);
    expect(template).toMatch(/keyVaultUrl:/);
    expect(template).toMatch(/destination:\s*'log-analytics'/);
    expect(read('infra/botRegistration/azurebot.bicep')).toMatch(/msaAppType:\s*'UserAssignedMSI'/);
    // Resource types at dated GA API versions only (no -preview): what Bicep and ARM know well.
    const types = [...template.matchAll(/^resource\s+\w+\s+'([^']+)'/gm)].map((m) => m[1]!);
    expect(types.length).toBeGreaterThan(10);
    for (const type of types) expect(type).toMatch(/^Microsoft\.[A-Za-z]+\/[A-Za-z/]+@\d{4}-\d{2}-\d{2}$/);
  });
});

describe('deploy recipe: the push ingestion Logic App (infra/alert-push-logicapp.bicep)', () => {
  const template = read('infra/alert-push-logicapp.bicep');
  const params = bicepParams(template);

  it('is triggered by the Sentinel alert trigger through a managed-identity connection, on new MDI alerts only', () => {
    // The alert trigger as Microsoft's playbooks declare it: ApiConnectionWebhook on /subscribe with the run's callback URL.
    expect(template).toMatch(/type:\s*'ApiConnectionWebhook'[\s\S]*?callback_url:\s*'@\{listCallbackUrl\(\)\}'[\s\S]*?path:\s*'\/subscribe'/);
    expect(template).toMatch(/'Microsoft\.Web\/locations\/managedApis', location, 'azuresentinel'/);
    expect(template).toMatch(/parameterValueType:\s*'Alternative'/);
    expect(template).toMatch(/connectionProperties:\s*\{\s*authentication:\s*\{\s*type:\s*'ManagedServiceIdentity'/);
    expect(template).toMatch(/triggersOn:\s*'Alerts'/);
    expect(template).toMatch(/triggersWhen:\s*'Created'/);
    expect(template).toMatch(/propertyName:\s*'AlertProductNames'/);
    expect(template).toMatch(/actionType:\s*'RunPlaybook'/);
    expect(template).toContain("'Azure Advanced Threat Protection'");
  });

  it('calls the webhook with its managed identity for the configured audience, sending only the SystemAlertId', () => {
    const http = /Notify_incident_bot:\s*\{([\s\S]*?)\n {8}\}/.exec(template)?.[1] ?? '';
    expect(http).toMatch(/type:\s*'Http'/);
    expect(http).toMatch(/method:\s*'POST'/);
    expect(http).toMatch(/uri:\s*webhookUrl/);
    expect(http).toMatch(/authentication:\s*\{\s*type:\s*'ManagedServiceIdentity'\s*audience:\s*webhookAudience\s*\}/);
    expect(http).toMatch(/body:\s*\{\s*SystemAlertId:\s*'@\{triggerBody\(\)\?\[\\'SystemAlertId\\'\]\}'\s*\}/);
    expect(http).not.toMatch(/secret|x-incident-bot-signature/i);
  });

  it("its parameters and output fit the bot's configuration (ALERT_PUSH_AUDIENCE, ALERT_PUSH_CALLER_IDS)", () => {
    expect([...params.keys()]).toEqual(expect.arrayContaining(['webhookUrl', 'webhookAudience', 'workspaceName']));
    expect(params.get('webhookUrl')?.hasDefault).toBe(false);
    const audience = /param webhookAudience string = '([^']+)'/.exec(template)?.[1];
    expect(audience).toBeDefined();
    // The default audience and a principal id are a configuration the bot accepts.
    const config = loadConfig({ BOT_AUTH: 'off', ALERT_SOURCES: 'sentinel', AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111', AZURE_MANAGED_IDENTITY: 'true', SENTINEL_WORKSPACE_ID: '33333333-3333-3333-3333-333333333333', DRY_RUN: 'true', ALERT_PUSH_AUDIENCE: audience!, ALERT_PUSH_CALLER_IDS: '99999999-9999-9999-9999-999999999999' });
    expect(config.alertPush?.entra?.audiences).toEqual([audience]);
    expect(template).toMatch(/^output logicAppPrincipalId string = playbook\.identity\.principalId$/m);
    expect(template).toContain('/api/alerts/notify');
  });

  it('uses resource types at dated GA API versions only, least privilege for the identity', () => {
    const types = [...template.matchAll(/^resource\s+\w+\s+'([^']+)'/gm)].map((m) => m[1]!);
    expect(types.length).toBeGreaterThanOrEqual(5);
    for (const type of types) expect(type).toMatch(/^Microsoft\.[A-Za-z]+\/[A-Za-z/]+@\d{4}-\d{2}-\d{2}$/);
    // The Logic App's identity gets Microsoft Sentinel Reader on the workspace, nothing broader.
    const roles = [...template.matchAll(/var (\w+RoleId) = '([0-9a-f-]{36})'/g)].map((m) => m[1]);
    expect(roles.sort()).toEqual(['sentinelAutomationContributorRoleId', 'sentinelReaderRoleId']);
    expect(template).toMatch(/principalId:\s*playbook\.identity\.principalId/);
    expect(template).not.toMatch(/Contributor'\)[\s\S]{0,200}playbook\.identity/);
  });
});

/** One stage of the Dockerfile, from its FROM line to the next. */
function stage(name: string): string {
  const dockerfile = read('Dockerfile');
  const start = dockerfile.search(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}$`, 'm'));
  expect(start, `stage ${name}`).toBeGreaterThanOrEqual(0);
  const next = dockerfile.slice(start + 1).search(/^FROM\s/m);
  return next < 0 ? dockerfile.slice(start) : dockerfile.slice(start, start + 1 + next);
}

describe('deploy recipe: container image', () => {
  const dockerfile = read('Dockerfile');
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;

  it('builds on the Node.js major of engines.node, in several stages', () => {
    const engineMajor = /(\d+)/.exec(engines)?.[1];
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) expect(/^node:(\d+)(-[a-z0-9.-]+)?$/.exec(base)?.[1], base).toBe(engineMajor);
    expect(bases.every((base) => base.includes('slim'))).toBe(true);
  });

  it('installs production dependencies only, runs as a non-root user, checks /healthz, runs the build made in its own stage', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]!);
    expect(users.at(-1)).toBeDefined();
    expect(['root', '0']).not.toContain(users.at(-1));
    expect(dockerfile).toMatch(/^HEALTHCHECK[\s\S]*\/healthz/m);
    expect(/^CMD\s+(.+)$/m.exec(dockerfile)?.[1]).toBe('["node", "dist/main.mjs"]');
    // The build stage runs the same script the tests build with (scripts/build.ts), from sources the
    // build context lets through (.dockerignore).
    const build = stage('build');
    expect(build).toMatch(/^RUN node scripts\/build\.ts$/m);
    const ignore = read('.dockerignore');
    for (const source of [...build.matchAll(/^COPY\s+(?!--from)(\S+)\s/gm)].map((m) => m[1]!)) {
      for (const path of source === 'package.json' ? ['package.json', 'package-lock.json'] : [source]) expect(ignore, path).toContain(`!${path}`);
    }
  });
});

describe('deploy recipe: what the image holds is enough to run the bot', () => {
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('with only the runtime stage\'s COPY sources (the build stage\'s dist/) and the production dependencies, node dist/main.mjs serves /healthz', { timeout: 60_000 }, async () => {
    const runtime = stage('runtime');
    const copies = [...runtime.matchAll(/^COPY\s+((?:--\S+\s+)*)(\S+)\s+\S+$/gm)].map((m) => ({ from: /--from=(\S+)/.exec(m[1]!)?.[1], source: m[2]! }));
    expect(copies.filter((c) => c.from === undefined).map((c) => c.source)).toEqual(['package.json']);
    expect(copies.filter((c) => c.from === 'build').map((c) => c.source)).toEqual(['/app/dist']);
    expect(copies.filter((c) => c.from === 'deps').map((c) => c.source)).toEqual(['/app/node_modules']);
    const dir = mkdtempSync(join(tmpdir(), 'ib-image-'));
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    await buildBot(join(dir, 'dist'));
    expect(linkProductionNodeModules(dir)).toBeGreaterThan(5);
    for (const devOnly of ['vitest', 'rolldown', 'typescript']) expect(existsSync(join(dir, 'node_modules', devOnly)), devOnly).toBe(false);
    const child = spawn(process.execPath, ['dist/main.mjs'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', BOT_AUTH: 'off', ALERT_SOURCES: 'none', DATABASE_URL: `sqlite:${join(dir, 'bot.db')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    let url: string | undefined;
    for (const deadline = Date.now() + 30_000; !url && Date.now() < deadline && child.exitCode === null; ) {
      const line = out.split('\n').find((l) => l.includes('"incident-bot listening"'));
      if (line) url = (JSON.parse(line) as { url: string }).url;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, out).toBeDefined();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
