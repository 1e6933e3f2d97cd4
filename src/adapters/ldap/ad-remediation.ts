import type { ActionsOf } from '../../domain/actions.ts';
import { forcedChangeBlockers, isPrivileged, UF_DONT_EXPIRE_PASSWD, type Directory, type DirectoryUser, type UserRef } from '../../domain/ports/directory.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { remediationOf, type ActionHandler, type ActionResult, type ActionRunOptions, type ActionTarget, type AppliedState, type FoundIdentity, type ReadBackOptions, type Remediation, type SystemActions, type TargetInspection } from '../../domain/remediation.ts';
import { targetIdentity } from '../../domain/target-identity.ts';

/**
 * Active Directory containment through the Directory port: disable / enable an account, reset
 * its password (must change at next logon). Vendor-free: the LDAP adapter, or a fake, does the
 * talking. Errors keep the directory's code and get the account named in front of its sentence.
 */
export type AdActionName = ActionsOf<'activeDirectory'>;

export interface AdRemediationOptions {
  directory: Directory;
  /** NetBIOS name of the domain the directory serves (CORP): a target of another domain is not looked up by sam. */
  netbiosDomain: string;
  /** DNS name of that domain (corp.example.com): alerts may name the domain either way. */
  dnsDomain?: string;
}

type MatchedBy = 'sid' | 'samAccountName' | 'userPrincipalName';

interface Resolved {
  user: DirectoryUser;
  matchedBy: MatchedBy;
  /** CORP\jdoe */
  label: string;
}

/** The AD actions as the Remediation port (what main.ts and the tests use). */
export function createAdRemediation(options: AdRemediationOptions): Remediation {
  return remediationOf('activeDirectory', createAdActions(options));
}

