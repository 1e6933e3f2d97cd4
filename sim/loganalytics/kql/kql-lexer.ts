import { KqlError } from './kql-error.ts';

/**
 * Tokens of the small KQL subset the local Log Analytics stand-in understands. Anything the lexer
 * cannot place is a syntax error, like the service's SYN0002, so a client never relies on syntax
 * the stand-in would silently ignore.
 */
export type KqlTokenKind = 'ident' | 'string' | 'number' | 'timespan' | 'datetime' | 'punct' | 'eof';

export interface KqlToken {
  kind: KqlTokenKind;
  text: string;
  /** Parsed value: number for numbers, milliseconds for timespans and datetimes, text for strings. */
  value?: string | number;
  line: number;
  pos: number;
}

const PUNCTUATION = ['==', '!=', '=~', '!~', '>=', '<=', '|', '(', ')', ',', '>', '<', '*', '!', '='] as const;

const TIMESPAN_UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

export function tokenizeKql(source: string): KqlToken[] {
  const tokens: KqlToken[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = () => ({ line, pos: i - lineStart + 1 });
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    const where = at();
    if (ch === '"' || ch === "'") {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= source.length || source[j] === '\n') throw KqlError.syntax('unterminated string literal', source.slice(i, j), where);
        const c = source[j]!;
        if (c === '\\') {
          const next = source[j + 1];
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
          if (next === undefined || escapes[next] === undefined) throw KqlError.syntax('bad escape in string literal', source.slice(i, j + 2), where);
          text += escapes[next];
          j += 2;
          continue;
        }
        if (c === ch) break;
        text += c;
        j++;
      }
      tokens.push({ kind: 'string', text: source.slice(i, j + 1), value: text, ...where });
      i = j + 1;
      continue;
    }
    const number = /^(\d+(?:\.\d+)?)(ms|d|h|m|s)?(?![A-Za-z0-9_])/.exec(source.slice(i));
    if (number) {
      const amount = Number(number[1]);
      if (number[2]) tokens.push({ kind: 'timespan', text: number[0], value: amount * TIMESPAN_UNITS[number[2]]!, ...where });
      else tokens.push({ kind: 'number', text: number[0], value: amount, ...where });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
    if (ident) {
      // A '-' belongs to a name only in operator names such as mv-expand; keep it out of columns.
      let text = ident[0];
      if (text.includes('-') && !/^[a-z]+-[a-z]+$/.test(text)) text = text.slice(0, text.indexOf('-'));
      // datetime(...) takes a raw literal (datetime(2026-11-20T09:00:00Z)) that is not a token stream.
      const rest = source.slice(i + text.length);
      const literal = text === 'datetime' ? /^\s*\(\s*([^)]*?)\s*\)/.exec(rest) : null;
      if (literal) {
        const raw = literal[1]!.replace(/^(["'])(.*)\1$/, '$2');
        const iso = /[zZ]|[+-]\d\d:\d\d$/.test(raw) ? raw : `${raw}Z`;
        const ms = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(iso) : Number.NaN;
        if (Number.isNaN(ms)) throw KqlError.syntax(`invalid datetime literal '${literal[1]}'`, `datetime(${literal[1]})`, where);
        tokens.push({ kind: 'datetime', text: `datetime(${literal[1]})`, value: ms, ...where });
        i += text.length + literal[0].length;
        continue;
      }
      tokens.push({ kind: 'ident', text, ...where });
      i += text.length;
      continue;
    }
    const punct = PUNCTUATION.find((p) => source.startsWith(p, i));
    if (punct) {
      tokens.push({ kind: 'punct', text: punct, ...where });
      i += punct.length;
      continue;
    }
    throw KqlError.syntax(`unexpected character '${ch}'`, ch, where);
  }
  tokens.push({ kind: 'eof', text: '<end of query>', ...at() });
  return tokens;
}
