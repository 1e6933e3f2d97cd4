import { KqlError } from './kql-error.ts';
import { tokenizeKql, type KqlToken } from './kql-lexer.ts';

/**
 * A deliberately small, typed KQL evaluator for the local Log Analytics stand-in. It supports what
 * an alert notifier needs and refuses everything else with the service's error shape:
 *   <Table> | where <expr> | sort|order by Col [asc|desc], ... | take|limit N | project A, B
 *           | summarize arg_max(Col, *) by Key, ... | extend Name = <expr>, ...
 * Expressions: == != =~ !~ < <= > >= in (...) !in (...), and/or/not(), parentheses,
 * the term operators has, !has, has_cs, !has_cs (see stringMatch; `contains` and the other string
 * operators are refused: nothing here needs them yet),
 * isempty/isnotempty(x), ago(timespan), now(), datetime(...) literals, string/number/bool literals,
 * ingestion_time() (the row's ingestion time, as the service keeps it per record), todynamic(s)
 * and bag_has_key(dynamic, key) (the MDI connector's own filter of customised alerts).
 * Comparisons are type-checked like Kusto (no string-to-datetime coercion), so a client query that
 * would fail on the real service fails here too.
 */
export type KqlType = 'string' | 'datetime' | 'bool' | 'int' | 'long' | 'real' | 'dynamic' | 'timespan' | 'guid';

export interface KqlColumn {
  name: string;
  type: KqlType;
}

/** Cell values: datetimes and timespans as epoch milliseconds, null where Kusto has null. */
export type KqlCell = string | number | boolean | null | object;

export interface KqlTable {
  columns: KqlColumn[];
  rows: KqlCell[][];
}

export interface KqlContext {
  /** Resolves table names (case-sensitive, like Kusto). */
  tables: Record<string, KqlTable>;
  now: number;
  /** ingestion_time() of a source row (epoch ms); null (as on a table without it) when absent. */
  ingestionTimeOf?: (row: KqlCell[]) => number | null;
}

const SUPPORTED_OPERATORS = 'where, sort by / order by, take / limit, project, extend, summarize arg_max(Col, *) by Col';

export function runKql(query: string, context: KqlContext): KqlTable {
  const parser = new Parser(tokenizeKql(query), context);
  return parser.parseQuery();
}

type Category = 'string' | 'number' | 'datetime' | 'bool' | 'timespan' | 'dynamic';

function category(type: KqlType): Category {
  switch (type) {
    case 'string':
    case 'guid':
      return 'string';
    case 'int':
    case 'long':
    case 'real':
      return 'number';
    default:
      return type;
  }
}

interface Compiled {
  type: KqlType;
  evaluate(row: KqlCell[]): KqlCell;
}

class Parser {
  private index = 0;
  private readonly tokens: KqlToken[];
  private readonly context: KqlContext;
  /** Ingestion time per row array, carried along when an operator builds new rows. */
  private readonly ingested = new WeakMap<KqlCell[], number | null>();

  constructor(tokens: KqlToken[], context: KqlContext) {
    this.tokens = tokens;
    this.context = context;
  }

  parseQuery(): KqlTable {
    const name = this.expectIdent('a table name');
    const source = this.context.tables[name.text];
    if (!source) throw KqlError.semantic(`Failed to resolve table or column expression named '${name.text}'`);
    let table: KqlTable = { columns: [...source.columns], rows: source.rows.map((row) => this.carry(row, [...row], this.context.ingestionTimeOf?.(row) ?? null)) };
    while (this.peekPunct('|')) {
      this.index++;
      table = this.parseOperator(table);
    }
    const rest = this.peek();
    if (rest.kind !== 'eof') throw this.syntax(rest, 'expected | or the end of the query');
    return table;
  }

  private parseOperator(table: KqlTable): KqlTable {
    const op = this.expectIdent('a tabular operator');
    switch (op.text) {
      case 'where':
        return this.parseWhere(table);
      case 'sort':
      case 'order':
        return this.parseSort(table);
      case 'take':
      case 'limit':
        return this.parseTake(table);
      case 'project':
        return this.parseProject(table);
      case 'summarize':
        return this.parseSummarize(table);
      case 'extend':
        return this.parseExtend(table);
      default:
        throw this.syntax(op, `operator '${op.text}' is not supported by the local Log Analytics stand-in (supported: ${SUPPORTED_OPERATORS})`);
    }
  }

