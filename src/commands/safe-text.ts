import { plain } from '../cards/alert-card.ts';

/**
 * Text that came from a person or a directory, made safe to show in a Teams message or card:
 * control characters gone, markdown escaped (so `[x](https://evil)` stays text), bounded length.
 */
export function safeText(value: string | null | undefined, max = 120): string {
  return value ? plain(value, max) : '';
}

/** Echo of what the user typed, in quotes, short enough for one line. */
export function echo(input: string): string {
  return `“${safeText(input, 60) || ' '}”`;
}
