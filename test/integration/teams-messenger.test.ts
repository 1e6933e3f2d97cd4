import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBotAdapter, type GuardedCloudAdapter } from '../../src/bot/bot-adapter.ts';
import { channelOf, channelReferenceFromActivity, channelReferenceFromSettings, parseConversationReference, rootActivityIdOf, threadConversationIdOf } from '../../src/bot/conversation-reference.ts';
import { createOutboundPacer } from '../../src/bot/outbound-pacer.ts';
import { ADAPTIVE_CARD_CONTENT_TYPE, createTeamsMessenger, parseRetryAfter, toActivity, type TeamsMessengerDeps } from '../../src/bot/teams-messenger.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { ConversationReferenceJson, Messenger, ThreadRef } from '../../src/domain/ports/messenger.ts';
import { channelMention } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, TEAMS_RATE_LIMITS, type BotConnectorServer } from '../../sim/teams/bot-connector-server.ts';
import { appError } from '../support/failures.ts';
import { captureLogger, type CapturedLogger } from '../../sim/harness/log-capture.ts';

// The real CloudAdapter (auth off, as createBotAdapter builds it) against the local HTTPS
// connector stand-in: every post, reply, update, fault and rate-limit refusal is the connector's record.

const CHANNEL = '19:incidents-0000@thread.tacv2';
const TENANT = '11111111-2222-3333-4444-555555555555';
const BOT_APP_ID = 'local-bot';

let connector: BotConnectorServer;
let adapter: GuardedCloudAdapter;
let log: CapturedLogger;

function card(title: string): Record<string, unknown> {
  return { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: title }] };
}

function channelRef(serviceUrl = connector.serviceUrl, channelId = CHANNEL): ConversationReferenceJson {
  return channelReferenceFromSettings({ channelId, serviceUrl, tenantId: TENANT, botAppId: BOT_APP_ID, botName: 'Incident Bot' });
}

function messenger(overrides: Partial<TeamsMessengerDeps> = {}): Messenger {
  return createTeamsMessenger({ adapter, botAppId: BOT_APP_ID, logger: log.logger, timeoutMs: 5000, retry: { baseDelayMs: 50 }, ...overrides });
}

beforeAll(async () => {
  connector = await startBotConnectorServer();
  log = captureLogger();
  adapter = createBotAdapter({ config: loadConfig({ BOT_AUTH: 'off', ALERT_SOURCES: 'none' }), logger: log.logger });
});

afterAll(async () => {
  await connector?.close();
});

beforeEach(() => {
  connector.reset();
  connector.rateLimits = undefined;
});

