import { createHash } from 'node:crypto';
import { context, trace, SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Link, type Span, type SpanContext } from '@opentelemetry/api';

/**
 * Tracing through the OpenTelemetry API only (no SDK here: src/observability/otel-sdk.ts loads one
 * when an exporter is configured). Until then every helper is a plain call: no span object, no
 * context switch, so an unconfigured bot pays nothing on its hot paths.
 *
 * Attributes come from one allow-list (TELEMETRY_ATTRIBUTES): a name not on it is dropped here and
 * again by the SDK's export filter, so a secret, a temporary password, a token or a body can never
 * become an attribute by accident. URLs are recorded without their query string.
 */
export const TELEMETRY_ATTRIBUTES = [
  // Outbound HTTP, as the OpenTelemetry semantic conventions name them (no query, no headers, no body).
  'http.request.method',
  'http.response.status_code',
  'url.full',
  'server.address',
  'server.port',
  'error.type',
  // LDAP (no DN, no filter values: only what was done and how it ended).
  'ldap.operation',
  // Inbound activities.
  'incident.activity.type',
  'incident.activity.name',
  'incident.channel',
  // The bot's own vocabulary: keys, codes and outcomes, never free text or people's secrets.
  'incident.alert.key',
  'incident.alert.source',
  'incident.alert.code',
  'incident.alerts.seen',
  'incident.alerts.created',
  'incident.alerts.filtered',
  'incident.card.kind',
  'incident.leader',
  'incident.approval.id',
  'incident.action',
  'incident.system',
  'incident.vote',
  'incident.verb',
  'incident.outcome',
  'incident.error.code',
  'incident.dry_run',
  'incident.conversation',
  'incident.retry_after_ms',
] as const;

export type TelemetryAttribute = (typeof TELEMETRY_ATTRIBUTES)[number];
export type SpanAttributes = Partial<Record<TelemetryAttribute, string | number | boolean | undefined>>;

const ALLOWED = new Set<string>(TELEMETRY_ATTRIBUTES);

/** Keeps only allow-listed names with primitive values; strings are capped. */
export function allowedAttributes(attributes: Record<string, unknown> | undefined): Attributes {
  const out: Attributes = {};
  if (!attributes) return out;
  for (const [name, value] of Object.entries(attributes)) {
    if (!ALLOWED.has(name)) continue;
    if (typeof value === 'string') out[name] = name === 'url.full' ? sanitizeUrl(value) : value.slice(0, 256);
    else if (typeof value === 'number' || typeof value === 'boolean') out[name] = value;
  }
  return out;
}

/** scheme://host[:port]/path: no user info, no query (it can hold codes or tokens), no fragment. */
export function sanitizeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`.slice(0, 256);
  } catch {
    return '[unparsable url]';
  }
}

let enabled = false;
let tracer = trace.getTracer('incident-bot');

/**
 * Called once by the SDK loader after its SDK started; before that, spans are not even created.
 * The tracer is taken here, not at load: the Azure Monitor distro resets the API's global
 * providers (`trace.disable()`), which strands a tracer obtained earlier on a provider left behind.
 */
export function enableTelemetry(): void {
  enabled = true;
  tracer = trace.getTracer('incident-bot');
}

export function telemetryEnabled(): boolean {
  return enabled;
}

const NO_SPAN = trace.wrapSpanContext({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: TraceFlags.NONE });

export interface SpanOptions {
  kind?: SpanKind;
  links?: Link[];
  /** A new trace (an inbound activity, a notifier cycle), not a child of whatever is current. */
  root?: boolean;
}

/** Runs `work` in a span (the current one while it runs); a thrown error marks it failed by its code only. */
export async function inSpan<T>(name: string, attributes: SpanAttributes, work: (span: Span) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  if (!enabled) return work(NO_SPAN);
  const links = options.links?.map((link) => ({ context: link.context, attributes: allowedAttributes(link.attributes) }));
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: allowedAttributes(attributes), ...(links ? { links } : {}), ...(options.root ? { root: true } : {}) }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** An outbound call (HTTP, LDAP): a client span under the current one. */
export function outboundSpan<T>(name: string, attributes: SpanAttributes, work: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(name, attributes, work, { kind: SpanKind.CLIENT });
}

/** Sets allow-listed attributes on a span (a no-op span when telemetry is off). */
export function setSpanAttributes(span: Span, attributes: SpanAttributes): void {
  if (enabled) span.setAttributes(allowedAttributes(attributes));
}

/** Adds allow-listed attributes to the current span, if any. */
export function annotateCurrentSpan(attributes: SpanAttributes): void {
  if (!enabled) return;
  trace.getSpan(context.active())?.setAttributes(allowedAttributes(attributes));
}

/** Marks a span failed with the error's stable code (or class name): never its message, which may quote input. */
export function markFailed(span: Span, error: unknown): void {
  const code = errorTypeOf(error);
  span.setAttribute('error.type', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

function errorTypeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : 'Error';
}

/**
 * The anchor of an alert's story: a span context derived from the alert key alone (SHA-256), so
 * every instance, before and after a restart, links the alert's notifier spans and every approval
 * and action that came from its card to the same trace id, with nothing stored.
 */
export function alertAnchor(alertKey: string): SpanContext {
  const digest = createHash('sha256').update(`incident-bot/alert/${alertKey}`).digest('hex');
  return { traceId: digest.slice(0, 32), spanId: digest.slice(32, 48), traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/** The link to an alert's anchor (empty when telemetry is off or there is no alert). */
export function alertLinks(alertKey: string | undefined): Link[] {
  if (!enabled || !alertKey) return [];
  return [{ context: alertAnchor(alertKey), attributes: { 'incident.alert.key': alertKey } }];
}

/** trace_id/span_id of the current span for a log line, or nothing. */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined;
  const span = trace.getSpan(context.active());
  const ctx = span?.spanContext();
  if (!ctx || !trace.isSpanContextValid(ctx)) return undefined;
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}

export { SpanKind, type Span };
