export interface OktaUserSummary {
  id: string;
  /** ACTIVE, SUSPENDED, LOCKED_OUT, DEPROVISIONED... */
  status: string;
  login: string;
  lastLogin: string | null;
}

/** Read-only Okta lookup by login (usually the UPN) or e-mail; undefined when unknown. */
export interface OktaUserLookup {
  findUser(loginOrEmail: string): Promise<OktaUserSummary | undefined>;
}