  private parseWhere(table: KqlTable): KqlTable {
    const predicate = this.parseExpression(table.columns);
    if (predicate.type !== 'bool') throw KqlError.semantic(`'where' operator: the predicate must be of type bool, not ${predicate.type}`);
    return { columns: table.columns, rows: table.rows.filter((row) => predicate.evaluate(row) === true) };
  }

  private parseSort(table: KqlTable): KqlTable {
    this.expectKeyword('by');
    const keys: { index: number; type: KqlType; descending: boolean }[] = [];
    do {
      const index = this.columnIndex(table.columns, this.expectIdent('a column'), 'sort');
      let descending = true; // Kusto's default order is descending
      const next = this.peek();
      if (next.kind === 'ident' && (next.text === 'asc' || next.text === 'desc')) {
        descending = next.text === 'desc';
        this.index++;
      }
      const after = this.peek();
      if (after.kind === 'ident' && after.text === 'nulls') throw this.syntax(after, "'nulls first|last' is not supported by the local stand-in");
      keys.push({ index, type: table.columns[index]!.type, descending });
    } while (this.acceptPunct(','));
    const rows = [...table.rows].sort((a, b) => {
      for (const key of keys) {
        const order = compareForSort(a[key.index] ?? null, b[key.index] ?? null, key.descending);
        if (order !== 0) return order;
      }
      return 0;
    });
    return { columns: table.columns, rows };
  }

  private parseTake(table: KqlTable): KqlTable {
    const count = this.peek();
    if (count.kind !== 'number' || !Number.isInteger(count.value) || (count.value as number) < 0) throw this.syntax(count, 'expected a non-negative integer');
    this.index++;
    return { columns: table.columns, rows: table.rows.slice(0, count.value as number) };
  }

  private parseProject(table: KqlTable): KqlTable {
    const indices: number[] = [];
    do {
      const name = this.expectIdent('a column');
      if (this.peekPunct('=')) throw this.syntax(this.peek(), "computed or renamed columns in 'project' are not supported by the local stand-in");
      const index = this.columnIndex(table.columns, name, 'project');
      if (indices.includes(index)) throw KqlError.semantic(`'project' operator: column '${name.text}' is projected twice`);
      indices.push(index);
    } while (this.acceptPunct(','));
    return {
      columns: indices.map((i) => table.columns[i]!),
      rows: table.rows.map((row) => this.carry(row, indices.map((i) => row[i] ?? null))),
    };
  }

  /** `extend Name = expr, ...`: a new column per assignment, computed per row (an existing name is replaced). */
  private parseExtend(table: KqlTable): KqlTable {
    let columns = [...table.columns];
    let rows = table.rows;
    do {
      const name = this.expectIdent('a column name');
      this.expectPunct('=');
      const value = this.parseExpression(columns);
      const existing = columns.findIndex((c) => c.name === name.text);
      const at = existing >= 0 ? existing : columns.length;
      columns = existing >= 0 ? columns.map((c, i) => (i === at ? { name: name.text, type: value.type } : c)) : [...columns, { name: name.text, type: value.type }];
      rows = rows.map((row) => {
        const next = [...row];
        next[at] = value.evaluate(row);
        return this.carry(row, next);
      });
    } while (this.acceptPunct(','));
    return { columns, rows };
  }

  /** Registers `next` as built from `from`, keeping its ingestion time (or setting `time`). */
  private carry(from: KqlCell[], next: KqlCell[], time?: number | null): KqlCell[] {
    this.ingested.set(next, time !== undefined ? time : (this.ingested.get(from) ?? null));
    return next;
  }

  /** Only `summarize arg_max(Col, *) [by Key, ...]`: Sentinel writes each alert version as a new row. */
  private parseSummarize(table: KqlTable): KqlTable {
    const fn = this.expectIdent('an aggregation');
    if (fn.text !== 'arg_max') throw this.syntax(fn, `aggregation '${fn.text}' is not supported by the local stand-in (only arg_max(Col, *))`);
    this.expectPunct('(');
    const target = this.columnIndex(table.columns, this.expectIdent('a column'), 'summarize');
    this.expectPunct(',');
    this.expectPunct('*');
    this.expectPunct(')');
    const keys: number[] = [];
    if (this.peekKeyword('by')) {
      this.index++;
      do keys.push(this.columnIndex(table.columns, this.expectIdent('a column'), 'summarize'));
      while (this.acceptPunct(','));
    }
    const groups = new Map<string, KqlCell[]>();
    for (const row of table.rows) {
      const key = JSON.stringify(keys.map((k) => row[k] ?? null));
      const best = groups.get(key);
      const value = row[target] ?? null;
      // arg_max ignores nulls; a group whose values are all null keeps its first row.
      if (!best || (value !== null && (best[target] === null || compareValues(value, best[target] ?? null) > 0))) groups.set(key, row);
    }
    // Output order as Kusto: the by-columns, the maximised column, then every other column once.
    const order = [...keys, ...(keys.includes(target) ? [] : [target])];
    table.columns.forEach((_, i) => {
      if (!order.includes(i)) order.push(i);
    });
    return {
      columns: order.map((i) => table.columns[i]!),
      rows: [...groups.values()].map((row) => this.carry(row, order.map((i) => row[i] ?? null))),
    };
  }

