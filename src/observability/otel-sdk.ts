import { enableTelemetry } from '../shared/telemetry.ts';
import { AllowListSpanProcessor } from './export-filter.ts';

/** What started, for the start log line; `stop` flushes what is buffered. */
export interface Telemetry {
  exporter: 'none' | 'azure-monitor' | 'otlp';
  stop(): Promise<void>;
}

export interface TelemetryLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

const NONE: Telemetry = { exporter: 'none', stop: async () => undefined };

/**
 * Loads an OpenTelemetry SDK only when an exporter is configured, by dynamic import, so a bot
 * without one never loads an SDK or exporter module (test/integration/telemetry.test.ts checks):
 * - APPLICATIONINSIGHTS_CONNECTION_STRING: the Azure Monitor distro (@azure/monitor-opentelemetry,
 *   https://learn.microsoft.com/en-us/azure/azure-monitor/app/opentelemetry-enable?tabs=nodejs),
 *   with its automatic instrumentations off: our own spans carry only allow-listed attributes.
 * - OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): the OpenTelemetry Node SDK
 *   with OTLP/HTTP exporters. The standard OTEL_* variables apply as the SDK reads them
 *   (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/ and
 *   https://opentelemetry.io/docs/specs/otel/protocol/exporter/): OTEL_SERVICE_NAME,
 *   OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL
 *   (`http/protobuf` default, `http/json`), OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*,
 *   OTEL_METRICS_EXPORTER, OTEL_METRIC_EXPORT_INTERVAL, OTEL_SDK_DISABLED.
 * Neither: nothing is loaded and the API stays the no-op it is.
 */
export async function startTelemetry(env: NodeJS.ProcessEnv, log: TelemetryLog): Promise<Telemetry> {
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? '')) return NONE;
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!connectionString && !endpoint) return NONE;
  const variable = connectionString ? 'APPLICATIONINSIGHTS_CONNECTION_STRING' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  // Observability must not keep the bot from containing an incident: a telemetry setting it cannot
  // use is said once, in words (never its value: a connection string or a URL with a key), and the
  // bot runs without telemetry.
  try {
    if (connectionString) return await startAzureMonitor(connectionString, log);
    const url = URL.parse(endpoint!);
    if (!url || !/^https?:$/.test(url.protocol)) throw new TypeError('not an http(s) URL');
    return await startOtlp(env, log);
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\s+/g, ' ').slice(0, 200) : 'unknown error';
    // The distro's sentence helps ("No instrumentation key ..."), unless it quotes a part of the value.
    const parts = (connectionString ?? '').split(';').flatMap((part) => part.split('=').slice(1)).filter((v) => v.length >= 4);
    const reason = parts.some((v) => message.includes(v)) ? 'the Azure Monitor distro refused it' : message;
    log.warn({ variable, errorType: error instanceof Error ? error.name : typeof error }, `telemetry: ${variable} could not be used (${connectionString ? reason : 'not an http(s) URL'}); running without telemetry`);
    return NONE;
  }
}

async function startAzureMonitor(connectionString: string, log: TelemetryLog): Promise<Telemetry> {
  const { useAzureMonitor, shutdownAzureMonitor } = await import('@azure/monitor-opentelemetry');
  const off = { enabled: false };
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    instrumentationOptions: { azureSdk: off, http: off, mongoDb: off, mySql: off, postgreSql: off, redis: off, redis4: off, bunyan: off, winston: off, console: off },
    spanProcessors: [new AllowListSpanProcessor()],
  });
  enableTelemetry();
  log.info({ exporter: 'azure-monitor' }, 'telemetry: exporting traces and metrics to Azure Monitor');
  return { exporter: 'azure-monitor', stop: () => shutdownAzureMonitor() };
}

async function startOtlp(env: NodeJS.ProcessEnv, log: TelemetryLog): Promise<Telemetry> {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim() || 'http/protobuf';
  if (protocol !== 'http/json' && protocol !== 'http/protobuf') log.warn({ protocol }, 'telemetry: only OTLP over HTTP is supported; using http/protobuf');
  const [{ NodeSDK }, { BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  // No instrumentations: the spans are ours (src/shared/telemetry.ts), metrics come from
  // OTEL_METRICS_EXPORTER (default otlp, same protocol) as the SDK builds them.
  const sdk = new NodeSDK({
    // The SDK reads OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES itself; our name only when neither names one.
    ...(env.OTEL_SERVICE_NAME?.trim() || /(^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '') ? {} : { serviceName: 'incident-bot' }),
    instrumentations: [],
    spanProcessors: [new AllowListSpanProcessor(), new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  sdk.start();
  enableTelemetry();
  log.info({ exporter: 'otlp', protocol }, 'telemetry: exporting traces and metrics over OTLP/HTTP');
  return { exporter: 'otlp', stop: () => sdk.shutdown() };
}
