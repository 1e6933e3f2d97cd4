import restify from 'restify';
import type { Logger } from '../observability/logger.ts';
import type { BotReply, InboundRequest } from '../bot/bot-adapter.ts';
import { BodyRefusal, DEFAULT_MAX_BODY_BYTES, DEFAULT_READ_TIMEOUT_MS, readBody, refuseByHeaders, type BodyLimits } from './body-reader.ts';
import { JsonBodyError, parseJsonBody } from './json-body.ts';
import { refuseByActivity, refuseByCredentials, type FrontDoorAuth } from './front-door.ts';
import type { AlertPushAuth, PushCaller } from './alert-push-auth.ts';

/** POST /api/alerts/notify: its own authentication, then the push use case. */
export interface AlertPushRoute {
  auth: AlertPushAuth;
  handle: (body: unknown, caller: PushCaller) => Promise<{ status: number; body: Record<string, unknown> }>;
}

export interface HttpServerDeps {
  logger: Logger;
  /** Handles one POST to /api/messages and says what to answer. */
  handleMessages: (req: InboundRequest) => Promise<BotReply>;
  /** Readiness: resolves when the store answers; rejects (or returns false) otherwise. */
  isReady: () => Promise<boolean>;
  /** Who may post at all, checked from the headers before the body is read. */
  auth: FrontDoorAuth;
  /** Body cap and read deadline; defaults 256 KiB and 10 s. */
  limits?: Partial<BodyLimits>;
  /** The alert webhook, when push ingestion is configured (else the route does not exist: 404). */
  alertPush?: AlertPushRoute;
}

export interface HttpServer {
  listen(port: number, host: string): Promise<{ port: number; url: string }>;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

/** How long a refused request's remaining bytes are drained (and dropped) before the socket closes. */
const LINGER_MS = 2_000;

export function createHttpServer({ logger, handleMessages, isReady, auth, limits: givenLimits, alertPush }: HttpServerDeps): HttpServer {
  const server = restify.createServer({ name: 'incident-bot', handleUncaughtExceptions: false });
  // No restify body parser: every POST body goes through our own front door (see body-reader.ts).
  const limits: BodyLimits = { maxBytes: givenLimits?.maxBytes ?? DEFAULT_MAX_BODY_BYTES, timeoutMs: givenLimits?.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS };

  /** Answers a refused request and closes its connection once the answer is out. */
  const refuse = (req: restify.Request, res: restify.Response, status: number, reason: string, message?: string) => {
    logger.warn({ path: req.path(), status, reason }, 'request refused at the front door');
    // Lingering close, as web servers do it: destroying a socket with unread bytes makes the
    // kernel send a reset that can wipe our answer before the client reads it (Node's own
    // `Connection: close` handling does exactly that). So once the answer is out: FIN (no more
    // from us), what still arrives is read and dropped (never kept), and after a moment the
    // socket is destroyed whatever the client does.
    res.once('finish', () => {
      req.resume();
      req.socket.end();
      setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    });
    if (message === undefined) {
      res.status(status);
      res.end();
    } else {
      res.json(status, { error: message });
    }
  };

  /**
   * The front door of every POST route: headers (media type, encoding, declared size), then
   * credentials, then the body read under its cap and deadline, then JSON parsing. Resolves
   * with the parsed body, or undefined when the request has been answered already.
   */
  const admit = async (req: restify.Request, res: restify.Response): Promise<unknown> => {
    const byHeaders = refuseByHeaders(req, limits);
    if (byHeaders) return void refuse(req, res, byHeaders.status, byHeaders.code, byHeaders.message);
    const byCredentials = refuseByCredentials(req.headers, auth);
    if (byCredentials) return void refuse(req, res, byCredentials.status, byCredentials.reason);
    let body: unknown;
    try {
      body = parseJsonBody(await readBody(req, limits));
    } catch (error) {
      if (error instanceof BodyRefusal || error instanceof JsonBodyError) return void refuse(req, res, error.status, error.code, error.message);
      throw error;
    }
    const byActivity = refuseByActivity(body, auth);
    if (byActivity) return void refuse(req, res, byActivity.status, byActivity.reason);
    return body;
  };

  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  /** Runs a POST handler unless the server is closing (then 503), counted in flight so close() waits for it. */
  const whileOpen = (handle: (req: restify.Request, res: restify.Response) => Promise<void>) => async (req: restify.Request, res: restify.Response) => {
    if (closing) {
      res.status(503);
      res.end();
      return;
    }
    inFlight += 1;
    try {
      await handle(req, res);
    } finally {
      inFlight -= 1;
      if (closing && inFlight === 0) drained?.();
    }
  };

  server.post(
    '/api/messages',
    whileOpen(async (req, res) => {
      const body = await admit(req, res);
      if (body === undefined) return;
      const reply = await handleMessages({ method: req.method, headers: req.headers, body });
      if (reply.body === undefined) {
        res.status(reply.status);
        res.end();
      } else {
        res.json(reply.status, reply.body);
      }
    }),
  );
  if (alertPush) {
    // Same body rules as /api/messages (JSON only, no encoding, the cap, the deadline), and the
    // caller authenticated before the body is read (an HMAC's MAC right after, before parsing).
    server.post(
      '/api/alerts/notify',
      whileOpen(async (req, res) => {
        const byHeaders = refuseByHeaders(req, limits);
        if (byHeaders) return void refuse(req, res, byHeaders.status, byHeaders.code, byHeaders.message);
        const admitted = await alertPush.auth.admitHeaders(req.headers);
        if (!admitted.ok) return void refuse(req, res, admitted.status, `alert push: ${admitted.reason}`);
        let body: unknown;
        try {
          const raw = await readBody(req, limits);
          const signed = await alertPush.auth.admitBody(admitted.caller, raw);
          if (!signed.ok) return void refuse(req, res, signed.status, `alert push: ${signed.reason}`);
          body = parseJsonBody(raw);
        } catch (error) {
          if (error instanceof BodyRefusal || error instanceof JsonBodyError) return void refuse(req, res, error.status, error.code, error.message);
          throw error;
        }
        const reply = await alertPush.handle(body, admitted.caller);
        res.json(reply.status, reply.body);
      }),
    );
  }
  server.get('/healthz', async (_req, res) => {
    res.json(200, { status: 'ok' });
  });
  server.get('/readyz', async (_req, res) => {
    let ready = false;
    try {
      ready = !closing && (await isReady());
    } catch (error) {
      logger.warn({ err: error }, 'readiness check failed');
    }
    res.json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
  });
  // restify answers routing failures (404, 405) itself; log them without the body.
  server.on('restifyError', (req, _res, err, callback) => {
    logger.warn({ path: req.path(), status: err.statusCode, code: err.code }, 'request rejected');
    return callback();
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve({ port: address.port, url: `http://${host}:${address.port}` });
        });
      });
    },
    async close() {
      closing = true;
      const waitForDrain = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await waitForDrain;
    },
  };
}
