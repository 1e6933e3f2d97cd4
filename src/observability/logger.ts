import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { currentTraceIds } from '../shared/telemetry.ts';

/** The small logging surface the rest of the bot uses: structured JSON, one line per event. */
export type Logger = PinoLogger;

/**
 * Key names whose values are secrets wherever they appear in a log object. Redaction by key name
 * catches configuration and HTTP headers; `Secret` values (below) are redacted by type.
 */
export const SECRET_KEY_NAMES = [
  'password',
  'newPassword',
  'temporaryPassword',
  'unicodePwd',
  'secret',
  'clientSecret',
  'token',
  'accessToken',
  'access_token',
  'apiToken',
  'authorization',
  'Authorization',
  'MicrosoftAppPassword',
  'AZURE_CLIENT_SECRET',
  'LDAP_BIND_PASSWORD',
  'OKTA_API_TOKEN',
  'DATABASE_URL',
  'BOT_LAB_SECRET',
  'labSecret',
] as const;

const redactPaths = SECRET_KEY_NAMES.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `headers.${key.toLowerCase()}`]);

/** A value that must never be printed: its string and JSON forms are a fixed mask. */
export { Secret } from '../domain/secret.ts';

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to assert on what was logged. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'incident-bot' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      // trace_id/span_id of the current span, so a log line leads to its trace (nothing without telemetry).
      mixin: () => currentTraceIds() ?? {},
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
