import { spawnSync } from 'node:child_process';
import { ensureTestCa } from '../../sim/test-ca.ts';

/**
 * The local HTTPS stand-ins (Entra, Graph, Okta, connector) use the throw-away test CA, and Node
 * reads NODE_EXTRA_CA_CERTS only at process start. A benchmark run without it re-runs itself as
 * a child process that trusts the CA, and exits with the child's code; with it, this returns.
 */
export function ensureTrustedTestCa(entryFile: string): void {
  const ca = ensureTestCa();
  if (process.env.NODE_EXTRA_CA_CERTS === ca.caFile) return;
  const child = spawnSync(process.execPath, [...process.execArgv, entryFile, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile },
  });
  if (child.error) throw child.error;
  process.exit(child.status ?? 1);
}
