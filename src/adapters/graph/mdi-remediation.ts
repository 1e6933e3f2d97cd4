import type { ActionName } from '../../domain/actions.ts';
import { AppError } from '../../domain/errors.ts';
import type { ActionResult, ActionTarget, AppliedState, FoundIdentity, Remediation, TargetInspection } from '../../domain/remediation.ts';
import type { MdiAccount, MdiAction, MdiIdentity, MdiIdentityAccounts, MdiProvider } from './mdi-identity-accounts.ts';
import { setBounded } from '../../shared/bounded-map.ts';

/**
 * The containment actions run by Defender for Identity itself (its sensors' action accounts on the
 * DCs, its Entra ID and Okta connectors) instead of by the bot: one invokeAction per action, on
 * the account MDI lists for the person in that identity provider, only when MDI lists the action
 * for it. MDI acts asynchronously: a run returns "requested" with MDI's correlation id, and the
 * workflow confirms the effect by reading it back. Nothing here knows a password: MDI's
 * forcePasswordReset sets "must change at next logon" and no temporary password exists.
 */
export const MDI_ACTION_OF: Readonly<Partial<Record<ActionName, { action: MdiAction; provider: MdiProvider }>>> = {
  'disable-ad-account': { action: 'disable', provider: 'activeDirectory' },
  'enable-ad-account': { action: 'enable', provider: 'activeDirectory' },
  'reset-password': { action: 'forcePasswordReset', provider: 'activeDirectory' },
  'mark-compromised': { action: 'markUserAsCompromised', provider: 'entraID' },
  'revoke-sessions': { action: 'revokeAllSessions', provider: 'entraID' },
  'require-sign-in-again': { action: 'requireUserToSignInAgain', provider: 'entraID' },
  'suspend-entra': { action: 'disable', provider: 'entraID' },
  'enable-entra': { action: 'enable', provider: 'entraID' },
  'suspend-okta': { action: 'disable', provider: 'okta' },
  'unsuspend-okta': { action: 'enable', provider: 'okta' },
};

export const MDI_EXECUTOR = 'Defender for Identity';
const PROVIDER_NAMES: Record<MdiProvider, string> = { activeDirectory: 'AD', entraID: 'Entra ID', okta: 'Okta' };

function phrase(mdi: { action: MdiAction; provider: MdiProvider }, who: string): string {
  const where = PROVIDER_NAMES[mdi.provider];
  switch (mdi.action) {
    case 'disable':
      return `disable ${who} in ${where}`;
    case 'enable':
      return `enable ${who} in ${where}`;
    case 'forcePasswordReset':
      return `force a password reset of ${who} in ${where} (must change it at next logon; no temporary password is set or delivered)`;
    case 'revokeAllSessions':
      return `revoke all sessions of ${who} in ${where}`;
    case 'requireUserToSignInAgain':
      return `require ${who} to sign in again in ${where}`;
    case 'markUserAsCompromised':
      return `mark ${who} as compromised in ${where}`;
  }
}

function who(target: ActionTarget, identity?: MdiIdentity): string {
  if (target.samAccountName) return target.domain ? `${target.domain}\\${target.samAccountName}` : target.samAccountName;
  return target.userPrincipalName ?? identity?.userPrincipalName ?? target.displayName ?? target.accountKey;
}

/** The identities MDI's answer names, for the guard rails (service and protected accounts). */
function foundIdentities(identity: MdiIdentity): FoundIdentity[] {
  const found: FoundIdentity[] = [];
  for (const account of identity.accounts) {
    if (account.identityProvider === 'activeDirectory') found.push({ system: 'activeDirectory', ...(identity.onPremisesSecurityIdentifier ? { sid: identity.onPremisesSecurityIdentifier } : {}), ...(identity.userPrincipalName ? { userPrincipalName: identity.userPrincipalName } : {}) });
    if (account.identityProvider === 'entraID') found.push({ system: 'entra', entraObjectId: account.identifier, ...(identity.userPrincipalName ? { userPrincipalName: identity.userPrincipalName } : {}) });
    if (account.identityProvider === 'okta') found.push({ system: 'okta', oktaUserId: account.identifier });
  }
  return found;
}

export interface MdiRemediationOptions {
  accounts: MdiIdentityAccounts;
  /** How long what MDI listed for a person is reused to decide which buttons a card shows (default 20 s). */
  offerCacheMs?: number;
  /** At most this many people's listings are kept (default 1,000); the oldest goes first. */
  offerCacheEntries?: number;
  now?: () => number;
}

