/**
 * Verifies the Entra ID access token a webhook caller sends (a Logic App's managed identity, an
 * automation's app registration): signature against the tenant's published keys, issuer, tenant,
 * audience, lifetime, app-only, and the caller against the configured list. Implemented in
 * src/adapters/azure/entra-caller-token.ts.
 */
export interface VerifiedCaller {
  /** The calling application's client id (`appid` in v1 tokens, `azp` in v2). */
  appId: string;
  /** The service principal's object id (`oid`): a managed identity's principal id. */
  objectId: string;
  tenantId: string;
}

/** `unavailable`: the keys could not be read (Entra unreachable): not the caller's fault, worth a retry. */
export type CallerVerdict = { ok: true; caller: VerifiedCaller } | { ok: false; reason: string; unavailable?: boolean };

export interface CallerTokenVerifier {
  /** `token` is the compact JWT (no "Bearer "). Never throws for a bad token: a verdict says why. */
  verify(token: string): Promise<CallerVerdict>;
}
