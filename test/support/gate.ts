/**
 * A door a stand-in or a fake port waits at until the test opens it: orders events without a
 * clock ("the answer came while the action was still held", then open and see the result).
 */
export interface Gate {
  /** Resolves when something first waits at the door. */
  readonly reached: Promise<void>;
  /** Resolves when the door is opened. */
  readonly opened: Promise<void>;
  readonly isOpen: boolean;
  /** What the held party awaits: marks the door reached, resolves once it is opened. */
  pass(): Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let reach!: () => void;
  let release!: () => void;
  let isOpen = false;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const opened = new Promise<void>((resolve) => (release = resolve));
  return {
    reached,
    opened,
    get isOpen() {
      return isOpen;
    },
    pass() {
      reach();
      return opened;
    },
    open() {
      isOpen = true;
      release();
    },
  };
}