export function createMdiRemediation(options: MdiRemediationOptions): Remediation {
  const { accounts } = options;
  const cacheMs = options.offerCacheMs ?? 20_000;
  const now = options.now ?? Date.now;
  const cacheEntries = options.offerCacheEntries ?? 1_000;
  // Insertion order is age order (an entry is re-inserted when refreshed): bounded by count, so a
  // storm over thousands of accounts cannot grow it; stale entries are also ignored on read.
  const cache = new Map<string, { at: number; identity: MdiIdentity | undefined }>();

  function mapped(action: ActionName): { action: MdiAction; provider: MdiProvider } {
    const mdi = MDI_ACTION_OF[action];
    if (!mdi) throw new AppError('INPUT_INVALID', `Defender for Identity has no response action for ${String(action)}.`);
    return mdi;
  }

  async function resolve(action: ActionName, target: ActionTarget, signal?: AbortSignal): Promise<{ identity?: MdiIdentity; account?: MdiAccount; listed: boolean }> {
    const mdi = mapped(action);
    const identity = await accounts.find(target, signal);
    setBounded(cache, target.accountKey, { at: now(), identity }, cacheEntries);
    const account = identity?.accounts.find((a) => a.identityProvider === mdi.provider);
    return { ...(identity ? { identity } : {}), ...(account ? { account } : {}), listed: account?.actions.includes(mdi.action) ?? false };
  }

  function notListed(action: ActionName, target: ActionTarget, found: { identity?: MdiIdentity; account?: MdiAccount }): string {
    const mdi = mapped(action);
    if (!found.identity) return `Defender for Identity does not know ${who(target)}, so it cannot ${phrase(mdi, 'it')}.`;
    if (!found.account) return `Defender for Identity knows no ${PROVIDER_NAMES[mdi.provider]} account of ${who(target, found.identity)}.`;
    return `Defender for Identity does not offer to ${phrase(mdi, who(target, found.identity))} now (its account lists: ${found.account.actions.join(', ') || 'no action'}).`;
  }

  return {
    supports: (action) => MDI_ACTION_OF[action] !== undefined,

    describe(action) {
      const mdi = MDI_ACTION_OF[action];
      if (!mdi) return undefined;
      return mdi.action === 'forcePasswordReset'
        ? `Via ${MDI_EXECUTOR}: sets "must change password at next logon"; no temporary password is set or delivered.`
        : `Via ${MDI_EXECUTOR} (asynchronous: confirmed once the change shows).`;
    },

    async offerable(action, target, opts) {
      const mdi = MDI_ACTION_OF[action];
      if (!mdi) return false;
      const hit = cache.get(target.accountKey);
      const identity = hit && now() - hit.at < cacheMs ? hit.identity : (await resolve(action, target, opts.signal)).identity;
      return identity?.accounts.some((a) => a.identityProvider === mdi.provider && a.actions.includes(mdi.action)) ?? false;
    },

    async inspect(action, target, opts): Promise<TargetInspection> {
      const found = await resolve(action, target, opts.signal);
      if (!found.identity || !found.account) return { found: false, privileged: false, reasons: [] };
      // MDI says nothing about privilege: the directories the router asks beside it do.
      return { found: true, privileged: false, reasons: [], identities: foundIdentities(found.identity), ...(found.listed ? {} : { unavailable: notListed(action, target, found) }) };
    },

    async run(action, target, opts): Promise<ActionResult> {
      const mdi = mapped(action);
      const found = await resolve(action, target, opts.signal);
      if (!found.identity || !found.account || !found.listed) throw new AppError('ACTION_NOT_APPLICABLE', notListed(action, target, found), { details: { executor: 'mdi', mdiAction: mdi.action, identityProvider: mdi.provider } });
      const facts = { executor: 'mdi', identityId: found.identity.id, accountId: found.account.identifier, mdiAction: mdi.action, identityProvider: mdi.provider };
      const what = phrase(mdi, who(target, found.identity));
      // A dry run resolves the account and checks the action is listed; nothing is sent to Defender.
      if (opts.dryRun) return { summary: `DRY RUN: would ask ${MDI_EXECUTOR} to ${what}`, details: { ...facts, changed: false, dryRun: true } };
      const answer = await accounts.invoke(found.identity.id, { accountId: found.account.identifier, action: mdi.action, identityProvider: mdi.provider }, opts.signal);
      cache.delete(target.accountKey);
      const correlation = answer.correlationId ? `correlation id ${answer.correlationId}` : 'no correlation id returned';
      opts.log.info({ ...facts, correlationId: answer.correlationId }, 'action requested in Defender for Identity');
      return {
        summary: `${capitalize(what)}: requested in Defender (${correlation}) via ${MDI_EXECUTOR}`,
        details: { ...facts, ...(answer.correlationId ? { correlationId: answer.correlationId } : {}) },
        requested: { by: MDI_EXECUTOR, ...(answer.correlationId ? { correlationId: answer.correlationId } : {}) },
      };
    },

    /**
     * From MDI's own account data: disable/enable show in the actions MDI lists (a disabled account
     * offers `enable`) and, for AD, in the identity's isEnabled. The other effects leave nothing in
     * MDI's data: 'unknown' (the executor chooser reads them in the system itself where it can).
     */
    async readBack(action, target, opts): Promise<AppliedState> {
      const mdi = mapped(action);
      if (mdi.action !== 'disable' && mdi.action !== 'enable') return 'unknown';
      const found = await resolve(action, target, opts.signal);
      if (!found.identity || !found.account) return 'unknown';
      const wantEnabled = mdi.action === 'enable';
      let enabled: boolean | undefined;
      if (mdi.provider === 'activeDirectory' && typeof found.identity.isEnabled === 'boolean') enabled = found.identity.isEnabled;
      else if (found.account.actions.includes('enable') !== found.account.actions.includes('disable')) enabled = found.account.actions.includes('disable');
      if (enabled === undefined) return 'unknown';
      return enabled === wantEnabled ? 'applied' : 'not-applied';
    },
  };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
