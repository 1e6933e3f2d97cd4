import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Teams Toolkit convention: `env/.env.<name>` holds settings, the git-ignored
 * `env/.env.<name>.user` holds secrets. Values already in the process environment win, so an
 * operator can override a file without editing it.
 */
export function readEnvFiles(name: string, dir: string): Record<string, string> {
  if (!/^[a-z0-9-]+$/i.test(name)) throw new Error(`TEAMSFX_ENV: "${name}" is not a valid environment name (letters, digits, dashes)`);
  const merged: Record<string, string> = {};
  for (const file of [join(dir, `.env.${name}`), join(dir, `.env.${name}.user`)]) {
    if (!existsSync(file)) continue;
    Object.assign(merged, parseEnv(readFileSync(file, 'utf8')));
  }
  return merged;
}

export function environmentWithFiles(processEnv: NodeJS.ProcessEnv, dir: string): Record<string, string | undefined> {
  const name = processEnv.TEAMSFX_ENV;
  if (!name) return { ...processEnv };
  return { ...readEnvFiles(name, dir), ...processEnv };
}
