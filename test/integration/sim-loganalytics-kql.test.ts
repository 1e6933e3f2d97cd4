import { describe, expect, it } from 'vitest';
import { KqlError } from '../../sim/loganalytics/kql/kql-error.ts';
import { runKql, type KqlTable } from '../../sim/loganalytics/kql/kql-query.ts';
import { tokenizeKql } from '../../sim/loganalytics/kql/kql-lexer.ts';

// The stand-in's `has` operators, evaluated directly: what Kusto documents for them (whole terms,
// case-insensitive unless _cs), so a client cannot pass here with a query that would match
// differently on the service.
const T: KqlTable = {
  columns: [
    { name: 'Id', type: 'string' },
    { name: 'Text', type: 'string' },
    { name: 'Score', type: 'real' },
  ],
  rows: [
    ['upn', '[{"Name":"jdoe","UPNSuffix":"corp.example","Sid":"S-1-5-21-1-2-3-1104"}]', 1],
    ['prefix', '{"Name":"jdoe.admin","NTDomain":"CORP"}', 2],
    ['inside', 'KustoExplorerQueryRun xjdoe jdoex', 3],
    ['domain', 'CORP\\JDoe logged on', 4],
    ['sidlonger', 'S-1-5-21-1-2-3-11045', 5],
    ['unicode', 'Zoë Müller', 6],
    ['empty', '', 7],
  ],
};

function ids(query: string): string[] {
  return runKql(`T | where ${query} | project Id`, { tables: { T }, now: Date.parse('2026-11-20T10:00:00Z') }).rows.map((row) => String(row[0]));
}

describe('KQL string operators in the Log Analytics stand-in', () => {
  it('has matches whole terms only, ignoring case', () => {
    expect(ids('Text has "jdoe"')).toEqual(['upn', 'prefix', 'domain']);
    expect(ids('Text has "JDOE"')).toEqual(['upn', 'prefix', 'domain']);
    // A substring of a term is not a term.
    expect(ids('Text has "Explorer"')).toEqual([]);
    expect(ids('Text has "xjdoe"')).toEqual(['inside']);
    expect(ids('Text has "KustoExplorerQueryRun"')).toEqual(['inside']);
  });

  it('has with punctuation in the right side matches it as a phrase on term boundaries (UPN, SID)', () => {
    expect(ids('Text has "jdoe.admin"')).toEqual(['prefix']);
    expect(ids('Text has "S-1-5-21-1-2-3-1104"')).toEqual(['upn']);
    expect(ids('Text has "CORP\\\\jdoe"')).toEqual(['domain']);
    // Quotes and other punctuation at the ends need no boundary of their own.
    expect(ids('Text has "\\"jdoe\\""')).toEqual(['upn']);
    expect(ids('Text has "Müller"')).toEqual(['unicode']);
    expect(ids('Text has "Zo"')).toEqual([]);
  });

  it('has_cs respects case; the negations are the complement', () => {
    expect(ids('Text has_cs "jdoe"')).toEqual(['upn', 'prefix']);
    expect(ids('Text has_cs "JDoe"')).toEqual(['domain']);
    expect(ids('Text !has "jdoe"')).toEqual(['inside', 'sidlonger', 'unicode', 'empty']);
    expect(ids('Text !has_cs "JDoe"')).toEqual(['upn', 'prefix', 'inside', 'sidlonger', 'unicode', 'empty']);
  });

  it('combines with and/or like any other predicate', () => {
    expect(ids('Text has "S-1-5-21-1-2-3-1104" or Text has "jdoe.admin"')).toEqual(['upn', 'prefix']);
    expect(ids('(Text has "jdoe" and Score > 1) or Id == "unicode"')).toEqual(['prefix', 'domain', 'unicode']);
  });

  it('refuses non-string operands and the operators it does not implement', () => {
    expect(() => ids('Score has "1"')).toThrow(KqlError);
    expect(() => ids('Score has "1"')).toThrow(/expects string operands/);
    expect(() => ids('Text hasprefix "jd"')).toThrow(/not supported/);
    expect(() => ids('Text contains "jd"')).toThrow(/not supported/);
    expect(() => ids('Text startswith "jd"')).toThrow(/not supported/);
  });

  it('reads an escaped string literal back to the exact value (what kqlString writes)', () => {
    const [token] = tokenizeKql('"jdoe\\" or 1==1 \\\\ \'x\'"');
    expect(token).toMatchObject({ kind: 'string', value: 'jdoe" or 1==1 \\ \'x\'' });
    // As a has operand it stays one value: no row's Text holds it, so nothing matches.
    expect(ids('Text has "jdoe\\" or 1==1"')).toEqual([]);
  });
});

describe('KQL ingestion_time(), extend and bag_has_key in the Log Analytics stand-in', () => {
  const rows: KqlTable = {
    columns: [
      { name: 'Id', type: 'string' },
      { name: 'ExtendedProperties', type: 'string' },
    ],
    rows: [
      ['plain', '{"Category":"CredentialAccess"}'],
      ['customised', '{"OriginalProductName":"Azure Advanced Threat Protection"}'],
      ['not-json', 'OriginalProductName'],
    ],
  };
  const ingested = new Map<unknown, number>(rows.rows.map((row, i) => [row, Date.parse('2026-11-20T09:00:00Z') + i * 60_000]));
  const run = (query: string) => runKql(query, { tables: { T: rows }, now: Date.parse('2026-11-20T10:00:00Z'), ingestionTimeOf: (row) => ingested.get(row) ?? null });

  it('ingestion_time() is the row\'s own, kept through extend, where, sort and summarize', () => {
    const result = run('T | extend At = ingestion_time() | where At >= datetime(2026-11-20T09:01:00Z) | summarize arg_max(At, *) by Id | sort by At asc | project Id, At');
    expect(result.rows).toEqual([
      ['customised', Date.parse('2026-11-20T09:01:00Z')],
      ['not-json', Date.parse('2026-11-20T09:02:00Z')],
    ]);
    // Without an ingestion time (a table that keeps none) it is null, never "now".
    expect(runKql('T | extend At = ingestion_time() | project At', { tables: { T: rows }, now: 0 }).rows).toEqual([[null], [null], [null]]);
  });

  it('bag_has_key(todynamic(...)) finds a top-level key of a JSON object only', () => {
    const kept = run('T | where not(bag_has_key(todynamic(ExtendedProperties), "OriginalProductName")) | project Id').rows.map((r) => r[0]);
    expect(kept).toEqual(['plain', 'not-json']);
    expect(() => run('T | where bag_has_key(ExtendedProperties, "OriginalProductName")')).toThrow(KqlError);
  });
});