describe('Teams messenger: posting, replying, updating', () => {
  it('starts a thread in the channel: one create with the channel id, Teams-shaped ids back', async () => {
    const thread = await messenger().startThread(channelRef(), { card: card('Alert 1'), summary: 'High: suspected DCSync by alice' });
    expect(thread.rootActivityId).toMatch(/^\d{13,}$/);
    expect(thread).toEqual({ channel: channelRef(), conversationId: CHANNEL, threadConversationId: `${CHANNEL};messageid=${thread.rootActivityId}`, rootActivityId: thread.rootActivityId });
    expect(connector.sent).toHaveLength(1);
    expect(connector.sent[0]).toMatchObject({ kind: 'create', channelId: CHANNEL, conversationId: thread.threadConversationId, activityId: thread.rootActivityId, targeted: false });
    expect(connector.sent[0]!.activity).toMatchObject({
      type: 'message',
      summary: 'High: suspected DCSync by alice',
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: { body: [{ text: 'Alert 1' }] } }],
    });
    expect(connector.cardsPosted(CHANNEL)).toHaveLength(1);
  });

  it('replies in the thread and updates the root card for everyone', async () => {
    const m = messenger();
    const thread = await m.startThread(channelRef(), { card: card('Alert 2'), summary: 'Alert 2' });
    const posted = await m.reply(thread, { text: 'Alice approved: disable account' });
    await m.update(thread.channel, thread.conversationId, thread.rootActivityId, { card: card('Alert 2 (approved)'), summary: 'Alert 2 approved' });

    const replies = connector.repliesIn(thread.rootActivityId);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ conversationId: thread.threadConversationId, activityId: posted.activityId });
    expect(replies[0]!.activity).toMatchObject({ type: 'message', text: 'Alice approved: disable account' });
    expect(posted).toEqual({ conversationId: thread.threadConversationId, activityId: replies[0]!.activityId });

    expect(connector.updatesFor(thread.rootActivityId)).toHaveLength(1);
    expect(connector.currentActivity(thread.rootActivityId)).toMatchObject({ summary: 'Alert 2 approved', attachments: [{ content: { body: [{ text: 'Alert 2 (approved)' }] } }] });
    expect(connector.sent.map((r) => r.kind)).toEqual(['create', 'reply', 'update']);
  });

  it('works with a reference built from an inbound "subscribe" mention in a thread', async () => {
    const mention = channelMention({ serviceUrl: connector.serviceUrl, botAppId: BOT_APP_ID }, { command: 'subscribe' });
    const inThread = { ...mention, conversation: { ...mention.conversation, id: `${CHANNEL};messageid=1732000000000` } };
    const reference = channelReferenceFromActivity(inThread as Parameters<typeof channelReferenceFromActivity>[0]);
    expect(parseConversationReference(reference).conversation.id).toBe(CHANNEL);
    const thread = await messenger().startThread(reference, { text: 'Subscribed: alerts will be posted here.' });
    expect(connector.sent[0]).toMatchObject({ kind: 'create', channelId: CHANNEL });
    expect(connector.sent[0]!.activity).toMatchObject({ type: 'message', text: 'Subscribed: alerts will be posted here.' });
    expect(thread.conversationId).toBe(CHANNEL);
  });

  it('a 404 on update (unknown activity) is a typed NOT_FOUND error, not retried', async () => {
    const putsBefore = connector.requests.filter((r) => r.method === 'PUT').length;
    const error = await appError(messenger().update(channelRef(), CHANNEL, '1111111111111', { text: 'x' }));
    expect(error.code).toBe('UPSTREAM_NOT_FOUND');
    expect(error.details).toMatchObject({ status: 404, attempts: 1, operation: 'update', vendorCode: 'ActivityNotFoundInConversation' });
    expect(connector.requests.filter((r) => r.method === 'PUT')).toHaveLength(putsBefore + 1);
  });
});

