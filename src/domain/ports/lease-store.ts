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
  /**
   * Deletes the expired leases whose name starts with `prefix` (single-use markers such as the
   * webhook's replay guard, which are never released); returns how many. Clock as above.
   */
  purgeExpiredLeases(prefix: string, now?: Date): Promise<number>;
}
