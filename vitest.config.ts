import { defineConfig } from 'vitest/config';
import { ensureTestCa } from './sim/test-ca.ts';

// Node reads NODE_EXTRA_CA_CERTS only when a process starts: make the test CA here, in the main
// process, so every test worker (a forked process inheriting this environment) trusts the local
// HTTPS stand-ins for Entra, Graph, Log Analytics, Okta and the Bot Framework connector.
const ca = ensureTestCa();
process.env.NODE_EXTRA_CA_CERTS = ca.caFile;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/setup/samba-global.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
