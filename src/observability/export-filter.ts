import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { allowedAttributes } from '../shared/telemetry.ts';

/**
 * The last gate before export: every span's attributes are cut down to the allow-list (the
 * helpers in src/shared/telemetry.ts already only set allowed names; this also catches anything an
 * SDK component or a future instrumentation adds), events are dropped (an exception event carries
 * a message and a stack), link attributes are filtered. Runs before the exporting processor.
 * Attributes the Azure Monitor distro itself sets (`_MS.*`, `microsoft.*`) are kept.
 */
export class AllowListSpanProcessor implements SpanProcessor {
  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    const attributes = span.attributes as Record<string, unknown>;
    const kept = allowedAttributes(attributes);
    for (const name of Object.keys(attributes)) {
      if (name.startsWith('_MS.') || name.startsWith('microsoft.')) continue;
      if (name in kept) attributes[name] = kept[name];
      else delete attributes[name];
    }
    (span.events as unknown[]).length = 0;
    for (const link of span.links) {
      if (link.attributes) (link as { attributes?: unknown }).attributes = allowedAttributes(link.attributes);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
