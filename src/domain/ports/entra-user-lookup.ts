/** An Entra ID user as the lookup shows it (a subset of Graph's user). */
export interface EntraUser {
  id: string;
  displayName: string | null;
  userPrincipalName: string | null;
  mail: string | null;
  accountEnabled: boolean | null;
  /** true: mastered in AD and synced (disable it in AD); null/false: cloud-only. */
  onPremisesSyncEnabled: boolean | null;
  onPremisesSamAccountName: string | null;
  onPremisesSecurityIdentifier: string | null;
  onPremisesDomainName: string | null;
}

export interface EntraRisk {
  riskLevel: string;
  riskState: string;
  riskLastUpdatedDateTime: string | null;
}

/** Read-only Entra ID lookups (Microsoft Graph). Failures are AppErrors with a sentence. */
export interface EntraUserLookup {
  /** Users matching what an analyst typed (UPN, mail, sam, DOMAIN\sam, SID, object id, name prefix). At most `limit`. */
  findUsers(query: string, limit: number): Promise<EntraUser[]>;
  /** The Entra user synced from the AD account with this SID, if any. */
  findBySid(sid: string): Promise<EntraUser | undefined>;
  /** Identity Protection state; undefined when the user was never scored. */
  getRisk(userId: string): Promise<EntraRisk | undefined>;
}
