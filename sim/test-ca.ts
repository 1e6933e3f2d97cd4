import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * A throw-away certificate authority and a loopback server certificate, made with openssl at
 * test time (never committed). Node reads NODE_EXTRA_CA_CERTS only at process start, so the CA
 * is made by vitest.config.ts before any worker starts, and the local lab does the same.
 */
export interface TestCa {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
  cert: string;
  key: string;
}

const DEFAULT_DIR = resolve(import.meta.dirname, '../.tools/test-ca');

export function ensureTestCa(dir: string = DEFAULT_DIR): TestCa {
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  if (!existsSync(certFile) || !existsSync(caFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '30',
      '-subj', '/CN=incident-bot test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    const ext = join(dir, 'server.ext');
    writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', join(dir, 'server.csr'), '-subj', '/CN=localhost');
    openssl('x509', '-req', '-in', join(dir, 'server.csr'), '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '30', '-extfile', ext);
  }
  return {
    dir,
    caFile,
    certFile,
    keyFile,
    ca: readFileSync(caFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  };
}
