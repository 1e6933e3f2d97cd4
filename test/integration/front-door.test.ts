import { gzipSync } from 'node:zlib';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_SECRET_HEADER } from '../../src/http/front-door.ts';
import { createHttpServer, type HttpServer } from '../../src/http/server.ts';
import { startTestBot } from '../support/test-bot.ts';
import { labJsonHeaders, TEST_LAB_SECRET } from '../support/lab-secret.ts';
import { rawPost } from '../support/raw-http.ts';
import { captureLogger } from '../../sim/harness/log-capture.ts';
import { startLabFront, type LabFront } from '../../lab/lab-front.ts';

/**
 * Issue 11, the front door of /api/messages, attacked through the real HTTP server before any
 * token is checked: compression bombs, multipart uploads, cross-site forms, bodies over the cap
 * (declared and streamed), slow bodies, and many large bodies at once. Each must be refused from
 * its headers or while it streams, without inflating, storing or buffering the rest.
 */

// restify's bodyParser wrote multipart uploads to os.tmpdir(): watch a folder of our own.
const watchedTmp = mkdtempSync(join(tmpdir(), 'ib-front-door-tmp-'));
process.env.TMPDIR = watchedTmp;

const rssMb = () => process.memoryUsage.rss() / 2 ** 20;

/** Samples RSS every few ms while `work` runs; resolves with the work's result and the peak growth. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
  const start = rssMb();
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 2);
  try {
    const result = await work();
    peak = Math.max(peak, rssMb());
    // The figure, for whoever reads the run (the assertions are what count).
    process.stdout.write(`front door: peak RSS growth ${(peak - start).toFixed(1)} MB (from ${start.toFixed(0)} MB)\n`);
    return { result, growthMb: peak - start };
  } finally {
    clearInterval(sampler);
  }
}

function activity(id: string, serviceUrl = 'http://127.0.0.1:9/'): Record<string, unknown> {
  return { type: 'event', name: 'front-door-probe', id, channelId: 'msteams', serviceUrl, from: { id: '29:probe' }, recipient: { id: '28:bot' }, conversation: { id: 'a:probe' } };
}

describe('the front door of a running bot (BOT_AUTH=off, lab secret sent: only the body rules decide)', () => {
  let bot: Awaited<ReturnType<typeof startTestBot>>;
  const turns = () => bot.log.lines().filter((l) => l.msg === 'turn').map((l) => String(l.turn));
  const messages = () => `${bot.url}/api/messages`;

  beforeAll(async () => {
    bot = await startTestBot({ BOT_AUTH: 'off' });
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('accepts a JSON activity with the lab secret (the baseline every refusal below differs from by one thing)', async () => {
    const answer = await rawPost({ url: messages(), headers: labJsonHeaders(), body: JSON.stringify(activity('baseline-1')) });
    expect(answer.status).toBe(200);
    expect(turns()).toContain('baseline-1');
  });

  it('refuses a gzip bomb with 415 at once, without inflating it (peak RSS within 50 MB)', async () => {
    // 64 MB of JSON whitespace inside a valid activity compresses to about 64 KB.
    const json = Buffer.concat([Buffer.from('{"type":"message","id":"bomb-1","text":"'), Buffer.alloc(64 * 2 ** 20, 0x61), Buffer.from('"}')]);
    const bomb = gzipSync(json, { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const { result, growthMb } = await peakRssGrowth(() =>
      rawPost({ url: messages(), headers: { ...labJsonHeaders(), 'content-encoding': 'gzip', 'content-length': String(bomb.length) }, body: bomb }),
    );
    expect(result.status).toBe(415);
    expect(result.closed).toBe(true);
    expect(growthMb).toBeLessThan(50);
    expect(turns()).not.toContain('bomb-1');
  });

  it.each(['deflate', 'br', 'identity, gzip'])('refuses Content-Encoding %s with 415', async (encoding) => {
    const answer = await rawPost({ url: messages(), headers: { ...labJsonHeaders(), 'content-encoding': encoding }, body: JSON.stringify(activity(`enc-${encoding}`)) });
    expect(answer.status).toBe(415);
    expect(turns()).not.toContain(`enc-${encoding}`);
  });

  it('refuses a multipart upload with 415 without storing anything (the temporary folder gains no file)', async () => {
    const boundary = `----ib${randomBytes(8).toString('hex')}`;
    const file = randomBytes(8 * 2 ** 20);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nmessage\r\n--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const before = readdirSync(watchedTmp);
    const { result, growthMb } = await peakRssGrowth(() => rawPost({ url: messages(), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, [LAB_SECRET_HEADER]: TEST_LAB_SECRET }, body }));
    expect(result.status).toBe(415);
    expect(result.closed).toBe(true);
    expect(growthMb).toBeLessThan(50);
    expect(readdirSync(watchedTmp)).toEqual(before);
  });

  it('refuses a form-encoded activity (what a cross-site HTML form sends) with 415 and runs nothing', async () => {
    const form = new URLSearchParams({ type: 'message', id: 'form-1', text: 'approve ABC123', serviceUrl: 'https://attacker.example/', 'from.aadObjectId': randomUUID() }).toString();
    const answer = await rawPost({ url: messages(), headers: { 'content-type': 'application/x-www-form-urlencoded', [LAB_SECRET_HEADER]: TEST_LAB_SECRET }, body: form });
    expect(answer.status).toBe(415);
    expect(turns()).not.toContain('form-1');
  });

  it.each(['text/plain', 'application/json; charset=latin1', 'application/jsonx', ''])('refuses Content-Type "%s" with 415', async (type) => {
    const headers: Record<string, string> = { [LAB_SECRET_HEADER]: TEST_LAB_SECRET };
    if (type) headers['content-type'] = type;
    const answer = await rawPost({ url: messages(), headers, body: JSON.stringify(activity(`type-${type}`)) });
    expect(answer.status).toBe(415);
  });

  it('refuses a declared Content-Length over the cap with 413 before reading a byte of it', async () => {
    const answer = await rawPost({ url: messages(), headers: { ...labJsonHeaders(), 'content-length': String(64 * 2 ** 20) }, holdOpen: true });
    expect(answer.status).toBe(413);
    expect(answer.sentBeforeAnswer).toBe(0);
    expect(answer.closed).toBe(true);
  });

  it('refuses a chunked body while it streams, at the first chunk past the cap (256 KiB), and closes the connection', async () => {
    // 64 KiB every 20 ms, up to 16 MiB if nobody stops us.
    const answer = await rawPost({ url: messages(), headers: { ...labJsonHeaders(), 'transfer-encoding': 'chunked' }, stream: { chunk: Buffer.alloc(64 * 1024, 0x20), count: 256, pauseMs: 20 } });
    expect(answer.status).toBe(413);
    expect(answer.sentBeforeAnswer).toBeLessThan(1024 * 1024);
    expect(answer.closed).toBe(true);
  });

  it('50 parallel 1 MB bodies move RSS by less than 100 MB and are each refused (413, connection closed)', async () => {
    const body = Buffer.alloc(2 ** 20, 0x20);
    const refusedBefore = bot.log.lines().filter((l) => l.reason === 'too-large').length;
    const { result, growthMb } = await peakRssGrowth(() =>
      Promise.all(
        Array.from({ length: 50 }, () =>
          rawPost({ url: messages(), headers: { ...labJsonHeaders(), 'transfer-encoding': 'chunked' }, stream: { chunk: body.subarray(0, 128 * 1024), count: 8, pauseMs: 1 } }).then(
            (answer) => String(answer.status),
            // A client still writing when the server closes may see the close before the 413.
            (error: NodeJS.ErrnoException) => error.code ?? String(error),
          ),
        ),
      ),
    );
    expect(result.filter((r) => r !== '413' && r !== 'EPIPE' && r !== 'ECONNRESET')).toEqual([]);
    expect(result.filter((r) => r === '413').length).toBeGreaterThan(0);
    expect(bot.log.lines().filter((l) => l.reason === 'too-large').length - refusedBefore).toBe(50);
    expect(growthMb).toBeLessThan(100);
  });

  it('refuses JSON nested deeper than an activity ever is with 400', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const answer = await rawPost({ url: messages(), headers: labJsonHeaders(), body: deep });
    expect(answer.status).toBe(400);
  });

  it('lab mode: a request without the lab secret, or with a wrong one, is 401 and runs nothing', async () => {
    const none = await rawPost({ url: messages(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity('nosecret-1')) });
    const wrong = await rawPost({ url: messages(), headers: labJsonHeaders(`${TEST_LAB_SECRET}x`), body: JSON.stringify(activity('wrongsecret-1')) });
    expect([none.status, wrong.status]).toEqual([401, 401]);
    expect(turns()).not.toContain('nosecret-1');
    expect(turns()).not.toContain('wrongsecret-1');
  });

  it('lab mode: a Host that is not loopback (DNS rebinding) is 403 even with the secret', async () => {
    const answer = await rawPost({ url: messages(), headers: { ...labJsonHeaders(), host: 'attacker.example:3978' }, body: JSON.stringify(activity('rebind-1')) });
    expect(answer.status).toBe(403);
    expect(turns()).not.toContain('rebind-1');
  });

  it('lab mode: an activity whose serviceUrl is not loopback is 403 (replies never leave the machine)', async () => {
    for (const [id, url] of [['svc-1', 'https://attacker.example/'], ['svc-2', 'https://127.0.0.1.attacker.example/'], ['svc-3', 'not a url']] as const) {
      const answer = await rawPost({ url: messages(), headers: labJsonHeaders(), body: JSON.stringify(activity(id, url)) });
      expect(answer.status).toBe(403);
      expect(turns()).not.toContain(id);
    }
    const missing = { ...activity('svc-4') };
    delete missing.serviceUrl;
    expect((await rawPost({ url: messages(), headers: labJsonHeaders(), body: JSON.stringify(missing) })).status).toBe(403);
  });
});

describe('the front door with authentication on', () => {
  let bot: Awaited<ReturnType<typeof startTestBot>>;
  beforeAll(async () => {
    bot = await startTestBot({ MicrosoftAppId: randomUUID(), MicrosoftAppPassword: randomBytes(24).toString('base64url'), MicrosoftAppTenantId: randomUUID() });
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('answers 401 from the headers alone when there is no bearer token: the body is never waited for', async () => {
    const answer = await rawPost({ url: `${bot.url}/api/messages`, headers: { 'content-type': 'application/json', 'content-length': '200000' }, holdOpen: true });
    expect(answer.status).toBe(401);
    expect(answer.sentBeforeAnswer).toBe(0);
    expect(answer.body).toBe('');
  });

  it('checks the body rules before the token: a gzip body with a plausible token is 415', async () => {
    const answer = await rawPost({ url: `${bot.url}/api/messages`, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: 'Bearer a.b.c' }, body: gzipSync('{}') });
    expect(answer.status).toBe(415);
  });
});

describe('the front door: read deadline', () => {
  let server: HttpServer;
  let url: string;
  const handled: unknown[] = [];
  beforeAll(async () => {
    server = createHttpServer({
      logger: captureLogger('warn').logger,
      handleMessages: async (req) => {
        handled.push(req.body);
        return { status: 200 };
      },
      isReady: async () => true,
      auth: { kind: 'lab', secret: TEST_LAB_SECRET },
      limits: { timeoutMs: 300 },
    });
    url = (await server.listen(0, '127.0.0.1')).url;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 408 and closes the connection when the body trickles in slower than the deadline', async () => {
    const answer = await rawPost({ url: `${url}/api/messages`, headers: { ...labJsonHeaders(), 'transfer-encoding': 'chunked' }, stream: { chunk: Buffer.from(' '), count: 100, pauseMs: 50 } });
    expect(answer.status).toBe(408);
    expect(answer.closed).toBe(true);
    expect(answer.ms).toBeLessThan(3000);
    expect(handled).toEqual([]);
  });
});

describe('the lab relay in front of a BOT_AUTH=off bot (what the Agents Playground posts to)', () => {
  let bot: Awaited<ReturnType<typeof startTestBot>>;
  let front: LabFront;
  const turns = () => bot.log.lines().filter((l) => l.msg === 'turn').map((l) => String(l.turn));
  beforeAll(async () => {
    bot = await startTestBot({ BOT_AUTH: 'off' });
    front = await startLabFront({ botUrl: bot.url, secret: TEST_LAB_SECRET });
  });
  afterAll(async () => {
    await front?.stop();
    await bot?.stop();
  });

  it('forwards a JSON activity with the secret added', async () => {
    const answer = await rawPost({ url: front.endpoint, headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity('relay-1')) });
    expect(answer.status).toBe(200);
    expect(turns()).toContain('relay-1');
  });

  it('a cross-site form post to the lab gets 415 and causes nothing', async () => {
    const form = new URLSearchParams({ type: 'message', id: 'relay-form-1', text: 'approve ABC123' }).toString();
    const answer = await rawPost({ url: front.endpoint, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://attacker.example' }, body: form });
    expect(answer.status).toBe(415);
    expect(turns()).not.toContain('relay-form-1');
  });

  it('a DNS-rebinding page (Host not loopback) gets 403', async () => {
    const answer = await rawPost({ url: front.endpoint, headers: { 'content-type': 'application/json', host: 'rebind.attacker.example' }, body: JSON.stringify(activity('relay-rebind-1')) });
    expect(answer.status).toBe(403);
    expect(turns()).not.toContain('relay-rebind-1');
  });
});
