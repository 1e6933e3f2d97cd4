import { describe, expect, it } from 'vitest';
import { startTelemetry } from '../../src/observability/otel-sdk.ts';
import { telemetryEnabled } from '../../src/shared/telemetry.ts';

// Telemetry settings the bot cannot use are said once, without their value, and the bot runs on
// without telemetry (observability must not stop containment). The successful paths run in
// test/integration/telemetry.test.ts, in bot processes of their own.
// Nothing beyond this machine if the distro gets as far as its usage statistics or cloud probes.
process.env.APPLICATIONINSIGHTS_SDKSTATS_DISABLED = 'true';
process.env.OTEL_NODE_RESOURCE_DETECTORS = 'env';

function recorder() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    log: {
      info: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'info', fields, message }),
      warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', fields, message }),
    },
  };
}

describe('startTelemetry refusals', () => {
  it('nothing configured, or OTEL_SDK_DISABLED: nothing started, nothing said', async () => {
    for (const env of [{}, { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, { OTEL_EXPORTER_OTLP_ENDPOINT: '   ' }]) {
      const { lines, log } = recorder();
      expect((await startTelemetry(env, log)).exporter).toBe('none');
      expect(lines).toEqual([]);
    }
    expect(telemetryEnabled()).toBe(false);
  });

  it('an OTLP endpoint that is not an http(s) URL: one warning naming the variable, not the value; no telemetry', async () => {
    const value = 'ftp://collector.example/key=s3cr3t-collector-key';
    const { lines, log } = recorder();
    expect((await startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: value }, log)).exporter).toBe('none');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT could not be used');
    expect(JSON.stringify(lines)).not.toContain('s3cr3t-collector-key');
    expect(telemetryEnabled()).toBe(false);
  });

  it('a connection string the Azure Monitor distro refuses: one warning in words, never the string; no telemetry', async () => {
    const value = 'InstrumentationKey=;IngestionEndpoint=https://127.0.0.1:1/;Secret=Zm9vYmFyLXNlY3JldA';
    const { lines, log } = recorder();
    expect((await startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: value }, log)).exporter).toBe('none');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(lines[0]!.message).toMatch(/^telemetry: APPLICATIONINSIGHTS_CONNECTION_STRING could not be used \(.+\); running without telemetry$/);
    expect(JSON.stringify(lines)).not.toContain('Zm9vYmFyLXNlY3JldA');
    expect(telemetryEnabled()).toBe(false);
  });
});
