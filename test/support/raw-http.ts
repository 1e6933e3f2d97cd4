import { request } from 'node:http';

/**
 * A POST written by hand on a plain socket-level client (node:http), for front-door tests that
 * need what fetch hides: a body streamed in chunks with pauses, a Content-Length that lies, the
 * moment the answer arrives relative to what was sent, and whether the server closed the socket.
 */
export interface RawAnswer {
  status: number;
  body: string;
  /** Bytes of the body written before the answer arrived. */
  sentBeforeAnswer: number;
  ms: number;
  /** The server closed the connection (Connection: close, or a reset while we were writing). */
  closed: boolean;
}

export interface RawPost {
  url: string;
  headers: Record<string, string>;
  /** Written as it is, then the request ends. */
  body?: Buffer | string;
  /** Or: `count` chunks of `chunk`, `pauseMs` apart (chunked transfer unless content-length is set). */
  stream?: { chunk: Buffer; count: number; pauseMs: number };
  /** Keep the request open without a body (the server must answer from the headers alone). */
  holdOpen?: boolean;
}

export function rawPost(options: RawPost): Promise<RawAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let sentBeforeAnswer = -1;
    let closed = false;
    let stopWriting = false;
    const req = request(options.url, { method: 'POST', headers: options.headers, agent: false }, (res) => {
      sentBeforeAnswer = sent;
      stopWriting = true;
      const parts: Buffer[] = [];
      if (res.headers.connection === 'close') closed = true;
      const socket = res.socket;
      socket.once('end', () => (closed = true));
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        // Give the server's FIN (it follows the answer at once when it closes) a moment to arrive.
        const done = () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), sentBeforeAnswer, ms, closed });
          req.destroy();
        };
        if (closed) return done();
        const timer = setTimeout(done, 300);
        socket.once('end', () => {
          clearTimeout(timer);
          done();
        });
      });
      res.on('error', () => undefined);
    });
    req.on('error', (error) => {
      closed = true;
      // A write error after the server has answered and closed is expected; the answer may still
      // be in the parser's hands when the write fails: only without an answer soon is it a failure.
      stopWriting = true;
      setTimeout(() => {
        if (sentBeforeAnswer < 0) reject(error);
      }, 500);
    });
    const write = async () => {
      if (options.body !== undefined) {
        req.end(options.body);
        sent = Buffer.byteLength(options.body);
        return;
      }
      if (options.stream) {
        for (let i = 0; i < options.stream.count && !stopWriting && !req.destroyed; i++) {
          const ok = req.write(options.stream.chunk);
          sent += options.stream.chunk.length;
          if (!ok) await new Promise((r) => req.once('drain', r).once('close', r));
          await new Promise((r) => setTimeout(r, options.stream!.pauseMs));
        }
        if (!req.destroyed && !stopWriting) req.end();
        return;
      }
      if (!options.holdOpen) req.end();
      else req.flushHeaders();
    };
    write().catch(() => undefined);
  });
}