  // ---- expressions -----------------------------------------------------------------------------

  private parseExpression(columns: KqlColumn[]): Compiled {
    let left = this.parseAnd(columns);
    while (this.peekKeyword('or')) {
      this.index++;
      const right = this.parseAnd(columns);
      left = logical('or', left, right);
    }
    return left;
  }

  private parseAnd(columns: KqlColumn[]): Compiled {
    let left = this.parseComparison(columns);
    while (this.peekKeyword('and')) {
      this.index++;
      const right = this.parseComparison(columns);
      left = logical('and', left, right);
    }
    return left;
  }

  private parseComparison(columns: KqlColumn[]): Compiled {
    const left = this.parsePrimary(columns);
    const token = this.peek();
    if (token.kind === 'punct' && ['==', '!=', '=~', '!~', '<', '<=', '>', '>='].includes(token.text)) {
      this.index++;
      const right = this.parsePrimary(columns);
      return compare(token.text, left, right);
    }
    if (token.kind === 'ident' && token.text === 'in') {
      this.index++;
      return this.parseIn(left, false, columns);
    }
    if (token.kind === 'punct' && token.text === '!' && this.tokens[this.index + 1]?.text === 'in') {
      this.index += 2;
      return this.parseIn(left, true, columns);
    }
    if (token.kind === 'ident' && STRING_OPERATORS.includes(token.text)) {
      this.index++;
      return stringMatch(token.text, false, left, this.parsePrimary(columns));
    }
    const after = this.tokens[this.index + 1];
    if (token.kind === 'punct' && token.text === '!' && after?.kind === 'ident' && NEGATABLE.includes(after.text)) {
      this.index += 2;
      return stringMatch(after.text, true, left, this.parsePrimary(columns));
    }
    if (token.kind === 'ident' && ['contains', 'contains_cs', 'startswith', 'endswith', 'between', 'matches', 'has_any', 'has_all', 'in~', 'hasprefix', 'hassuffix'].includes(token.text)) {
      throw this.syntax(token, `operator '${token.text}' is not supported by the local stand-in`);
    }
    return left;
  }

  private parseIn(left: Compiled, negate: boolean, columns: KqlColumn[]): Compiled {
    this.expectPunct('(');
    const items: Compiled[] = [];
    do items.push(this.parsePrimary(columns));
    while (this.acceptPunct(','));
    this.expectPunct(')');
    for (const item of items) {
      if (category(item.type) !== category(left.type)) throw KqlError.semantic(`'in' operator: cannot compare ${left.type} with ${item.type}`);
    }
    return {
      type: 'bool',
      evaluate: (row) => {
        const value = left.evaluate(row);
        if (value === null) return false;
        const found = items.some((item) => compareValues(value, item.evaluate(row)) === 0);
        return negate ? !found : found;
      },
    };
  }

  private parsePrimary(columns: KqlColumn[]): Compiled {
    const token = this.peek();
    this.index++;
    switch (token.kind) {
      case 'string':
        return constant('string', token.value as string);
      case 'number':
        return constant(Number.isInteger(token.value) ? 'long' : 'real', token.value as number);
      case 'timespan':
        return constant('timespan', token.value as number);
      case 'datetime':
        return constant('datetime', token.value as number);
      case 'punct':
        if (token.text === '(') {
          const inner = this.parseExpression(columns);
          this.expectPunct(')');
          return inner;
        }
        throw this.syntax(token, 'expected an expression');
      case 'ident':
        break;
      default:
        throw this.syntax(token, 'expected an expression');
    }
    if (token.text === 'true' || token.text === 'false') return constant('bool', token.text === 'true');
    if (this.peekPunct('(')) return this.parseCall(token, columns);
    const index = columns.findIndex((c) => c.name === token.text);
    if (index < 0) throw KqlError.semantic(`'where' operator: Failed to resolve scalar expression named '${token.text}'`);
    return { type: columns[index]!.type, evaluate: (row) => row[index] ?? null };
  }