/** Every AD action's handler, keyed by the catalog's AD actions (a missing one does not compile). */
export function createAdActions(options: AdRemediationOptions): SystemActions<'activeDirectory'> {
  const domain = options.netbiosDomain.toUpperCase();
  const dnsDomain = options.dnsDomain?.toLowerCase();
  const directory = options.directory;

  /**
   * The one account the target names, never a namesake: by SID first (immutable); a
   * sAMAccountName only within the domain the alert names (ours; no domain, no name match); a UPN
   * only when the alert names no other domain, and the account found must carry the alert's
   * domain. A reference that matches nothing moves on to the next; what was not tried is said.
   */
  async function resolve(target: ActionTarget): Promise<Resolved | undefined> {
    return (await resolveExplained(target)).resolved;
  }

  async function resolveExplained(target: ActionTarget): Promise<{ resolved?: Resolved; skipped: string[] }> {
    const id = targetIdentity(target);
    const refs: Array<[MatchedBy, UserRef]> = [];
    const skipped: string[] = [];
    const foreign = id.domain !== undefined && !isOurDomainName(id.domain, domain, dnsDomain);
    if (id.sid) refs.push(['sid', { sid: id.sid }]);
    if (id.samAccountName) {
      if (id.domain === undefined) skipped.push(`the name ${id.samAccountName} comes without a domain, and a name alone may be a namesake`);
      else if (foreign) skipped.push(`the name ${id.domain}\\${id.samAccountName} belongs to another domain than ${domain}`);
      else refs.push(['samAccountName', { samAccountName: id.samAccountName }]);
    }
    if (id.userPrincipalName) {
      if (foreign) skipped.push(`the UPN ${id.userPrincipalName} was reported for domain ${id.domain}, not ${domain}`);
      else refs.push(['userPrincipalName', { userPrincipalName: id.userPrincipalName }]);
    }
    if (!id.sid && !id.samAccountName && !id.userPrincipalName) {
      throw new AppError('INPUT_INVALID', `The account ${target.accountKey} carries no SID, sAMAccountName or UPN to find it in Active Directory.`);
    }
    for (const [matchedBy, ref] of refs) {
      try {
        const user = await directory.getUser(ref);
        return { resolved: { user, matchedBy, label: `${domain}\\${user.samAccountName}` }, skipped };
      } catch (error) {
        if (isAppError(error) && error.code === 'DIRECTORY_NO_SUCH_OBJECT') continue;
        throw error;
      }
    }
    return { skipped };
  }

  async function mustResolve(action: AdActionName, target: ActionTarget): Promise<Resolved> {
    const { resolved, skipped } = await resolveExplained(target).catch((error: unknown) => {
      throw inContext(error, `Could not find ${describe(target, domain)} in Active Directory`);
    });
    if (!resolved) {
      const why = skipped.length > 0 ? `; the bot acted on nobody: ${skipped.join('; ')}` : '';
      throw new AppError('DIRECTORY_NO_SUCH_OBJECT', `No account in Active Directory matches ${describe(target, domain)}${why}.`, { details: { action, accountKey: target.accountKey } });
    }
    return resolved;
  }

  function facts(resolved: Resolved, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const { user } = resolved;
    return { system: 'activeDirectory', dn: user.dn, sid: user.sid, samAccountName: user.samAccountName, matchedBy: resolved.matchedBy, userAccountControlBefore: user.userAccountControl, ...extra };
  }

  async function run(adAction: AdActionName, target: ActionTarget, opts: ActionRunOptions): Promise<ActionResult> {
    const action = adAction;
    const resolved = await mustResolve(adAction, target);
    // LDAP calls ignore abort signals, so look before writing: a run that lost its lease (or its
    // deadline) while reading the account stops here, before its side effect, and is settled by
    // read-back elsewhere. Nothing below awaits before the write.
    opts.signal?.throwIfAborted();
    const { user, label } = resolved;
    const ref: UserRef = { dn: user.dn };
    const log = opts.log.child({ action, dn: user.dn });
    switch (adAction) {
      case 'disable-ad-account':
      case 'enable-ad-account': {
        const disabling = adAction === 'disable-ad-account';
        const verb = disabling ? 'disable' : 'enable';
        const already = disabling ? !user.enabled : user.enabled;
        if (already) {
          log.info({ enabled: user.enabled }, 'AD account already in the wanted state');
          return { summary: `${opts.dryRun ? 'DRY RUN: ' : ''}${label} is already ${verb}d in AD; nothing to do`, details: facts(resolved, { changed: false, dryRun: opts.dryRun }) };
        }
        if (opts.dryRun) {
          return { summary: `DRY RUN: would ${verb} ${label} in AD`, details: facts(resolved, { changed: false, dryRun: true }) };
        }
        const after = await (disabling ? directory.disableAccount(ref) : directory.enableAccount(ref)).catch((error: unknown) => {
          throw inContext(error, `Could not ${verb} ${label} in AD`);
        });
        return { summary: `${disabling ? 'Disabled' : 'Enabled'} ${label} in AD`, details: facts(resolved, { changed: true, userAccountControlAfter: after.userAccountControl }) };
      }
      case 'reset-password': {
        if (opts.dryRun) {
          const blockers = forcedChangeBlockers(user.userAccountControl);
          const how = blockers.length === 0 ? 'must change at next logon' : `AD would not force a change at next logon: ${blockers.join(' and ')}`;
          return { summary: `DRY RUN: would reset the password of ${label} in AD (${how})`, details: facts(resolved, { changed: false, dryRun: true }) };
        }
        const temporaryPassword = await directory.resetPassword(ref, { mustChangeAtNextLogon: true }).catch((error: unknown) => {
          throw inContext(error, `Could not reset the password of ${label} in AD`);
        });
        // What AD will enforce depends on the flags as they are now: read them back after the write
        // (the write itself succeeded, so a failed read-back falls back to the flags read before it).
        const after = await directory.getUser(ref).catch((error: unknown) => {
          log.warn({ code: isAppError(error) ? error.code : 'INTERNAL' }, 'could not read the account back after the reset');
          return user;
        });
        const blockers = forcedChangeBlockers(after.userAccountControl);
        const enforced = blockers.length === 0;
        // The password travels only in `temporaryPassword` (a Secret): never in summary or details.
        return {
          summary: enforced
            ? `Reset the password of ${label} in AD; it must be changed at next logon`
            : `Reset the password of ${label} in AD, but AD will NOT make the user change it at next logon: ${blockers.join(' and ')}. ` +
              `The temporary password stays valid until someone changes it${after.userAccountControl & UF_DONT_EXPIRE_PASSWD ? '; clear "password never expires" on the account to make the change required' : ''}.`,
          details: facts(resolved, {
            changed: true,
            mustChangeAtNextLogon: enforced,
            userAccountControlAfter: after.userAccountControl,
            ...(enforced ? {} : { forcedChangeNotEnforced: blockers }),
          }),
          temporaryPassword,
        };
      }
    }
  }

  async function inspect(target: ActionTarget): Promise<TargetInspection> {
    const resolved = await resolve(target).catch((error: unknown) => {
      throw inContext(error, `Could not look up ${describe(target, domain)} in Active Directory`);
    });
    if (!resolved) return { found: false, privileged: false, reasons: [] };
    const { user } = resolved;
    const reasons: string[] = [];
    if (user.adminCount > 0) reasons.push('adminCount=1 (protected by AdminSDHolder)');
    for (const group of user.privilegedGroups) reasons.push(`member of ${group}`);
    const identity: FoundIdentity = { system: 'activeDirectory', dn: user.dn, sid: user.sid, samAccountName: user.samAccountName, domain };
    if (user.userPrincipalName) identity.userPrincipalName = user.userPrincipalName;
    return { found: true, privileged: isPrivileged(user), reasons, identities: [identity] };
  }

  async function readBack(adAction: AdActionName, target: ActionTarget, readOptions: ReadBackOptions): Promise<AppliedState> {
    const resolved = await resolve(target);
    if (!resolved) return 'unknown';
    const { user } = resolved;
    switch (adAction) {
      case 'disable-ad-account':
        return user.enabled ? 'not-applied' : 'applied';
      case 'enable-ad-account':
        return user.enabled ? 'applied' : 'not-applied';
      case 'reset-password': {
        // pwdLastSet=0 reads back as no date: what the reset leaves behind (whether or not AD
        // enforces the change on this account, see forcedChangeBlockers).
        if (user.pwdLastSet !== null) return 'not-applied';
        if (readOptions.noPasswordWritten) return 'applied';
        // ...but "must change" may have been set before the run: only a password written since
        // the run started proves this reset (the reset writes both in one modify).
        if (!readOptions.since || !directory.passwordWrittenAt) return 'unknown';
        const written = await directory.passwordWrittenAt({ dn: user.dn });
        // Replication metadata keeps whole seconds: compare against the start of the run's second.
        return written !== null && written.getTime() >= Math.floor(readOptions.since.getTime() / 1000) * 1000 ? 'applied' : 'unknown';
      }
    }
  }

  const handler = (action: AdActionName): ActionHandler => ({ inspect, run: (target, o) => run(action, target, o), readBack: (target, o) => readBack(action, target, o) });
  return { 'disable-ad-account': handler('disable-ad-account'), 'enable-ad-account': handler('enable-ad-account'), 'reset-password': handler('reset-password') };
}

