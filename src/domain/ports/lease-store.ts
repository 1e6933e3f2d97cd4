/**
 * The LeaseStore port: named leases so that one instance at a time runs a loop (polling, posting,
 * an approval's execution). Part of `Store` (./store.ts), implemented by the SqlStore in src/store/.
 */
export interface LeaseStore {
  /**
   * Takes the lease if free, expired, or already ours (one conditional statement). Without `now`
   * the DATABASE's clock is used, so instances with skewed clocks agree on when a lease lapsed.
   */
  tryAcquireLease(name: string, holder: string, ttlMs: number, now?: Date): Promise<boolean>;
  /** Extends our lease; false if it is no longer ours (taken over after expiry). Clock as above. */
  renewLease(name: string, holder: string, ttlMs: number, now?: Date): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<boolean>;
}
