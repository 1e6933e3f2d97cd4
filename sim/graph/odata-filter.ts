/**
 * A small OData v4 `$filter` parser: comparisons, `and`/`or`, parentheses and one-argument-plus-
 * literal functions such as startswith(displayName,'Al'). Each Graph route then accepts only the
 * shapes real Graph accepts for it, so a client sending something Graph would refuse gets the 400
 * it would get in production rather than a silently lenient answer.
 */

export type Literal =
  | { type: 'string'; value: string }
  | { type: 'datetime'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' };

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterExpr =
  | { kind: 'and' | 'or'; items: FilterExpr[] }
  | { kind: 'not'; item: FilterExpr }
  | { kind: 'compare'; property: string; op: ComparisonOperator; value: Literal }
  | { kind: 'call'; fn: string; property: string; value: Literal };

export class ODataFilterError extends Error {
  override name = 'ODataFilterError';
}

type Token =
  | { t: 'lparen' | 'rparen' | 'comma'; pos: number }
  | { t: 'word'; value: string; pos: number }
  | { t: 'literal'; value: Literal; pos: number };

const OPERATORS: readonly string[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      // OData string literal: a single quote inside is written as two.
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ODataFilterError(`Invalid filter clause: unterminated string literal at position ${i} in '${text}'.`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ t: 'literal', value: { type: 'string', value }, pos: i });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    const datetime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/.exec(rest);
    if (datetime) {
      tokens.push({ t: 'literal', value: { type: 'datetime', value: datetime[0] }, pos: i });
      i += datetime[0].length;
      continue;
    }
    const number = /^-?\d+(\.\d+)?(?![\w-])/.exec(rest);
    if (number) {
      tokens.push({ t: 'literal', value: { type: 'number', value: Number(number[0]) }, pos: i });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][\w/.]*/.exec(rest);
    if (word) {
      const w = word[0];
      if (w === 'true' || w === 'false') tokens.push({ t: 'literal', value: { type: 'boolean', value: w === 'true' }, pos: i });
      else if (w === 'null') tokens.push({ t: 'literal', value: { type: 'null' }, pos: i });
      else tokens.push({ t: 'word', value: w, pos: i });
      i += w.length;
      continue;
    }
    throw new ODataFilterError(`Invalid filter clause: syntax error at position ${i} in '${text}'.`);
  }
  return tokens;
}

export function parseFilter(text: string): FilterExpr {
  const tokens = tokenize(text);
  let index = 0;
  const peek = () => tokens[index];
  const fail = (what: string): never => {
    const token = peek();
    throw new ODataFilterError(`Invalid filter clause: ${what} at position ${token ? token.pos : text.length} in '${text}'.`);
  };
  const isWord = (value: string) => {
    const token = peek();
    return token?.t === 'word' && token.value.toLowerCase() === value;
  };

  function parseOr(): FilterExpr {
    const items = [parseAnd()];
    while (isWord('or')) {
      index++;
      items.push(parseAnd());
    }
    return items.length === 1 ? (items[0] as FilterExpr) : { kind: 'or', items };
  }
  function parseAnd(): FilterExpr {
    const items = [parseUnary()];
    while (isWord('and')) {
      index++;
      items.push(parseUnary());
    }
    return items.length === 1 ? (items[0] as FilterExpr) : { kind: 'and', items };
  }
  function parseUnary(): FilterExpr {
    if (isWord('not')) {
      index++;
      return { kind: 'not', item: parseUnary() };
    }
    const token = peek();
    if (token?.t === 'lparen') {
      index++;
      const inner = parseOr();
      if (peek()?.t !== 'rparen') fail("')' expected");
      index++;
      return inner;
    }
    if (token?.t !== 'word') return fail('property or function expected');
    index++;
    const next = peek();
    if (next?.t === 'lparen') {
      // fn(property, literal)
      index++;
      const property = peek();
      if (property?.t !== 'word') return fail('property expected');
      index++;
      if (peek()?.t !== 'comma') fail("',' expected");
      index++;
      const literal = peek();
      if (literal?.t !== 'literal') return fail('literal expected');
      index++;
      if (peek()?.t !== 'rparen') fail("')' expected");
      index++;
      return { kind: 'call', fn: token.value.toLowerCase(), property: property.value, value: literal.value };
    }
    if (next?.t !== 'word' || !OPERATORS.includes(next.value.toLowerCase())) return fail('comparison operator expected');
    index++;
    const literal = peek();
    if (literal?.t !== 'literal') return fail('literal expected');
    index++;
    return { kind: 'compare', property: token.value, op: next.value.toLowerCase() as ComparisonOperator, value: literal.value };
  }

  const expr = parseOr();
  if (index !== tokens.length) fail('unexpected token');
  return expr;
}

/** Flattens `a and (b and c)` into its comparisons; undefined if the filter uses or/not. */
export type Atom = Extract<FilterExpr, { kind: 'compare' | 'call' }>;

export function conjuncts(expr: FilterExpr): Atom[] | undefined {
  if (expr.kind === 'and') {
    const parts = expr.items.map(conjuncts);
    return parts.some((p) => p === undefined) ? undefined : parts.flatMap((p) => p ?? []);
  }
  if (expr.kind === 'compare' || expr.kind === 'call') return [expr];
  return undefined;
}

export function compareValues(actual: number | string, op: ComparisonOperator, expected: number | string): boolean {
  switch (op) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'gt':
      return actual > expected;
    case 'ge':
      return actual >= expected;
    case 'lt':
      return actual < expected;
    case 'le':
      return actual <= expected;
  }
}
