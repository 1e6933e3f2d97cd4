import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE_USER, BOB_USER } from '../../sim/teams/bot-activity.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../sim/otel/otlp-receiver.ts';
import { startIngestionServer } from '../../sim/azure-monitor/ingestion-server.ts';
import { alertAnchor, TELEMETRY_ATTRIBUTES } from '../../src/shared/telemetry.ts';
import { cardButtons, type BotHarness, type TestBot } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { labJsonHeaders, TEST_LAB_SECRET } from '../support/lab-secret.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 16, OpenTelemetry: the bot as a process (`node src/main.ts`) exporting over OTLP/HTTP
 * (JSON) to a local receiver, driven end to end: an MDI alert from the Graph stand-in to its card,
 * then a four-eyes password reset against the real Samba AD DC to the result in the thread.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const PROBE = resolve(ROOT, 'test/support/module-probe.ts');
const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const STATUS_OK_OR_UNSET = [undefined, 0, 1];

/** Modules an SDK or an exporter would bring: none of them may load when nothing is configured. */
const SDK_MODULE = /node_modules\/(@opentelemetry\/(?!api\/)[^/]+|@azure\/monitor-opentelemetry[^/]*)\//;

let h: BotHarness;
useBotE2e((harness) => (h = harness));

const receivers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

function probeFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'ib-probe-')), 'modules.json');
}

function loadedModules(file: string): string[] {
  return JSON.parse(readFileSync(file, 'utf8')) as string[];
}

