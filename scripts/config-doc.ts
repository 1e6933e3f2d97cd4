// Prints the README's configuration table from src/config/keys.ts, or with --write replaces the
// table between the markers in README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_KEYS } from '../src/config/keys.ts';

const escape = (text: string) => text.replaceAll('|', '\\|');
const rows = CONFIG_KEYS.map(
  (k) => `| \`${k.name}\` | ${escape(k.meaning)}${k.secret ? ' **Secret.**' : ''} | ${k.default ? `\`${escape(k.default)}\`` : '—'} | \`${escape(k.example)}\` |`,
);
const table = ['| Key | Meaning | Default | Example |', '|---|---|---|---|', ...rows].join('\n');

if (process.argv.includes('--write')) {
  const readmePath = resolve(import.meta.dirname, '../README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const begin = '<!-- config-table:begin -->';
  const end = '<!-- config-table:end -->';
  const start = readme.indexOf(begin);
  const stop = readme.indexOf(end);
  if (start < 0 || stop < 0) throw new Error('README.md has no config-table markers');
  writeFileSync(readmePath, `${readme.slice(0, start + begin.length)}\n${table}\n${readme.slice(stop)}`);
} else {
  process.stdout.write(`${table}\n`);
}
