import { startHttpsJsonServer, type RunningServer } from '../https-json-server.ts';

/**
 * A local stand-in of the Application Insights ingestion endpoint ("Breeze") that the Azure
 * Monitor exporter posts to: `POST {IngestionEndpoint}/v2.1/track` with a JSON array of
 * TelemetryItem envelopes (`name`, `time`, `iKey`, `tags`, `data: { baseType, baseData }`),
 * answered with a TrackResponse `{ itemsReceived, itemsAccepted, errors[] }`: 200 when all were
 * accepted, 206 with per-item errors, 400 for a body that is not an array. Contract as the
 * exporter's generated client defines it (swagger of the Track API:
 * https://github.com/Azure/azure-sdk-for-js/tree/main/sdk/monitor/monitor-opentelemetry-exporter/swagger,
 * models in src/generated/models/models.ts; expected statuses 200 and 206 in
 * src/generated/api/operations.ts). Live Metrics calls (QuickPulse) are answered 404: not served.
 */
export interface TelemetryItem {
  name: string;
  time: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: { name?: string; properties?: Record<string, string>; data?: string; target?: string; [key: string]: unknown } };
}

export interface IngestionServer extends RunningServer {
  items: TelemetryItem[];
  /** Raw request bodies, for greps. */
  bodies: string[];
  connectionString(instrumentationKey: string): string;
}

export async function startIngestionServer(): Promise<IngestionServer> {
  const items: TelemetryItem[] = [];
  const bodies: string[] = [];
  const server = await startHttpsJsonServer((req) => {
    if (req.method !== 'POST' || !/^\/v2(\.1)?\/track$/.test(req.path)) return { status: 404, body: {} };
    // The exporter gzips only for Microsoft's ingestion hosts, never for a loopback endpoint.
    if (req.headers['content-encoding']) return { status: 400, body: { itemsReceived: 0, itemsAccepted: 0, errors: [{ index: 0, statusCode: 400, message: 'compressed bodies are not read by this stand-in' }] } };
    const parsed: unknown = req.body;
    bodies.push(req.rawBody);
    if (!Array.isArray(parsed)) return { status: 400, body: { itemsReceived: 0, itemsAccepted: 0, errors: [{ index: 0, statusCode: 400, message: 'body is not an array of telemetry items' }] } };
    const errors: { index: number; statusCode: number; message: string }[] = [];
    parsed.forEach((item: Partial<TelemetryItem>, index) => {
      if (typeof item?.name !== 'string' || typeof item.time !== 'string') errors.push({ index, statusCode: 400, message: 'name and time are required' });
      else items.push(item as TelemetryItem);
    });
    return { status: errors.length > 0 ? 206 : 200, body: { itemsReceived: parsed.length, itemsAccepted: parsed.length - errors.length, errors } };
  });
  return {
    ...server,
    items,
    bodies,
    connectionString: (key) => `InstrumentationKey=${key};IngestionEndpoint=${server.url}/;LiveEndpoint=${server.url}/`,
  };
}