/** Starts `node src/main.ts` with the probe, waits until it listens, stops it with SIGTERM; the modules it resolved. */
async function modulesOfAStartedBot(env: Record<string, string>, during?: (url: string) => Promise<void>): Promise<{ modules: string[]; output: string; code: number | null }> {
  const file = probeFile();
  const dir = mkdtempSync(join(tmpdir(), 'ib-otel-'));
  const child = spawn(process.execPath, ['--import', PROBE, 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '', HOME: dir, PORT: '0', BOT_AUTH: 'off', BOT_LAB_SECRET: TEST_LAB_SECRET, ALERT_SOURCES: 'none', DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`, MODULE_PROBE_FILE: file, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const deadline = Date.now() + 30_000;
  while (!output.includes('"incident-bot listening"')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`bot did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (during) await during((JSON.parse(output.split('\n').find((l) => l.includes('"incident-bot listening"'))!) as { url: string }).url);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { modules: loadedModules(file), output, code };
}

// Each test starts a bot process (the Azure Monitor distro alone takes seconds to load on a busy machine).
describe('telemetry off unless configured', { timeout: 90_000 }, () => {
  it('with no exporter configured, no OpenTelemetry SDK or exporter module is loaded (only the API)', async () => {
    const { modules, code } = await modulesOfAStartedBot({});
    expect(code).toBe(0);
    // The probe sees the bot's dependencies (so an absence below means something).
    expect(modules.some((m) => m.includes('/node_modules/@opentelemetry/api/'))).toBe(true);
    expect(modules.some((m) => m.includes('/node_modules/pino/'))).toBe(true);
    expect(modules.filter((m) => SDK_MODULE.test(m))).toEqual([]);
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT set, the SDK and the OTLP/HTTP exporter are loaded, and Azure Monitor is not', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const { modules, code, output } = await modulesOfAStartedBot({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    expect(code).toBe(0);
    expect(output).toContain('telemetry: exporting traces and metrics over OTLP/HTTP');
    expect(modules.some((m) => m.includes('/node_modules/@opentelemetry/sdk-node/'))).toBe(true);
    expect(modules.some((m) => m.includes('/node_modules/@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
    expect(modules.some((m) => m.includes('/node_modules/@azure/monitor-opentelemetry/'))).toBe(false);
  });

  it('with APPLICATIONINSIGHTS_CONNECTION_STRING, the Azure Monitor distro exports the bot\'s spans, allow-listed, to the ingestion endpoint', async () => {
    const ingestion = await startIngestionServer();
    receivers.push(ingestion);
    const key = randomUUID();
    const { modules, code, output } = await modulesOfAStartedBot(
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(key),
        // Nothing beyond this machine: no SDK statistics to Microsoft, no cloud resource probes.
        APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
        OTEL_NODE_RESOURCE_DETECTORS: 'env',
        // The distro samples 5 traces per second by default (rate limited, starting empty): all of them here.
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        // Also set: Azure Monitor wins, OTLP is not loaded.
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      },
      async (url) => {
        const activity = { type: 'typing', id: randomUUID(), channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', from: { id: '29:someone', aadObjectId: randomUUID() }, recipient: { id: '28:incident-bot' }, conversation: { id: 'a:1someone', conversationType: 'personal' }, text: TEST_LAB_SECRET };
        await fetch(`${url}/api/messages`, { method: 'POST', headers: labJsonHeaders(), body: JSON.stringify(activity) });
        // Exported by the distro's batch processor (OTEL_BSP_SCHEDULE_DELAY below), while the bot runs.
        for (let i = 0; i < 250 && !ingestion.items.some((item) => item.data?.baseData?.name === 'bot.activity'); i++) await new Promise((r) => setTimeout(r, 100));
      },
    );
    expect(code).toBe(0);
    expect(output).toContain('telemetry: exporting traces and metrics to Azure Monitor');
    expect(modules.some((m) => m.includes('/node_modules/@azure/monitor-opentelemetry/'))).toBe(true);
    // (the distro's own NodeSDK brings the OTLP exporter modules along; the OTLP path did not start)
    expect(output).not.toContain('over OTLP/HTTP');
    const request = ingestion.items.find((i) => i.data?.baseType === 'RequestData' && i.data.baseData?.name === 'bot.activity');
    expect(request, `a Request for bot.activity among ${ingestion.items.map((i) => `${i.name}/${i.data?.baseType}/${i.data?.baseData?.name}`).join(', ')}; requests: ${ingestion.requests.map((r) => `${r.method} ${r.path} ${r.headers['content-encoding'] ?? ''} ${r.rawBody.slice(0, 300)}`).join(' | ')}`).toBeDefined();
    expect(request!.iKey).toBe(key);
    expect(request!.data!.baseData!.properties).toMatchObject({ 'incident.activity.type': 'typing', 'incident.channel': 'msteams' });
    const allowed = new Set<string>(TELEMETRY_ATTRIBUTES);
    const spans = ingestion.items.filter((i) => i.data?.baseType === 'RequestData' || i.data?.baseType === 'RemoteDependencyData');
    const names = spans.flatMap((i) => Object.keys(i.data?.baseData?.properties ?? {})).filter((n) => !n.startsWith('_MS.') && !n.startsWith('microsoft.'));
    expect(names.filter((n) => !allowed.has(n))).toEqual([]);
    for (const body of ingestion.bodies) expect(body).not.toContain(TEST_LAB_SECRET);
  });

  it('OTEL_SDK_DISABLED=true wins over a configured endpoint', async () => {
    const { modules } = await modulesOfAStartedBot({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' });
    expect(modules.filter((m) => SDK_MODULE.test(m))).toEqual([]);
  });
});

/** The spans of one trace, with helpers to walk it. */
function traceOf(receiver: OtlpReceiver, traceId: string) {
  const spans = receiver.spans.filter((s) => s.traceId === traceId);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const parentOf = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
  const isUnder = (s: ReceivedSpan, ancestor: ReceivedSpan): boolean => {
    for (let p = parentOf(s); p; p = parentOf(p)) if (p.spanId === ancestor.spanId) return true;
    return false;
  };
  const named = (name: string | RegExp, under?: ReceivedSpan) => spans.filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)) && (!under || isUnder(s, under)));
  const one = (name: string | RegExp, under?: ReceivedSpan) => {
    const found = named(name, under);
    expect(found.length, `a span ${String(name)}${under ? ` under ${under.name}` : ''} in ${spans.map((s) => s.name).join(', ')}`).toBeGreaterThan(0);
    return found[0]!;
  };
  return { spans, parentOf, isUnder, named, one, root: spans.find((s) => !s.parentSpanId) };
}

/** A trace as an indented tree: name, duration, attributes, links. */
function treeOf(trace: ReturnType<typeof traceOf>): string {
  const lines: string[] = [`trace ${trace.root?.traceId}`];
  const walk = (span: ReceivedSpan, depth: number) => {
    const ms = Number((BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1000n) / 1000;
    const attrs = Object.entries(span.attributes).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    const links = span.links.map((l) => ` link→${l.traceId.slice(0, 8)}…`).join('');
    lines.push(`${'  '.repeat(depth)}${span.name} ${ms.toFixed(1)} ms${attrs ? `  ${attrs}` : ''}${links}`);
    for (const child of trace.spans.filter((s) => s.parentSpanId === span.spanId).sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1))) walk(child, depth + 1);
  };
  if (trace.root) walk(trace.root, 1);
  return lines.join('\n');
}

function revealedPassword(activity: Record<string, unknown>): string {
  const card = (activity.attachments as { content: { actions?: { type: string; card?: { body?: { text?: string }[] } }[] } }[])[0]!.content;
  return card.actions?.find((a) => a.type === 'Action.ShowCard')?.card?.body?.[0]?.text ?? '';
}

describe('traces over OTLP/HTTP, from the real bot process', () => {
  it('exports the trace of one alert from poll to posted card, and of one approval from invoke to threaded result (LDAP spans included), with no secret anywhere', async (ctx) => {
    requireSamba(ctx);
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const probe = probeFile();
    const p = await h.person('e2eotel', { okta: true });
    h.alert([p.entra]);
    const bot: TestBot = await h.startBotProcess({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'incident-bot-e2e',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      NODE_OPTIONS: `--import ${PROBE}`,
      MODULE_PROBE_FILE: probe,
    });
    let stopped = false;
    try {
      const card = await h.waitForCard(bot, p.sam);
      const alertKey = String(cardButtons(card.record.activity?.attachments).find((b) => b.data.action === 'reset-password')?.data.alertKey ?? '');
      expect(alertKey).not.toBe('');

      // Four eyes: Alice, then Bob completes the round; the reset runs against Samba.
      await h.click(bot, card, 'reset-password', ALICE_USER);
      await h.click(bot, card, 'reset-password', BOB_USER);
      await h.waitFor('the reset result in the thread', () => h.threadTexts(card).find((t) => t.startsWith('Reset')));
      const conversation = `a:1${Buffer.from(BOB_USER.id).toString('base64url')}`;
      const delivered = await h.waitFor('the password sent to Bob', () =>
        h.connector.sent.find((r) => r.kind === 'send' && r.conversationId === conversation && JSON.stringify(r.activity ?? {}).includes('Reveal password')),
      );
      const password = revealedPassword((delivered.activity ?? {}) as Record<string, unknown>);
      expect(password.length).toBeGreaterThanOrEqual(12);

      // A lookup fans out to AD, Entra and Okta: its trace has the Okta call too.
      expect((await h.say(bot, ALICE_USER, `lookup ${h.samba.domain}\\${p.sam}`)).status).toBe(200);
      await h.waitFor('the lookup card', () => h.connector.sent.find((r) => r.kind !== 'update' && JSON.stringify(r.activity ?? {}).includes(`E2E ${p.sam}`) && Array.isArray(r.activity?.attachments)));

      // A clean stop flushes what the batch processor and the metric reader still hold.
      await bot.stop();
      stopped = true;
      expect(receiver.refused).toEqual([]);

      // (a) The alert: one trace from the notifier cycle through the poll of Graph to the posted card.
      const post = receiver.spans.find((s) => s.name === 'notifier.post' && s.attributes['incident.alert.key'] === alertKey);
      expect(post, 'the notifier.post span of the alert').toBeDefined();
      const alertTrace = traceOf(receiver, post!.traceId);
      expect(alertTrace.root?.name).toBe('notifier.cycle');
      expect(alertTrace.root?.resource['service.name']).toBe('incident-bot-e2e');
      const poll = alertTrace.one('notifier.poll', alertTrace.root);
      expect(poll.attributes['incident.alert.source']).toBe('graph');
      const fetch = alertTrace.one('notifier.fetch', poll);
      const graphCall = alertTrace.one('graph.request', fetch);
      expect(graphCall.kind).toBe(SPAN_KIND.CLIENT);
      expect(graphCall.attributes['http.response.status_code']).toBe(200);
      expect(String(graphCall.attributes['url.full'])).toMatch(/\/v1\.0\/security\/alerts_v2$/);
      const stored = alertTrace.one('notifier.store', poll);
      expect(Number(stored.attributes['incident.alerts.created'])).toBeGreaterThanOrEqual(1);
      expect(alertTrace.isUnder(post!, alertTrace.root!)).toBe(true);
      const startThread = alertTrace.one('teams.startThread', post);
      const connectorCall = alertTrace.one('bot_connector.request', startThread);
      expect(connectorCall.kind).toBe(SPAN_KIND.CLIENT);
      expect(connectorCall.attributes['http.response.status_code']).toBe(201);
      // The poll comes before the post, the post ends before the cycle.
      expect(BigInt(poll.startTimeUnixNano) <= BigInt(post!.startTimeUnixNano)).toBe(true);
      expect(BigInt(post!.endTimeUnixNano) <= BigInt(alertTrace.root!.endTimeUnixNano)).toBe(true);

      // (b) The approval: the completing click's trace, from the invoke to the threaded result.
      const anchor = alertAnchor(alertKey);
      const remediationRun = receiver.spans.find((s) => s.name === 'remediation.run' && s.attributes['incident.action'] === 'reset-password');
      expect(remediationRun, 'the remediation.run span of the reset').toBeDefined();
      const click = traceOf(receiver, remediationRun!.traceId);
      expect(click.root?.name).toBe('bot.activity');
      expect(click.root?.kind).toBe(SPAN_KIND.SERVER);
      expect(click.root?.attributes).toMatchObject({ 'incident.activity.type': 'invoke', 'incident.activity.name': 'adaptiveCard/action', 'incident.channel': 'msteams' });
      const vote = click.one('approval.vote', click.root);
      expect(vote.attributes).toMatchObject({ 'incident.action': 'reset-password', 'incident.alert.key': alertKey });
      const gate = click.one('approval.gate', vote);
      const inspect = click.one('remediation.inspect', gate);
      expect(click.named(/^ldap /, inspect).length).toBeGreaterThan(0);
      const run = click.one('approval.run', click.root);
      const remediation = click.one('remediation.run', run);
      expect(remediation.attributes).toMatchObject({ 'incident.system': 'activeDirectory', 'incident.action': 'reset-password', 'incident.dry_run': false });
      const ldapReset = click.one('ldap resetPassword', remediation);
      expect(ldapReset.kind).toBe(SPAN_KIND.CLIENT);
      expect(ldapReset.attributes['ldap.operation']).toBe('resetPassword');
      expect(click.one('ldap.bind', ldapReset).attributes['server.address']).toBe(new URL(h.samba.ldapUrl).hostname);
      expect(click.one('ldap.modify', ldapReset).status.code ?? 0).not.toBe(2);
      // The result: the card updated for everyone and the line in the thread, both under the run.
      const announced = click.named('approval.announce', run);
      expect(announced.map((s) => s.attributes['incident.card.kind']).sort()).toEqual(['card', 'thread']);
      expect(click.one('teams.update', announced.find((s) => s.attributes['incident.card.kind'] === 'card')).status.code ?? 0).not.toBe(2);
      const reply = click.one('teams.reply', announced.find((s) => s.attributes['incident.card.kind'] === 'thread'));
      expect(click.one('bot_connector.request', reply).attributes['http.response.status_code']).toBeLessThan(300);
      // The 1:1 chat of the password is `private`, naming nobody.
      expect(click.named('teams.sendPrivate', run).map((s) => s.attributes['incident.conversation'])).toEqual(['private']);
      for (const span of click.spans) expect(STATUS_OK_OR_UNSET, `${span.name} status`).toContain(span.status.code);

      // The lookup: a message activity whose trace reaches LDAP, Graph and Okta (OAuth token and Users API).
      const okta = receiver.spans.find((s) => s.name === 'okta.request' && String(s.attributes['url.full']).includes('/api/v1/users/'));
      expect(okta, 'an Okta Users API span').toBeDefined();
      const lookup = traceOf(receiver, okta!.traceId);
      expect(lookup.root?.attributes).toMatchObject({ 'incident.activity.type': 'message' });
      expect(lookup.named('okta.request').map((s) => new URL(String(s.attributes['url.full'])).pathname)).toContain('/oauth2/v1/token');
      expect(lookup.named(/^ldap /).length).toBeGreaterThan(0);
      expect(lookup.named('graph.request').length).toBeGreaterThan(0);

      // The link: the alert's post and the approval's vote and run all point to the alert's anchor.
      for (const span of [post!, vote, run]) expect(span.links.map((l) => [l.traceId, l.spanId])).toContainEqual([anchor.traceId, anchor.spanId]);

      // Logs carry trace_id/span_id: the "alert card posted" line is in the alert's trace.
      const posted = bot
        .output()
        .split('\n')
        .filter((l) => l.includes('"alert card posted"'))
        .map((l) => JSON.parse(l) as { trace_id?: string; span_id?: string });
      expect(posted.map((l) => l.trace_id)).toContain(post!.traceId);

      // Metrics arrived too.
      const metricNames = new Set(receiver.metrics.map((m) => m.name));
      for (const name of ['incident_bot.alerts.seen', 'incident_bot.alerts.posted', 'incident_bot.cards.posted', 'incident_bot.alert_to_card', 'incident_bot.action.duration', 'incident_bot.approvals', 'incident_bot.click_to_result', 'incident_bot.teams.pacer.wait']) {
        expect(metricNames, name).toContain(name);
      }
      const durations = receiver.metrics.filter((m) => m.name === 'incident_bot.action.duration').flatMap((m) => m.points);
      expect(durations).toContainEqual({ 'incident.system': 'activeDirectory', 'incident.action': 'reset-password', 'incident.outcome': 'succeeded' });
      const approvals = receiver.metrics.filter((m) => m.name === 'incident_bot.approvals').flatMap((m) => m.points);
      expect(approvals).toContainEqual({ 'incident.action': 'reset-password', 'incident.outcome': 'approved' });
      expect(approvals).toContainEqual({ 'incident.action': 'reset-password', 'incident.outcome': 'succeeded' });

      // No secret in anything exported: the temporary password of this reset, every access token
      // the Entra stand-in issued to the bot, the client secret, the LDAP and Okta credentials,
      // the lab secret. Checked on the raw bodies (attributes, links, resource, everything).
      const tokens = h.tokens.issued.map((t) => t.accessToken);
      expect(tokens.length).toBeGreaterThan(0);
      const secrets = [password, ...tokens, ...h.secrets, TEST_LAB_SECRET];
      expect(receiver.bodies.length).toBeGreaterThan(1);
      for (const body of receiver.bodies) for (const secret of secrets) expect(body.includes(secret), `a secret (${secret.slice(0, 3)}…) in an export`).toBe(false);
      // And every span attribute is an allow-listed one, every URL without a query string.
      const allowed = new Set<string>(TELEMETRY_ATTRIBUTES);
      const names = new Set(receiver.spans.flatMap((s) => Object.keys(s.attributes)));
      expect([...names].filter((n) => !allowed.has(n))).toEqual([]);
      const urls = receiver.spans.map((s) => s.attributes['url.full']).filter((u): u is string => typeof u === 'string');
      expect(urls.length).toBeGreaterThan(0);
      expect(urls.filter((u) => u.includes('?'))).toEqual([]);

      // TELEMETRY_TRACE_DUMP=<file>: the two traces as an indented tree (the README's example).
      if (process.env.TELEMETRY_TRACE_DUMP) writeFileSync(process.env.TELEMETRY_TRACE_DUMP, [treeOf(alertTrace), treeOf(click)].join('\n\n'));

      // This process loaded the OTLP/HTTP exporter (the probe sees what was configured).
      expect(loadedModules(probe).some((m) => m.includes('/node_modules/@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
    } finally {
      if (!stopped) await bot.stop();
    }
  }, 90_000);
});
