import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ensureTestCa } from './test-ca.ts';

/**
 * The common base of the local stand-ins for Microsoft and Okta endpoints: an HTTPS server on
 * 127.0.0.1 (ephemeral port unless given) with the test CA's certificate, JSON helpers and a
 * request log. Each stand-in supplies only its routing function. With `protocol: 'http'` the same
 * server runs in plain http (no certificate), for bots that run with auth off and an http serviceUrl.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  rawBody: string;
}

export interface JsonRequest extends RecordedRequest {
  url: URL;
}

export type JsonReply = { status: number; body?: unknown; headers?: Record<string, string>; raw?: string };

export type JsonHandler = (req: JsonRequest) => JsonReply | Promise<JsonReply>;

export interface RunningServer {
  /** https://127.0.0.1:<port> (http:// with `protocol: 'http'`) without a trailing slash. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Connections accepted so far (TLS handshakes completed with https): shows whether clients keep them alive. */
  connections(): number;
  close(): Promise<void>;
}

export interface JsonServerOptions {
  port?: number | undefined;
  /** 'https' (the default) serves the test CA's certificate; 'http' serves plain http. */
  protocol?: 'http' | 'https' | undefined;
}

export async function startHttpsJsonServer(handler: JsonHandler, options: JsonServerOptions = {}): Promise<RunningServer> {
  const protocol = options.protocol ?? 'https';
  const requests: RecordedRequest[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
  let server: HttpServer | HttpsServer;
  if (protocol === 'http') server = createHttpServer(listener);
  else {
    const ca = ensureTestCa();
    server = createHttpsServer({ cert: ca.cert, key: ca.key }, listener);
  }
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    const type = req.headers['content-type'] ?? '';
    if (rawBody && type.includes('json')) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
    } else if (rawBody && type.includes('x-www-form-urlencoded')) {
      body = Object.fromEntries(new URLSearchParams(rawBody));
    }
    const url = new URL(req.url ?? '/', `${protocol}://127.0.0.1`);
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, rawBody };
    requests.push(recorded);
    let reply: JsonReply;
    try {
      reply = await handler({ ...recorded, url });
    } catch (error) {
      reply = { status: 500, body: { error: { code: 'InternalServerError', message: String(error) } } };
    }
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    let payload = '';
    if (reply.raw !== undefined) payload = reply.raw;
    else if (reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  }
  let connections = 0;
  server.on(protocol === 'http' ? 'connection' : 'secureConnection', () => (connections += 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${protocol}://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