  private parseCall(name: KqlToken, columns: KqlColumn[]): Compiled {
    this.expectPunct('(');
    const args: Compiled[] = [];
    if (!this.peekPunct(')')) {
      do args.push(this.parseExpression(columns));
      while (this.acceptPunct(','));
    }
    this.expectPunct(')');
    const arity = (n: number) => {
      if (args.length !== n) throw KqlError.semantic(`function '${name.text}' expects ${n} argument(s), got ${args.length}`);
    };
    switch (name.text) {
      case 'isempty':
      case 'isnotempty': {
        arity(1);
        const arg = args[0]!;
        const empty = (v: KqlCell) => v === null || v === '';
        return { type: 'bool', evaluate: (row) => (name.text === 'isempty') === empty(arg.evaluate(row)) };
      }
      case 'ago': {
        arity(1);
        if (args[0]!.type !== 'timespan') throw KqlError.semantic(`function 'ago' expects a timespan, got ${args[0]!.type}`);
        const span = args[0]!.evaluate([]) as number;
        const now = this.context.now;
        return constant('datetime', now - span);
      }
      case 'now':
        arity(0);
        return constant('datetime', this.context.now);
      case 'ingestion_time':
        arity(0);
        return { type: 'datetime', evaluate: (row) => this.ingested.get(row) ?? null };
      case 'todynamic':
      case 'parse_json': {
        arity(1);
        const arg = args[0]!;
        return {
          type: 'dynamic',
          evaluate: (row) => {
            const value = arg.evaluate(row);
            if (typeof value !== 'string') return value;
            try {
              return JSON.parse(value) as KqlCell;
            } catch {
              return value; // Kusto keeps a non-JSON string as a dynamic string
            }
          },
        };
      }
      case 'bag_has_key': {
        arity(2);
        const [bag, key] = args as [Compiled, Compiled];
        if (bag.type !== 'dynamic') throw KqlError.semantic(`function 'bag_has_key' expects a dynamic property bag, got ${bag.type}`);
        if (category(key.type) !== 'string') throw KqlError.semantic(`function 'bag_has_key' expects a string key, got ${key.type}`);
        return {
          type: 'bool',
          evaluate: (row) => {
            const value = bag.evaluate(row);
            const name = key.evaluate(row);
            return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof name === 'string' && Object.hasOwn(value, name);
          },
        };
      }
      case 'not': {
        arity(1);
        const arg = args[0]!;
        if (arg.type !== 'bool') throw KqlError.semantic(`function 'not' expects a bool, got ${arg.type}`);
        return { type: 'bool', evaluate: (row) => arg.evaluate(row) === false };
      }
      default:
        throw this.syntax(name, `function '${name.text}' is not supported by the local stand-in`);
    }
  }

  // ---- token helpers ---------------------------------------------------------------------------

  private peek(): KqlToken {
    return this.tokens[this.index] ?? this.tokens[this.tokens.length - 1]!;
  }

  private peekPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private peekKeyword(text: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text === text;
  }

  private acceptPunct(text: string): boolean {
    if (!this.peekPunct(text)) return false;
    this.index++;
    return true;
  }

  private expectPunct(text: string): void {
    if (!this.acceptPunct(text)) throw this.syntax(this.peek(), `expected '${text}'`);
  }

  private expectKeyword(text: string): void {
    if (!this.peekKeyword(text)) throw this.syntax(this.peek(), `expected '${text}'`);
    this.index++;
  }

  private expectIdent(what: string): KqlToken {
    const t = this.peek();
    if (t.kind !== 'ident') throw this.syntax(t, `expected ${what}`);
    this.index++;
    return t;
  }

  private columnIndex(columns: KqlColumn[], name: KqlToken, operator: string): number {
    const index = columns.findIndex((c) => c.name === name.text);
    if (index < 0) throw KqlError.semantic(`'${operator}' operator: Failed to resolve scalar expression named '${name.text}'`);
    return index;
  }

  private syntax(token: KqlToken, reason: string): KqlError {
    return KqlError.syntax(reason, token.text, token);
  }
}

/** String operators the stand-in evaluates; each also negated with a leading `!` (`!has`, `!has_cs`). */
const STRING_OPERATORS = ['has', 'has_cs'];
const NEGATABLE = STRING_OPERATORS;

