/**
 * The logging port the domain's ports speak (an adapter gets one per action, a child of the
 * action's logger). Structural, so the process's pino logger is one without the domain knowing it.
 */
export interface LogFn {
  (message: string): void;
  (fields: object, message?: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}
