import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/**
 * `dir`/node_modules as `npm ci --omit=dev` leaves it: the production dependency tree only, as
 * symlinks to this checkout's installed packages (no download). What runs from `dir` finds no dev
 * dependency (vitest, rolldown, typescript…), as in the container image.
 */
export function linkProductionNodeModules(dir: string): number {
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const topLevel = ls.stdout.split('\n').filter((path) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(relative(root, path)));
  for (const path of topLevel) {
    const target = join(dir, relative(root, path));
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(path, target);
  }
  return topLevel.length;
}