/** Whether an alert's domain (NetBIOS CORP or DNS corp.example.com) is the one the directory serves. */
function isOurDomainName(alertDomain: string, netbios: string, dns: string | undefined): boolean {
  const name = alertDomain.trim().toLowerCase();
  return name === netbios.toLowerCase() || (dns !== undefined && name === dns);
}

/** corp.example.com from the DC= components of a DN (DC=corp,DC=example,DC=com). */
export function dnsDomainOfDn(dn: string): string | undefined {
  const parts = [...dn.matchAll(/(?:^|,)\s*DC=([^,]+)/gi)].map((m) => (m[1] as string).trim().toLowerCase());
  return parts.length > 0 ? parts.join('.') : undefined;
}

function describe(target: ActionTarget, domain: string): string {
  const id = targetIdentity(target);
  if (id.samAccountName) return `${id.domain ?? domain}\\${id.samAccountName}`;
  return id.userPrincipalName ?? id.sid ?? target.accountKey;
}

/** Keeps the directory's code and details, and says which account and step failed. */
function inContext(error: unknown, prefix: string): AppError {
  if (!isAppError(error)) return new AppError('INTERNAL', `${prefix}.`, { cause: error });
  return new AppError(error.code, `${prefix}: ${lowerFirst(error.message)}`, { cause: error, details: error.details });
}

function lowerFirst(text: string): string {
  // "The directory..." -> "the directory..."; keep acronyms such as "TLS" as they are.
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}

