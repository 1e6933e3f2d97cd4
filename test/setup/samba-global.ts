import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { SAMBA_HOW_TO, type SambaEnv } from '../support/samba.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/samba-ad.sh');
const UP_TIMEOUT_MS = 120_000; // first run provisions the cached template (~15 s); later runs ~3 s

function sambaInstalled(): boolean {
  return ['/usr/sbin/samba', '/usr/bin/samba-tool'].every((file) => existsSync(file));
}

/**
 * Starting the DC costs seconds and a process: do it only when a selected test file uses it.
 * vitest does not hand the selected files to globalSetup, so apply its CLI filters (substring
 * of the path) to the test files ourselves; without filters every file counts.
 */
function selectedFilesNeedSamba(project: TestProject): boolean {
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.ts')) files.push(path);
    }
  };
  walk(join(ROOT, 'test'));
  const selected = filters.length === 0 ? files : files.filter((file) => filters.some((f) => file.includes(f) || relative(ROOT, file).includes(f)));
  return selected.some((file) => /requireSamba\(|sambaEnv\(|inject\(\s*['"]samba['"]/.test(readFileSync(file, 'utf8')));
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!selectedFilesNeedSamba(project)) {
    project.provide('samba', null);
    return undefined;
  }
  if (!sambaInstalled()) {
    if (process.env.CI) throw new Error(`Samba AD DC is not installed. ${SAMBA_HOW_TO}`);
    console.warn(`[samba] not installed: directory tests are skipped. ${SAMBA_HOW_TO}`);
    project.provide('samba', null);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'incident-bot-samba-'));
  // SAMBA_OWNER_PID: if this vitest dies without teardown, the next `up` reaps this DC.
  const env = { ...process.env, SAMBA_OWNER_PID: String(process.pid) };
  try {
    await run(SCRIPT, ['up', dir], { env, timeout: UP_TIMEOUT_MS });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    await run(SCRIPT, ['down', dir], { timeout: 30_000 }).catch(() => undefined);
    throw new Error(`scripts/samba-ad.sh up failed: ${stderr.trim().split('\n').slice(-5).join(' | ')}`, { cause: error });
  }
  const samba = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')) as SambaEnv;
  project.provide('samba', samba);
  return async () => {
    await run(SCRIPT, ['down', dir], { timeout: 30_000 });
  };
}
