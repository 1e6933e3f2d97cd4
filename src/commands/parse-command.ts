/** The commands the bot understands; the manifest's commandLists mirror this list. */
export const COMMANDS = ['lookup', 'alerts', 'pending', 'history', 'approve', 'deny', 'take', 'assign', 'subscribe', 'unsubscribe', 'status', 'resume', 'help'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Other words people type for the same thing. */
const ALIASES: Readonly<Record<string, CommandName>> = {
  whois: 'lookup',
  who: 'lookup',
  user: 'lookup',
  approvals: 'pending',
  '?': 'help',
};

export type ParsedCommand = { kind: 'command'; name: CommandName; args: string } | { kind: 'empty' } | { kind: 'unknown'; word: string };

/**
 * Splits `lookup CORP\jdoe` into the command and its argument text. The mention and a leading
 * slash are already gone (turn-logic); command words are case-insensitive, arguments kept as typed.
 */
export function parseCommand(text: string): ParsedCommand {
  const flat = text.replace(/\s+/g, ' ').trim().replace(/^\//, '');
  if (!flat) return { kind: 'empty' };
  const space = flat.indexOf(' ');
  const word = (space === -1 ? flat : flat.slice(0, space)).toLowerCase();
  const args = space === -1 ? '' : flat.slice(space + 1).trim();
  const name = (COMMANDS as readonly string[]).includes(word) ? (word as CommandName) : ALIASES[word];
  return name ? { kind: 'command', name, args } : { kind: 'unknown', word };
}
