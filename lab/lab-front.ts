import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { LAB_SECRET_HEADER } from '../src/http/front-door.ts';
import { refuseByHeaders, DEFAULT_MAX_BODY_BYTES, DEFAULT_READ_TIMEOUT_MS } from '../src/http/body-reader.ts';
import { hostOfHostHeader, isLoopbackHost } from '../src/shared/loopback.ts';

/**
 * The lab bot's messaging endpoint as the Agents Playground sees it. The playground cannot add a
 * header to what it posts, and a BOT_AUTH=off bot answers only requests carrying this run's lab
 * secret header; so the lab puts this small loopback relay in front of the bot: it applies the
 * same header rules as the bot's front door (JSON only, no Content-Encoding, size, a loopback
 * Host so a DNS-rebinding page is refused) and forwards to the bot with the secret added. A
 * cross-site form posted to the relay gets 415 here and never reaches the bot.
 */
export interface LabFront {
  /** e.g. http://127.0.0.1:41234/api/messages: give this to the playground. */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startLabFront(options: { botUrl: string; secret: string; port?: number }): Promise<LabFront> {
  const target = new URL('/api/messages', options.botUrl);
  const refuse = (res: ServerResponse, status: number) => {
    res.writeHead(status, { connection: 'close' });
    res.end();
  };
  const relay = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/api/messages') return refuse(res, req.method === 'POST' ? 404 : 405);
    const host = req.headers.host;
    if (!host || !isLoopbackHost(hostOfHostHeader(host))) return refuse(res, 403);
    const refusal = refuseByHeaders(req, { maxBytes: DEFAULT_MAX_BODY_BYTES, timeoutMs: DEFAULT_READ_TIMEOUT_MS });
    if (refusal) return refuse(res, refusal.status);
    const headers: Record<string, string> = { 'content-type': String(req.headers['content-type']), [LAB_SECRET_HEADER]: options.secret };
    if (req.headers['content-length']) headers['content-length'] = String(req.headers['content-length']);
    const upstream = request(target, { method: 'POST', headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
      answer.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : refuse(res, 502)));
    req.pipe(upstream);
  };
  const server: Server = createServer(relay);
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}/api/messages`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
