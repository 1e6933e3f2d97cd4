// Exit 0 when the Node.js running this file satisfies package.json's `engines.node`, 1 when not.
// Plain CommonJS with no dependency, so that any Node.js can answer before Node.js 24 is there.
// Understands the comparators npm documents (>=, >, <=, <, =, ^, ~, partial versions, ||).
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const range = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).engines?.node;
if (typeof range !== 'string' || range.trim() === '') process.exit(0);
const have = process.versions.node.split('.').map(Number);

function compare(parts) {
  for (let i = 0; i < parts.length; i++) if (have[i] !== parts[i]) return have[i] - parts[i];
  return 0;
}

function satisfies(comparator) {
  const match = /^(>=|<=|>|<|=|\^|~)?v?(\d+(?:\.\d+){0,2})$/.exec(comparator);
  if (!match) throw new Error(`engines.node: unsupported comparator "${comparator}"`);
  const op = match[1] ?? '=';
  const want = match[2].split('.').map(Number);
  const full = [...want, 0, 0].slice(0, 3);
  switch (op) {
    case '>=': return compare(full) >= 0;
    case '>': return compare(want) > 0;
    case '<=': return compare(want) <= 0;
    case '<': return compare(full) < 0;
    case '=': return compare(want) === 0;
    case '^': return have[0] === want[0] && compare(full) >= 0;
    case '~': return have[0] === want[0] && (want.length < 2 || have[1] === want[1]) && compare(full) >= 0;
  }
  return false;
}

const ok = range.split('||').some((set) => set.trim().split(/\s+/).every(satisfies));
process.exit(ok ? 0 : 1);
