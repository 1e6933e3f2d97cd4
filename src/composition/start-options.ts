/** What a running bot offers its caller, and what a caller may substitute at start (re-exported by src/main.ts). */
import type { Directory } from '../domain/ports/directory.ts';
import type { AlertOwnershipListener } from '../domain/ports/alert-ownership.ts';

/** A running bot: what tests and the local lab hold on to. */
export interface RunningBot {
  url: string;
  port: number;
  /**
   * BOT_AUTH=off: the secret every POST must carry in the lab secret header (BOT_LAB_SECRET or
   * the one generated for this run). Undefined with authentication on.
   */
  labSecret?: string;
  /** Runs the approval sweep now (expiry, then reconciliation) instead of waiting for the timer. */
  sweepNow(): Promise<void>;
  /** Runs the escalation sweep now (schedule, due reminders, pages, resolves) instead of waiting for the timer. */
  escalateNow(): Promise<void>;
  stop(): Promise<void>;
}

/** What a test or the lab may substitute; production passes nothing. */
export interface StartOptions {
  /** Clock of the approval workflow (expiry, leases, audit times) and of the commands (audit, rate limit). */
  now?: () => Date;
  /**
   * The on-premises directory to use instead of the LDAP adapter the configuration describes
   * (the local lab's in-memory directory). AD actions and directory lookups then run against it.
   */
  directory?: Directory;
  /** BOT_AUTH=off without BOT_LAB_SECRET: where the generated lab secret is printed (default stderr). */
  printLabSecret?: (line: string) => void;
  /**
   * NetBIOS name of the domain `directory` serves (CORP); default LDAP_NETBIOS_DOMAIN (or the
   * first DC= of LDAP_BASE_DN) when LDAP is configured, else CORP.
   */
  directoryDomain?: string;
  /**
   * How many entries each bounded cache of the inbound guard keeps (replay ids, default 20,000;
   * member answers, default 5,000). A memory test sets it low so the caches are full before its
   * first sample and growth after it can only be a leak.
   */
  inboundCacheEntries?: number;
  /**
   * Told of every owner change after it is stored (issue 15): the write-back of Defender's
   * `assignedTo` plugs in here; default: nobody listens.
   */
  ownershipListener?: AlertOwnershipListener;
}
