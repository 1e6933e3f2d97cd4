/**
 * Secrets out of log lines by key name, wherever they sit in the first few levels of a log object
 * (configuration, HTTP headers, an error's request). `Secret` values are masked by their own
 * toJSON; this is the net for plain strings under a telling key.
 *
 * Why not pino's `redact` paths: with a wildcard per depth (`key`, `*.key`, `*.*.key`) for 19
 * names, pino's redaction cost about a tenth of a message turn's CPU (profiled under
 * `npm run bench -- floor`). One walk over the object's own keys costs what the object is worth:
 * a handful of keys for a usual line, and it copies only the branch that holds a secret.
 */
export const REDACTED = '[redacted]';

/** How many levels of keys are looked at: 0 = the line's own keys (the old paths went to 2). */
const MAX_DEPTH = 3;

export interface KeyRedaction {
  /** For pino's `formatters.log` and a child logger's bindings: the line's own object. */
  line(object: Record<string, unknown>): Record<string, unknown>;
  /** For a serializer's output (an error after pino's err serializer), looked at from level 1. */
  value<T>(value: T): T;
}

export function createKeyRedaction(names: readonly string[]): KeyRedaction {
  // Case-insensitive: `Authorization`, `authorization` and `AUTHORIZATION` are the same header.
  const secretKeys = new Set(names.map((name) => name.toLowerCase()));

  const walk = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const next = walk(item, depth + 1);
        if (next !== item) (copy ??= value.slice())[i] = next;
      }
      return copy ?? value;
    }
    // An object with its own JSON form (Secret, Date, Buffer…) is printed by that form.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
    return fields(value as Record<string, unknown>, depth);
  };

  const fields = (record: Record<string, unknown>, depth: number): Record<string, unknown> => {
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const item = record[key];
      // In the line itself, an error under err/error is left to pino's err serializer, whose output goes through value().
      if (depth === 0 && (key === 'err' || key === 'error') && item instanceof Error) continue;
      const next = secretKeys.has(key.toLowerCase()) && item !== undefined ? REDACTED : walk(item, depth + 1);
      if (next !== item) (copy ??= { ...record })[key] = next;
    }
    return copy ?? record;
  };

  return {
    line: (object) => fields(object, 0),
    value: <T>(value: T): T => walk(value, 1) as T,
  };
}
