/**
 * The production build: src/main.ts and everything it imports, as one ES module (plus one chunk
 * per lazily imported integration, so a configuration still loads only what it uses), in dist/.
 * The container image and `npm start` run dist/main.mjs; tests, the lab and `npm run dev` run the
 * TypeScript sources directly, as before.
 *
 *   node scripts/build.ts [--out <dir>]      (default dist/)
 *
 * Why a build at all (issue 16, start → ready): Node.js resolves, reads, compiles and links every
 * ES module file on its own, at roughly half a millisecond each even with the compile cache. The
 * bot's ~190 source files and kysely's ~260 (it ships as ES modules only) were a third of a start.
 * What is bundled: our own code and kysely. Everything else stays in node_modules exactly as
 * `npm ci --omit=dev` installs it (botbuilder and restify, the stack's floor; pino, whose
 * transports resolve files by path; @opentelemetry/api, a process-wide singleton the SDK must share;
 * every vendor SDK, loaded lazily) — so the image still ships the production dependency tree.
 *
 * Source maps are written beside the output; start with NODE_OPTIONS=--enable-source-maps to see
 * TypeScript lines in stack traces (it is off by default: parsing every map costs ~60 ms at start).
 */
import { rmSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'rolldown';

/** Packages inlined into the bundle; any other bare import stays a runtime import from node_modules. */
export const BUNDLED_PACKAGES: ReadonlySet<string> = new Set(['kysely']);

const root = resolve(import.meta.dirname, '..');

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isExternal(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  if (specifier.startsWith('.') || isAbsolute(specifier)) return false;
  return !BUNDLED_PACKAGES.has(packageOf(specifier));
}

export async function buildBot(outDir = resolve(root, 'dist')): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    cwd: root,
    input: { main: resolve(root, 'src/main.ts') },
    platform: 'node',
    external: isExternal,
    logLevel: 'warn',
    output: {
      dir: outDir,
      format: 'esm',
      entryFileNames: '[name].mjs',
      chunkFileNames: 'chunks/[name]-[hash].mjs',
      sourcemap: true,
      // Readable output (function names, one region comment per source file) for stack traces without maps.
      minify: false,
    },
  });
  return resolve(outDir, 'main.mjs');
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const entry = await buildBot(values.out ? resolve(values.out) : undefined);
  process.stdout.write(`built ${entry}\n`);
}