describe('Teams messenger: retries', () => {
  it('retries a 429 after its Retry-After (1 s) and posts exactly once', async () => {
    connector.faults.push({ status: 429, retryAfterSeconds: 1, times: 1, kinds: ['create'] });
    const started = Date.now();
    const thread = await messenger().startThread(channelRef(), { card: card('throttled once'), summary: 'x' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(3000);
    expect(connector.rejected.map((r) => `${r.kind} ${r.status}`)).toEqual(['create 429']);
    expect(connector.sent.filter((r) => r.kind === 'create')).toHaveLength(1);
    expect(connector.sent[0]!.activityId).toBe(thread.rootActivityId);
  });

  it('gives up after the bounded attempts with UPSTREAM_THROTTLED: botbuilder adds no hidden retries', async () => {
    connector.faults.push({ status: 429, retryAfterSeconds: 0, times: 50, kinds: ['reply'] });
    const m = messenger({ retry: { maxAttempts: 3, baseDelayMs: 10 } });
    const thread = await m.startThread(channelRef(), { text: 'root' });
    const error = await appError(m.reply(thread, { text: 'never lands' }));
    expect(error.code).toBe('UPSTREAM_THROTTLED');
    expect(error.details).toMatchObject({ status: 429, attempts: 3, operation: 'reply', conversationId: thread.threadConversationId });
    // Exactly 3 requests reached the connector (with botbuilder's own policy left in: 3 × 4 = 12).
    expect(connector.rejected).toHaveLength(3);
    expect(connector.repliesIn(thread.rootActivityId)).toHaveLength(0);
  });

  it('does not retry a 403: one request, typed UPSTREAM_FORBIDDEN carrying the status', async () => {
    connector.faults.push({ status: 403, times: 5, kinds: ['create'] });
    const error = await appError(messenger().startThread(channelRef(), { text: 'forbidden' }));
    expect(error.code).toBe('UPSTREAM_FORBIDDEN');
    expect(error.details).toMatchObject({ status: 403, attempts: 1, operation: 'startThread' });
    expect(connector.rejected).toHaveLength(1);
    expect(connector.sent).toHaveLength(0);
  });

  it('does not retry a 400 either (UPSTREAM_ERROR)', async () => {
    connector.faults.push({ status: 400, times: 5 });
    const error = await appError(messenger().startThread(channelRef(), { text: 'bad' }));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', details: { status: 400, attempts: 1 } });
    expect(connector.rejected).toHaveLength(1);
  });

  it.each([412, 502, 504])('retries %i with exponential backoff and posts once', async (status) => {
    const m = messenger({ retry: { baseDelayMs: 100 } });
    const thread = await m.startThread(channelRef(), { text: 'root' });
    connector.faults.push({ status, times: 2, kinds: ['reply'] });
    const started = Date.now();
    await m.reply(thread, { text: `after ${status}` });
    // Backoff of attempt 1 is in [50, 100] ms, of attempt 2 in [100, 200] ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(connector.rejected.map((r) => r.status)).toEqual([status, status]);
    expect(connector.repliesIn(thread.rootActivityId).map((r) => r.activity?.text)).toEqual([`after ${status}`]);
  });

  it('a lone 429 holds its own conversation (the channel, all its threads) for the Retry-After, not the other channels', async () => {
    const m = messenger();
    const OTHER = '19:other-0000@thread.tacv2';
    const [a, sibling, b] = [await m.startThread(channelRef(), { text: 'a' }), await m.startThread(channelRef(), { text: 'a2' }), await m.startThread(channelRef(connector.serviceUrl, OTHER), { text: 'b' })];
    connector.faults.push({ status: 429, retryAfterSeconds: 1, times: 1, kinds: ['reply'] });
    const started = Date.now();
    const retriesBefore = log.lines().filter((l) => l.msg === 'Teams call failed; retrying').length;
    const throttled = m.reply(a, { text: 'throttled' }).then(() => Date.now() - started);
    // Once the messenger has heard the 429 and paused for it.
    await waitUntil(() => log.lines().filter((l) => l.msg === 'Teams call failed; retrying').length > retriesBefore);
    const other = Date.now();
    const siblingDone = m.reply(sibling, { text: 'waits with its channel' }).then(() => Date.now() - other);
    await m.reply(b, { text: 'goes at once' });
    expect(Date.now() - other).toBeLessThan(500);
    expect(await throttled).toBeGreaterThanOrEqual(1000);
    // Teams counts the channel as one conversation: its other thread waited for the Retry-After too.
    expect(await siblingDone).toBeGreaterThanOrEqual(700);
    expect(connector.rejected.map((r) => r.conversationId)).toEqual([a.threadConversationId]);
  });

  it('429s in several conversations at once (the app throttled) hold every conversation, for at most a second', async () => {
    const m = messenger();
    const threads: ThreadRef[] = [];
    for (let i = 0; i < 4; i++) threads.push(await m.startThread(channelRef(connector.serviceUrl, `19:busy-${i}@thread.tacv2`), { text: `t${i}` }));
    connector.faults.push({ status: 429, retryAfterSeconds: 3, times: 3, kinds: ['reply'] });
    const retriesBefore = log.lines().filter((l) => l.msg === 'Teams call failed; retrying' && l.operation === 'reply').length;
    const throttled = Promise.all(threads.slice(0, 3).map((t) => m.reply(t, { text: 'throttled' })));
    // Once the messenger has heard all three (the connector records them before they are answered).
    await waitUntil(() => log.lines().filter((l) => l.msg === 'Teams call failed; retrying' && l.operation === 'reply').length >= retriesBefore + 3);
    const other = Date.now();
    await m.reply(threads[3]!, { text: 'held with the others' });
    const held = Date.now() - other;
    expect(held).toBeGreaterThanOrEqual(700);
    expect(held).toBeLessThan(2000);
    await throttled;
    expect(connector.rejected).toHaveLength(3);
  });

  it('keeps the order of messages in a thread when one of them is retried', async () => {
    const m = messenger();
    const thread = await m.startThread(channelRef(), { text: 'root' });
    connector.faults.push({ status: 429, retryAfterSeconds: 1, times: 1, kinds: ['reply'] });
    await Promise.all(['first', 'second', 'third'].map((text) => m.reply(thread, { text })));
    expect(connector.repliesIn(thread.rootActivityId).map((r) => r.activity?.text)).toEqual(['first', 'second', 'third']);
  });
});

describe('Teams messenger: connection failures and timeouts', () => {
  let proxy: Server;
  let proxyUrl: string;
  let mode: { resetNext: number; hang: boolean };
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    // Between the bot and the connector: drops connections or never answers, on demand.
    proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        if (mode.resetNext > 0) {
          mode.resetNext--;
          req.socket.destroy();
          return;
        }
        if (mode.hang) {
          held.push(res);
          return;
        }
        const upstream = await fetch(`${connector.url}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: chunks.length ? Buffer.concat(chunks) : undefined });
        res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
        res.end(Buffer.from(await upstream.arrayBuffer()));
      })();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`;
  });

  beforeEach(() => {
    mode = { resetNext: 0, hang: false };
  });

  afterAll(async () => {
    for (const res of held) res.destroy();
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('retries after the connection is reset, and posts once', async () => {
    mode.resetNext = 2;
    const thread = await messenger().startThread(channelRef(proxyUrl), { text: 'through resets' });
    expect(connector.sent).toHaveLength(1);
    expect(connector.sent[0]).toMatchObject({ kind: 'create', activityId: thread.rootActivityId });
    expect(log.lines().filter((l) => l.msg === 'Teams call failed; retrying' && l.failure === 'ECONNRESET').length).toBeGreaterThanOrEqual(2);
  });

  it('times out a post that gets no answer, without a second (possibly duplicate) post', async () => {
    mode.hang = true;
    const started = Date.now();
    const error = await appError(messenger({ timeoutMs: 400 }).startThread(channelRef(proxyUrl), { text: 'into the void' }));
    expect(error).toMatchObject({ code: 'TIMEOUT', details: { scope: 'attempt', attempts: 1, operation: 'startThread' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(held).toHaveLength(1);
  });

  it('retries an update that timed out (a PUT is safe to repeat), up to the attempt bound', async () => {
    mode.hang = true;
    held.length = 0;
    const error = await appError(messenger({ timeoutMs: 200, retry: { maxAttempts: 2, baseDelayMs: 10 } }).update(channelRef(proxyUrl), CHANNEL, '1111111111111', { text: 'x' }));
    expect(error).toMatchObject({ code: 'TIMEOUT', details: { attempts: 2, operation: 'update' } });
    expect(held).toHaveLength(2);
  });

  it('a deadline bounds the whole call, waiting for the pacer included', async () => {
    const pacer = createOutboundPacer({ perConversation: [{ limit: 1, windowMs: 60_000 }] });
    const m = messenger({ pacer, deadlineMs: 300 });
    await m.startThread(channelRef(), { text: 'uses the only slot' });
    const error = await appError(m.startThread(channelRef(), { text: 'waits past the deadline' }));
    expect(error).toMatchObject({ code: 'TIMEOUT', details: { operation: 'startThread', attempts: 0 } });
    expect(connector.sent).toHaveLength(1);
    expect(pacer.stats().waiting).toBe(0);
  });
});

describe('Teams messenger: pacing against enforced Teams limits', () => {
  it('posts 150 replies into 3 threads and 100 new threads with zero 429s, each exactly once', { timeout: 90_000 }, async () => {
    const m = messenger({ pacer: createOutboundPacer({ maxInFlightPerKey: 1 }) });
    const threads: ThreadRef[] = [];
    // Each busy thread in its own channel: Teams counts a channel with all its threads as one conversation.
    for (let i = 0; i < 3; i++) threads.push(await m.startThread(channelRef(connector.serviceUrl, `19:busy-${i}@thread.tacv2`), { text: `busy thread ${i}` }));
    connector.reset();
    connector.rateLimits = TEAMS_RATE_LIMITS;

    const channels = Array.from({ length: 20 }, (_, i) => `19:alerts-${String(i).padStart(2, '0')}@thread.tacv2`);
    const started = Date.now();
    const replies = threads.flatMap((thread, t) => Array.from({ length: 50 }, (_, i) => m.reply(thread, { text: `t${t} reply ${i}` })));
    const creates = Array.from({ length: 100 }, (_, i) => m.startThread(channelRef(connector.serviceUrl, channels[i % 20]), { card: card(`alert ${i}`), summary: `alert ${i}` }));
    const results = await Promise.allSettled([...replies, ...creates]);
    const seconds = (Date.now() - started) / 1000;

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(connector.rejected).toEqual([]);
    expect(connector.sent).toHaveLength(250);
    const texts = connector.sent.filter((r) => r.kind === 'reply').map((r) => String(r.activity?.text));
    expect(new Set(texts).size).toBe(150);
    for (const [t, thread] of threads.entries()) {
      // One request in flight per thread: replies land in the order they were asked for.
      expect(connector.repliesIn(thread.rootActivityId).map((r) => r.activity?.text)).toEqual(Array.from({ length: 50 }, (_, i) => `t${t} reply ${i}`));
    }
    const titles = connector.sent.filter((r) => r.kind === 'create').map((r) => JSON.stringify(r.activity?.attachments));
    expect(new Set(titles).size).toBe(100);
    // 50 per busy channel at 8 per 2 s cannot take less than 12 s.
    expect(seconds).toBeGreaterThanOrEqual(11.5);
    const rate = (250 / seconds).toFixed(1);
    const perThread = (50 / seconds).toFixed(2);
    console.info(`[pacing] 250 calls (150 replies in 3 threads + 100 new threads in 20 channels) in ${seconds.toFixed(1)} s: ${rate}/s overall, ${perThread}/s per busy thread, 0 rejected`);
  });
});

describe('Teams messenger: a card update and the thread go side by side', () => {
  it('an update of the root card does not queue behind the replies of its thread', async () => {
    const m = messenger();
    const thread = await m.startThread(channelRef(), { card: card('Alert side by side'), summary: 'x' });
    // Three replies keep their order (one in flight per thread); the update has its own queue.
    await Promise.all([
      m.reply(thread, { text: 'first' }),
      m.reply(thread, { text: 'second' }),
      m.reply(thread, { text: 'third' }),
      m.update(thread.channel, thread.conversationId, thread.rootActivityId, { card: card('Alert side by side (approved)'), summary: 'approved' }),
    ]);
    const kinds = connector.sent.slice(1).map((r) => (r.kind === 'update' ? 'update' : String(r.activity?.text)));
    expect(kinds.filter((k) => k !== 'update')).toEqual(['first', 'second', 'third']);
    expect(kinds.indexOf('update')).toBeLessThan(kinds.indexOf('third'));
    expect(connector.currentActivity(thread.rootActivityId)).toMatchObject({ summary: 'approved' });
  });

  it('updates of one card that wait for the budget are sent once, with the newest content, and every caller settles', async () => {
    // One call per 400 ms in the conversation: the updates below must wait behind the reply.
    const pacer = createOutboundPacer({ perConversation: [{ limit: 1, windowMs: 400 }], maxInFlightPerKey: 1 });
    const m = messenger({ pacer });
    const thread = await m.startThread(channelRef(), { card: card('Alert coalesced'), summary: 'x' });
    const reply = m.reply(thread, { text: 'Alice approved' });
    const updates = ['running', 'still running', 'done'].map((state) => m.update(thread.channel, thread.conversationId, thread.rootActivityId, { card: card(`Alert coalesced (${state})`), summary: state }));
    await Promise.all([reply, ...updates]);
    const puts = connector.updatesFor(thread.rootActivityId);
    expect(puts).toHaveLength(1);
    expect(connector.currentActivity(thread.rootActivityId)).toMatchObject({ summary: 'done', attachments: [{ content: { body: [{ text: 'Alert coalesced (done)' }] } }] });
    // An update asked after the last one went out is a request of its own.
    await m.update(thread.channel, thread.conversationId, thread.rootActivityId, { card: card('Alert coalesced (undone)'), summary: 'undone' });
    expect(connector.updatesFor(thread.rootActivityId)).toHaveLength(2);
    expect(connector.currentActivity(thread.rootActivityId)).toMatchObject({ summary: 'undone' });
  });
});

describe('Teams messenger: limits per conversation', () => {
  it('40 threads in one channel: new threads, replies and updates share the channel\'s budget, and the connector refuses nothing', { timeout: 60_000 }, async () => {
    const m = messenger({ pacer: createOutboundPacer({ maxInFlightPerKey: 1 }) });
    connector.rateLimits = TEAMS_RATE_LIMITS;
    const started = Date.now();
    // As an alert storm does it: every thread posts its root, then its follow-ups at once.
    const work = Array.from({ length: 40 }, async (_, i) => {
      const thread = await m.startThread(channelRef(), { card: card(`alert ${i}`), summary: `alert ${i}` });
      if (i < 12) await m.reply(thread, { text: `more about ${i}` });
      else if (i < 20) await m.update(thread.channel, thread.threadConversationId, thread.rootActivityId, { card: card(`alert ${i} (updated)`), summary: `alert ${i}` });
      return thread;
    });
    const results = await Promise.allSettled(work);
    const seconds = (Date.now() - started) / 1000;
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(connector.rejected).toEqual([]);
    const threads = new Set(connector.sent.filter((r) => r.kind === 'create').map((r) => r.conversationId));
    expect(threads.size).toBe(40);
    expect(connector.sent.filter((r) => r.kind === 'reply')).toHaveLength(12);
    expect(connector.sent.filter((r) => r.kind === 'update')).toHaveLength(8);
    // 60 calls on one conversation at 8 per 2 s cannot take less than 14 s (7 + 1 per 2 s, then 7 more).
    expect(seconds).toBeGreaterThanOrEqual(13.5);
    console.info(`[pacing] 40 threads in one channel (40 roots, 12 replies, 8 updates) in ${seconds.toFixed(1)} s, 0 rejected`);
  });
});

describe('conversation references and message shapes', () => {
  it('builds, parses and splits Teams ids', () => {
    const ref = channelRef('https://smba.trafficmanager.net/emea/');
    expect(ref).toEqual({
      channelId: 'msteams',
      serviceUrl: 'https://smba.trafficmanager.net/emea/',
      conversation: { id: CHANNEL, isGroup: true, conversationType: 'channel', name: '', tenantId: TENANT },
      bot: { id: `28:${BOT_APP_ID}`, name: 'Incident Bot' },
    });
    const thread = threadConversationIdOf(CHANNEL, '1732000000001');
    expect(thread).toBe(`${CHANNEL};messageid=1732000000001`);
    expect(rootActivityIdOf(thread)).toBe('1732000000001');
    expect(rootActivityIdOf(CHANNEL)).toBeUndefined();
    expect(channelOf(thread)).toBe(CHANNEL);
    expect(() => parseConversationReference({ serviceUrl: 'https://x/' })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() => parseConversationReference({ serviceUrl: 'ftp://x/', conversation: { id: CHANNEL } })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() => channelReferenceFromSettings({ channelId: 'a:1chat', serviceUrl: 'https://x/' })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });

  it('refuses to subscribe a personal chat', () => {
    const mention = channelMention({ serviceUrl: 'https://x/', botAppId: BOT_APP_ID }, { command: 'subscribe' });
    expect(() => channelReferenceFromActivity({ ...mention, conversation: { id: 'a:1chat', conversationType: 'personal' } } as never)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter('2.5', now)).toBe(2500);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('shapes card and text messages', () => {
    expect(toActivity({ card: card('c'), summary: 'notify me' })).toEqual({ type: 'message', attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card('c') }], summary: 'notify me' });
    expect(toActivity({ text: 'hello' })).toEqual({ type: 'message', text: 'hello', textFormat: 'markdown' });
    expect(() => toActivity({})).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
