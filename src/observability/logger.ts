import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { currentTraceIds } from '../shared/telemetry.ts';
import { createKeyRedaction } from './log-redaction.ts';

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

const redaction = createKeyRedaction(SECRET_KEY_NAMES);
const errorSerializer = (error: unknown) => redaction.value(pino.stdSerializers.err(error as Error));

/** A value that must never be printed: its string and JSON forms are a fixed mask. */
export { Secret } from '../domain/secret.ts';

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to assert on what was logged. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'incident-bot' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets by key name in the line (log-redaction.ts says why not pino's redact); children below.
      formatters: { level: (label) => ({ level: label }), log: redaction.line },
      serializers: { err: errorSerializer, error: errorSerializer },
      // trace_id/span_id of the current span, so a log line leads to its trace (nothing without telemetry).
      mixin: () => currentTraceIds() ?? {},
    },
    options.destination ?? pino.destination({ sync: false }),
  );
  // pino hands a child's bindings to no formatter, so they are redacted on the way in. A child is
  // Object.create(parent): this own property is what every descendant's child() finds.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redaction.line(bindings), childOptions);
  } as typeof logger.child;
  return logger;
}
