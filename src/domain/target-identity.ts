import type { ActionTarget } from './remediation.ts';

/**
 * The identifiers of an action target, each system picking what it can use. Explicit fields win;
 * the normalized account key (`sid:`, `entra:`, `sam:DOMAIN\sam`, `upn:`) fills the gaps, so a
 * target carrying only its key (as card data does) still resolves.
 */
export interface TargetIdentity {
  sid?: string;
  entraObjectId?: string;
  samAccountName?: string;
  /** NetBIOS domain, upper case (CORP). */
  domain?: string;
  userPrincipalName?: string;
}

export function targetIdentity(target: ActionTarget): TargetIdentity {
  const fromKey = parseAccountKey(target.accountKey);
  const pick = (value: string | undefined, fallback: string | undefined) => {
    const trimmed = value?.trim();
    return trimmed ? trimmed : fallback;
  };
  const identity: TargetIdentity = {};
  const sid = pick(target.sid, fromKey.sid);
  if (sid) identity.sid = sid.toUpperCase();
  const entra = pick(target.entraObjectId, fromKey.entraObjectId);
  if (entra) identity.entraObjectId = entra.toLowerCase();
  const sam = pick(target.samAccountName, fromKey.samAccountName);
  if (sam) identity.samAccountName = sam;
  const domain = pick(target.domain, fromKey.domain);
  if (domain) identity.domain = domain.toUpperCase();
  const upn = pick(target.userPrincipalName, fromKey.userPrincipalName);
  if (upn) identity.userPrincipalName = upn;
  return identity;
}

function parseAccountKey(key: string | undefined): TargetIdentity {
  const match = /^(sid|entra|sam|upn):(.+)$/.exec(key?.trim() ?? '');
  if (!match) return {};
  const value = match[2] as string;
  switch (match[1]) {
    case 'sid':
      return { sid: value };
    case 'entra':
      return { entraObjectId: value };
    case 'upn':
      return { userPrincipalName: value };
    default: {
      const slash = value.indexOf('\\');
      return slash < 0 ? { samAccountName: value } : { domain: value.slice(0, slash), samAccountName: value.slice(slash + 1) };
    }
  }
}

/** How the thread names the account: CORP\jdoe, else the UPN, else the key. */
export function targetLabel(target: ActionTarget, netbiosDomain?: string): string {
  const id = targetIdentity(target);
  if (id.samAccountName) {
    const domain = id.domain ?? netbiosDomain?.toUpperCase();
    return domain ? `${domain}\\${id.samAccountName}` : id.samAccountName;
  }
  return id.userPrincipalName ?? target.displayName ?? target.accountKey;
}