/**
 * Kusto's term operators on strings, `has` and `has_cs`: the right side is a whole term of the left
 * side. Kusto splits strings into maximal runs of alphanumeric characters (its terms), so
 * "KustoExplorerQueryRun" has "Explorer" is false although it contains it. A right side holding
 * punctuation (a UPN, a SID) matches where it occurs with its alphanumeric ends on term
 * boundaries: "CORP\jdoe.x" has "jdoe" is true, "xjdoe" has "jdoe" is false. `has` ignores case,
 * `has_cs` does not. Both sides must be strings, as on the service.
 */
function stringMatch(op: string, negate: boolean, left: Compiled, right: Compiled): Compiled {
  const name = `${negate ? '!' : ''}${op}`;
  if (category(left.type) !== 'string' || category(right.type) !== 'string') {
    throw KqlError.semantic(`operator '${name}' expects string operands, got ${left.type} and ${right.type}`);
  }
  const caseSensitive = op.endsWith('_cs');
  return {
    type: 'bool',
    evaluate: (row) => {
      const l = left.evaluate(row);
      const r = right.evaluate(row);
      if (l === null || r === null) return false;
      const hay = caseSensitive ? String(l) : String(l).toLowerCase();
      const needle = caseSensitive ? String(r) : String(r).toLowerCase();
      const found = hasTerm(hay, needle);
      return negate ? !found : found;
    },
  };
}

const ALNUM_END = /[\p{L}\p{N}]$/u;
const ALNUM_START = /^[\p{L}\p{N}]/u;

function hasTerm(hay: string, needle: string): boolean {
  if (needle === '') return false;
  const openStart = !ALNUM_START.test(needle);
  const openEnd = !ALNUM_END.test(needle);
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    const startsTerm = openStart || !ALNUM_END.test(hay.slice(Math.max(0, at - 2), at));
    const endsTerm = openEnd || !ALNUM_START.test(hay.slice(end, end + 2));
    if (startsTerm && endsTerm) return true;
  }
  return false;
}

function constant(type: KqlType, value: KqlCell): Compiled {
  return { type, evaluate: () => value };
}

function logical(op: 'and' | 'or', left: Compiled, right: Compiled): Compiled {
  if (left.type !== 'bool' || right.type !== 'bool') throw KqlError.semantic(`'${op}' expects bool operands, got ${left.type} and ${right.type}`);
  return {
    type: 'bool',
    evaluate: (row) => (op === 'and' ? left.evaluate(row) === true && right.evaluate(row) === true : left.evaluate(row) === true || right.evaluate(row) === true),
  };
}

function compare(op: string, left: Compiled, right: Compiled): Compiled {
  const l = category(left.type);
  const r = category(right.type);
  if (l !== r) throw KqlError.semantic(`Cannot compare values of types ${left.type} and ${right.type}. Try adding explicit casts`);
  if ((op === '=~' || op === '!~') && l !== 'string') throw KqlError.semantic(`operator '${op}' applies to strings only, not ${left.type}`);
  if (['<', '<=', '>', '>='].includes(op) && !['number', 'datetime', 'timespan'].includes(l)) {
    throw KqlError.semantic(`operator '${op}' is not supported by the local stand-in for ${left.type} operands`);
  }
  if (l === 'dynamic') throw KqlError.semantic('comparing dynamic values is not supported by the local stand-in');
  return {
    type: 'bool',
    evaluate: (row) => {
      let a = left.evaluate(row);
      let b = right.evaluate(row);
      // Kusto: a comparison with null is null, which 'where' treats as false.
      if (a === null || b === null) return false;
      if (op === '=~' || op === '!~') {
        a = String(a).toLowerCase();
        b = String(b).toLowerCase();
      }
      const order = compareValues(a, b);
      switch (op) {
        case '==':
        case '=~':
          return order === 0;
        case '!=':
        case '!~':
          return order !== 0;
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        default:
          return order >= 0;
      }
    },
  };
}

function compareValues(a: KqlCell, b: KqlCell): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0; // ordinal, case-sensitive like Kusto's ==
}

/** Kusto puts nulls first in ascending order and last in descending order. */
function compareForSort(a: KqlCell, b: KqlCell, descending: boolean): number {
  if (a === null && b === null) return 0;
  if (a === null) return descending ? 1 : -1;
  if (b === null) return descending ? -1 : 1;
  const order = compareValues(a, b);
  return descending ? -order : order;
}
