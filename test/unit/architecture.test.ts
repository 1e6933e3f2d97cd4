import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layout rules that keep a vendor change to one folder: botbuilder (archived; successor the
// Microsoft 365 Agents SDK) only in src/bot/, each vendor SDK only in its adapter folder.
const root = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

const importsOf = (file: string): string[] =>
  [...readFileSync(resolve(root, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);

const confined: [RegExp, string][] = [
  [/^botbuilder(-core)?$|^botframework-/, 'src/bot/'],
  [/^ldapts/, 'src/adapters/ldap/'],
  [/^@microsoft\/microsoft-graph-client/, 'src/adapters/graph/'],
  [/^@azure\/monitor-query-logs/, 'src/adapters/loganalytics/'],
  [/^@azure\/identity/, 'src/adapters/azure/'],
  [/^(pg|kysely)$/, 'src/store/'],
  [/^restify$/, 'src/http/'],
  // The OpenTelemetry SDK and exporters load only in src/observability/ (dynamically); elsewhere only @opentelemetry/api.
  [/^@opentelemetry\/(?!api$)|^@azure\/monitor-opentelemetry/, 'src/observability/'],
];

describe('architecture', () => {
  const files = sourceFiles(resolve(root, 'src'));

  it('finds the source files it checks', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain('src/bot/bot-adapter.ts');
  });

  it.each(confined)('imports %s only inside %s', (pattern, folder) => {
    const strays = files.filter((file) => !file.startsWith(folder) && importsOf(file).some((spec) => pattern.test(spec)));
    expect(strays).toEqual([]);
  });

  /** Relative imports of `file` resolved to paths from the repository root. */
  const localImports = (file: string): string[] => importsOf(file).filter((spec) => spec.startsWith('.')).map((spec) => relative(root, resolve(root, file, '..', spec)));

  it('the notifier does not call into the approvals (it asks for the card state through a port)', () => {
    const strays = files.filter((file) => file.startsWith('src/notifier/') && localImports(file).some((path) => path.startsWith('src/approvals/')));
    expect(strays).toEqual([]);
  });

  it('commands do not import adapters (they speak ports)', () => {
    const strays = files.filter((file) => file.startsWith('src/commands/') && localImports(file).some((path) => path.startsWith('src/adapters/')));
    expect(strays).toEqual([]);
  });

  it('adapters take the action catalog and remediation types from the domain, never from src/actions/', () => {
    const strays = files.filter((file) => file.startsWith('src/adapters/') && localImports(file).some((path) => path.startsWith('src/actions/')));
    expect(strays).toEqual([]);
  });

  it('src/actions/ (catalog, policy, proposals, router) never imports an adapter: remediation lives in src/adapters/', () => {
    const strays = files.filter((file) => file.startsWith('src/actions/') && localImports(file).some((path) => path.startsWith('src/adapters/')));
    expect(strays).toEqual([]);
  });

  it('adapters import only the domain, shared helpers, their own folder and the shared Azure credential', () => {
    const strays = files.flatMap((file) => {
      const own = /^src\/adapters\/[^/]+\//.exec(file)?.[0];
      if (!own) return [];
      const allowed = ['src/domain/', 'src/shared/', own, 'src/adapters/azure/'];
      return localImports(file)
        .filter((path) => !allowed.some((prefix) => path.startsWith(prefix)))
        .map((path) => `${file} -> ${path}`);
    });
    expect(strays).toEqual([]);
  });

  it.each(['src/approvals/', 'src/commands/', 'src/notifier/', 'src/actions/', 'src/ownership/', 'src/escalation/', 'src/writeback/'])('the use cases in %s never import adapters (they speak ports)', (folder) => {
    const strays = files.filter((file) => file.startsWith(folder) && localImports(file).some((path) => path.startsWith('src/adapters/')));
    expect(strays).toEqual([]);
  });

  it('nothing in src/ imports the stand-ins, tests, lab or bench', () => {
    const outside = /^(sim|test|lab|bench)\//;
    const strays = files.filter((file) => localImports(file).some((path) => outside.test(path)) || importsOf(file).some((spec) => outside.test(spec)));
    expect(strays).toEqual([]);
  });

  it('the lab and the bench use the product (src/ and its production build, scripts/build.ts) and the stand-ins only (sim/), never the tests', () => {
    const tree = (dir: string) => sourceFiles(resolve(root, dir));
    const strays = [...tree('lab'), ...tree('bench')].flatMap((file) => {
      const own = file.split('/')[0]!;
      return localImports(file)
        .filter((path) => path !== 'scripts/build.ts' && !['src/', 'sim/', `${own}/`].some((prefix) => path.startsWith(prefix)))
        .map((path) => `${file} -> ${path}`);
    });
    expect(strays).toEqual([]);
  });

  it('the stand-ins (sim/) never import the tests, the lab or the bench', () => {
    const strays = sourceFiles(resolve(root, 'sim')).filter((file) => localImports(file).some((path) => /^(test|lab|bench)\//.test(path)));
    expect(strays).toEqual([]);
  });

  it('the domain imports nothing from other folders', () => {
    const strays = files.filter((file) => file.startsWith('src/domain/') && localImports(file).some((path) => !path.startsWith('src/domain/')));
    expect(strays).toEqual([]);
  });

  it('no file in src/approvals/ is over ~300 lines', () => {
    const long = files.filter((file) => file.startsWith('src/approvals/') && readFileSync(resolve(root, file), 'utf8').split('\n').length > 300);
    expect(long).toEqual([]);
  });

  it('no file under src/ is over ~300 lines (one thing per file)', () => {
    const long = files.filter((file) => file.startsWith('src/') && readFileSync(resolve(root, file), 'utf8').split('\n').length > 300);
    expect(long).toEqual([]);
  });

  it('keeps the domain free of vendor SDKs and of the bot layer', () => {
    const domain = files.filter((file) => file.startsWith('src/domain/'));
    const offending = domain.filter((file) => importsOf(file).some((spec) => !spec.startsWith('.') && !spec.startsWith('node:')));
    expect(offending).toEqual([]);
  });
});
