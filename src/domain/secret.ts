/**
 * A value that must never be printed: logs, JSON, `util.inspect` and string conversion all see
 * `[redacted]`; only `reveal()` gives it, at the one place it is needed (e.g. a temporary password
 * handed to its approver).
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}
