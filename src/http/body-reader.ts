import type { IncomingMessage } from 'node:http';

/**
 * The front door's body reader: the only code that touches a POST body before the request is
 * authenticated. It replaces restify's bodyParser, which (restify 12) inflated gzip before its
 * size check counted anything (61 KB on the wire became 63 MB in memory), accepted form bodies
 * (so a cross-site HTML form could post an activity), and wrote multipart uploads to the
 * temporary folder without a size check.
 *
 * Rules, in this order, all decided from the headers before a byte of the body is read:
 * - `Content-Type` must be `application/json` (an optional `charset=utf-8`), else 415. A browser
 *   can post a cross-site form only as form-urlencoded, multipart or text/plain; anything else
 *   needs a CORS preflight, which this server never grants.
 * - No `Content-Encoding` other than `identity`, else 415: the body is never inflated.
 * - A declared `Content-Length` above the cap is 413 at once; otherwise bytes are counted as they
 *   arrive and the read stops with 413 at the first chunk past the cap (chunked bodies too).
 * - The whole body must arrive within the read timeout, else 408.
 * Refused requests are answered with `Connection: close` and the socket is closed after the
 * answer: nothing of the rest is read or kept.
 */

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

export type BodyRefusalCode = 'unsupported-media-type' | 'content-encoding' | 'too-large' | 'read-timeout' | 'aborted';

/** Why a body was not read; `status` is the HTTP answer. */
export class BodyRefusal extends Error {
  readonly code: BodyRefusalCode;
  readonly status: number;
  constructor(code: BodyRefusalCode, status: number, message: string) {
    super(message);
    this.name = 'BodyRefusal';
    this.code = code;
    this.status = status;
  }
}

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Checks the headers of a POST (no body read). Returns the refusal, or undefined when the body
 * may be read.
 */
export function refuseByHeaders(req: Pick<IncomingMessage, 'headers'>, limits: BodyLimits): BodyRefusal | undefined {
  const type = (headerValue(req.headers['content-type']) ?? '').trim().toLowerCase();
  // RFC 9110 §8.3: media type, then optional parameters; we accept only utf-8 JSON.
  const [mediaType, ...params] = type.split(';').map((p) => p.trim());
  const charsetOk = params.every((p) => p === '' || p === 'charset=utf-8' || p === 'charset="utf-8"');
  if (mediaType !== 'application/json' || !charsetOk) {
    return new BodyRefusal('unsupported-media-type', 415, 'The request body must be application/json (utf-8).');
  }
  const encoding = (headerValue(req.headers['content-encoding']) ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    return new BodyRefusal('content-encoding', 415, 'Content-Encoding is not accepted; send the body uncompressed.');
  }
  const declared = headerValue(req.headers['content-length']);
  if (declared !== undefined && (!/^\d+$/.test(declared.trim()) || Number(declared) > limits.maxBytes)) {
    return new BodyRefusal('too-large', 413, `The request body is larger than ${limits.maxBytes} bytes.`);
  }
  return undefined;
}

/**
 * Reads the body into one buffer, counting bytes on the wire as they arrive. Rejects with a
 * BodyRefusal past the cap or the deadline; the caller answers and closes the connection.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error?: BodyRefusal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) {
        chunks.length = 0;
        // Stop reading: nothing more of this body enters the process.
        req.pause();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, received));
      }
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) {
        finish(new BodyRefusal('too-large', 413, `The request body is larger than ${limits.maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = () => finish(new BodyRefusal('aborted', 400, 'The request body could not be read.'));
    const onAborted = () => finish(new BodyRefusal('aborted', 400, 'The request was aborted.'));
    const timer = setTimeout(() => finish(new BodyRefusal('read-timeout', 408, 'The request body did not arrive in time.')), limits.timeoutMs);
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
