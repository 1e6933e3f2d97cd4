import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A local OTLP/HTTP receiver (what an OpenTelemetry Collector's `otlphttp` receiver is to the bot),
 * JSON encoding only, after the protocol's own specification:
 * - https://opentelemetry.io/docs/specs/otlp/#otlphttp — POST /v1/traces, /v1/metrics, /v1/logs;
 *   `Content-Type: application/json` or `application/x-protobuf` (a server MUST support at least
 *   one; this one supports JSON and answers 415 for protobuf); optional `Content-Encoding: gzip`;
 *   success is 200 with an Export<Signal>ServiceResponse in the request's encoding (`{}` here);
 *   data that cannot be decoded is 400 and MUST NOT be retried.
 * - https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md#json-protobuf-encoding
 *   — traceId/spanId as hex strings (not base64), enums as integers, lowerCamelCase field names.
 * It keeps every request body as received (for greps: nothing secret may be in any of them) and
 * the spans and metric names decoded.
 */
export interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string; attributes: Record<string, string | number | boolean> }[];
  status: { code?: number; message?: string };
  resource: Record<string, string | number | boolean>;
}

export interface ReceivedMetric {
  name: string;
  /** Attributes of each data point. */
  points: Record<string, string | number | boolean>[];
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces, /v1/metrics). */
  url: string;
  spans: ReceivedSpan[];
  metrics: ReceivedMetric[];
  /** Every accepted request body, decoded to text. */
  bodies: string[];
  /** Requests refused, with the status given. */
  refused: { path: string; status: number }[];
  close(): Promise<void>;
}

const HEX = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);

function flatten(attributes: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? (value.intValue === undefined ? undefined : Number(value.intValue));
    out[key] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(value);
  }
  return out;
}

class BadData extends Error {}

function decodeTraces(body: Record<string, unknown>, spans: ReceivedSpan[]): void {
  const resourceSpans = body.resourceSpans;
  if (!Array.isArray(resourceSpans)) throw new BadData('resourceSpans missing');
  for (const rs of resourceSpans as { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[]) {
    const resource = flatten(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const traceId = String(s.traceId ?? '');
        const spanId = String(s.spanId ?? '');
        if (!HEX(32).test(traceId) || !HEX(16).test(spanId)) throw new BadData('traceId/spanId must be lower-case hex');
        const parent = typeof s.parentSpanId === 'string' && s.parentSpanId !== '' ? s.parentSpanId : undefined;
        if (parent !== undefined && !HEX(16).test(parent)) throw new BadData('parentSpanId must be hex');
        spans.push({
          traceId,
          spanId,
          ...(parent ? { parentSpanId: parent } : {}),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
          endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
          attributes: flatten(s.attributes as OtlpAttribute[] | undefined),
          links: ((s.links as { traceId: string; spanId: string; attributes?: OtlpAttribute[] }[] | undefined) ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: flatten(l.attributes) })),
          status: (s.status as { code?: number; message?: string } | undefined) ?? {},
          resource,
        });
      }
    }
  }
}

function decodeMetrics(body: Record<string, unknown>, metrics: ReceivedMetric[]): void {
  const resourceMetrics = body.resourceMetrics;
  if (!Array.isArray(resourceMetrics)) throw new BadData('resourceMetrics missing');
  for (const rm of resourceMetrics as { scopeMetrics?: { metrics?: Record<string, unknown>[] }[] }[]) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const data = (m.sum ?? m.gauge ?? m.histogram ?? m.exponentialHistogram) as { dataPoints?: { attributes?: OtlpAttribute[] }[] } | undefined;
        metrics.push({ name: String(m.name ?? ''), points: (data?.dataPoints ?? []).map((p) => flatten(p.attributes)) });
      }
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const bodies: string[] = [];
  const refused: { path: string; status: number }[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const answer = (status: number, body: string) => {
      if (status !== 200) refused.push({ path, status });
      // Not chained: restify, loaded in the same test process, patches writeHead without returning `res`.
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    void (async () => {
      if (req.method !== 'POST' || !['/v1/traces', '/v1/metrics', '/v1/logs'].includes(path)) return answer(404, '{}');
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') return answer(415, JSON.stringify({ code: 3, message: 'only application/json is supported here' }));
      let raw = await readBody(req);
      try {
        if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') raw = gunzipSync(raw);
        const text = raw.toString('utf8');
        const body = JSON.parse(text) as Record<string, unknown>;
        if (path === '/v1/traces') decodeTraces(body, spans);
        else if (path === '/v1/metrics') decodeMetrics(body, metrics);
        bodies.push(text);
        answer(200, '{}');
      } catch (error) {
        answer(400, JSON.stringify({ code: 3, message: error instanceof BadData ? error.message : 'undecodable body' }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    metrics,
    bodies,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
