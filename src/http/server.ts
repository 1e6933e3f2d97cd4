import restify from 'restify';
import type { Logger } from '../observability/logger.ts';
import type { BotReply, InboundRequest } from '../bot/bot-adapter.ts';

export interface HttpServerDeps {
  logger: Logger;
  /** Handles one POST to /api/messages and says what to answer. */
  handleMessages: (req: InboundRequest) => Promise<BotReply>;
  /** Readiness: resolves when the store answers; rejects (or returns false) otherwise. */
  isReady: () => Promise<boolean>;
}

export interface HttpServer {
  listen(port: number, host: string): Promise<{ port: number; url: string }>;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

export function createHttpServer({ logger, handleMessages, isReady }: HttpServerDeps): HttpServer {
  const server = restify.createServer({ name: 'incident-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024, mapParams: false }));

  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  server.post('/api/messages', async (req, res) => {
    if (closing) {
      res.status(503);
      res.end();
      return;
    }
    inFlight += 1;
    try {
      const reply = await handleMessages({ method: req.method, headers: req.headers, body: req.body });
      if (reply.body === undefined) {
        res.status(reply.status);
        res.end();
      } else {
        res.json(reply.status, reply.body);
      }
    } finally {
      inFlight -= 1;
      if (closing && inFlight === 0) drained?.();
    }
  });
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
  // restify answers a JSON parse failure itself; log it without the body.
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
