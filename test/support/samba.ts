import { readFileSync } from 'node:fs';
import { inject, type TestContext } from 'vitest';

/** What `scripts/samba-ad.sh up <dir>` writes to <dir>/env.json (passwords are fresh per run). */
export interface SambaEnv {
  /** ldaps://127.0.0.N:636 (N is 1, or 11.. when several runs share the machine). */
  ldapUrl: string;
  /** ldap://127.0.0.N:389, for StartTLS and the refused plain bind. */
  ldapPlainUrl: string;
  host: string;
  /** PEM file of the CA that signed the DC's certificate (made for this run). */
  caFile: string;
  baseDn: string;
  /** NetBIOS domain: CORP. */
  domain: string;
  realm: string;
  adminDn: string;
  adminPassword: string;
  /** The bot's own delegated account (OU=ServiceAccounts, rights on OU=Staff only). */
  serviceBindDn: string;
  servicePassword: string;
  staffOu: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    samba: SambaEnv | null;
  }
}

export const SAMBA_HOW_TO =
  'These tests need a local Samba AD DC: run `scripts/samba-ad.sh install` once as root (Debian/Ubuntu), then rerun vitest (its globalSetup starts the DC).';

/** The running DC's environment, or null when Samba is not installed here. */
export function sambaEnv(): SambaEnv | null {
  return inject('samba');
}

/**
 * The DC for this test; skips the test (with how to get Samba) when it is not installed, and
 * fails instead under CI, where a silently skipped directory suite would hide regressions.
 */
export function requireSamba(ctx: Pick<TestContext, 'skip'>): SambaEnv {
  const env = inject('samba');
  if (env) return env;
  if (process.env.CI) throw new Error(`Samba AD DC not available in CI. ${SAMBA_HOW_TO}`);
  return ctx.skip(SAMBA_HOW_TO);
}

/** The CA PEM to trust for the DC. */
export function sambaCa(env: SambaEnv): string {
  return readFileSync(env.caFile, 'utf8');
}

/** DN of a fixture user in OU=Staff by its CN (e.g. "Test User03", "Doe\\, Jane"). */
export function staffDn(env: SambaEnv, cn: string): string {
  return `CN=${cn},${env.staffOu}`;
}
