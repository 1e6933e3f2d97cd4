import { primaryAccountKey, sameAccount } from '../domain/account-key.ts';
import type { AccountRole, Alert, AlertAccount } from '../domain/alert.ts';
import { ACTION_CATALOG } from './action-names.ts';
import type { ActionName } from './action-names.ts';
import { requiredApprovals } from './action-policy.ts';
import type { ActionPolicy, PolicyRule } from './action-policy.ts';

/** Which directories this deployment can act on (from configuration). */
export interface DirectoryCapabilities {
  activeDirectory: boolean;
  entra: boolean;
  okta: boolean;
}

export interface ProposedAction {
  action: ActionName;
  /** Primary normalized key of the target account (see accountKeys), as carried in card data. */
  target: string;
  /** Human label of the target for buttons and replies. */
  targetLabel: string;
  requiredApprovals: number;
  destructive: boolean;
  /** Name of the policy rule that proposed it ("default" when none matched). */
  rule: string;
  /** How the deployment runs it, shown beside its button (e.g. "via Defender for Identity"). */
  note?: string;
}

/**
 * Roles that make an account a target. An account only named as the "attacker" is not acted on:
 * in MDI that is often a source identity the bot cannot judge (a service, another forest, a spoofed
 * name), and containment of the attacked/compromised account is what the SOC approves here. An
 * account carrying both attacker and compromised is a target (compromised wins).
 */
const TARGET_ROLES: ReadonlySet<AccountRole> = new Set(['compromised', 'attacked', 'unknown']);

/** The first policy rule whose keywords match the alert, or the policy's default. */
export function matchPolicyRule(alert: Alert, policy: ActionPolicy): { name: string; actions: ActionName[] } {
  const rule = policy.rules.find((candidate) => ruleMatches(candidate, alert));
  return rule ? { name: rule.name, actions: rule.actions } : { name: 'default', actions: policy.default.actions };
}

/**
 * Actions to offer on the card. Nothing is offered that could not run: no account, an identity the
 * directory cannot be addressed by, or a directory that is not configured. More target accounts
 * than the policy's maxTargetAccounts gives none at all: bulk containment is not a one-click job.
 */
export function proposeActions(alert: Alert, policy: ActionPolicy, capabilities: DirectoryCapabilities): ProposedAction[] {
  const targets = targetAccounts(alert);
  if (targets.length === 0 || targets.length > policy.maxTargetAccounts) return [];
  const rule = matchPolicyRule(alert, policy);
  const proposals: ProposedAction[] = [];
  for (const account of targets) {
    const target = primaryAccountKey(account);
    if (!target) continue;
    for (const action of new Set(rule.actions)) {
      if (!canApply(action, account, capabilities)) continue;
      proposals.push({
        action,
        target,
        targetLabel: accountLabel(account),
        requiredApprovals: requiredApprovals(policy, action),
        destructive: ACTION_CATALOG[action].destructive,
        rule: rule.name,
      });
    }
  }
  return proposals;
}

/** Accounts that containment may target, de-duplicated (one person reported twice counts once). */
export function targetAccounts(alert: Alert): AlertAccount[] {
  const targets: AlertAccount[] = [];
  for (const account of alert.accounts) {
    if (!isTargetAccount(account)) continue;
    if (targets.some((known) => sameAccount(known, account))) continue;
    targets.push(account);
  }
  return targets;
}

export function isTargetAccount(account: AlertAccount): boolean {
  const roles = account.roles.length > 0 ? account.roles : (['unknown'] as AccountRole[]);
  if (!roles.some((role) => TARGET_ROLES.has(role))) return false;
  if (!primaryAccountKey(account)) return false;
  const sam = account.samAccountName?.trim().toLowerCase();
  // Computer accounts (name$): disabling or resetting one breaks the machine (or a DC), never a user fix.
  if (sam?.endsWith('$')) return false;
  // krbtgt needs the dedicated double-reset procedure; a one-click reset or disable breaks Kerberos.
  if (sam === 'krbtgt' || /-502$/.test(account.sid ?? '')) return false;
  // Well-known and local SIDs (S-1-5-18 SYSTEM, S-1-5-32-544...) are not domain user accounts.
  if (account.sid && !/^s-1-5-21-/i.test(account.sid.trim())) return false;
  return true;
}

function canApply(action: ActionName, account: AlertAccount, capabilities: DirectoryCapabilities): boolean {
  const system = ACTION_CATALOG[action].system;
  if (!capabilities[system]) return false;
  switch (system) {
    case 'activeDirectory':
      return Boolean(account.sid || account.samAccountName);
    case 'entra':
      if (!(account.entraObjectId || account.userPrincipalName)) return false;
      // A user with an on-premises SID is synced: Graph refuses changes to what AD masters for it
      // ("on-premises mastered Directory Sync objects"), so those go through AD instead.
      if (ACTION_CATALOG[action].cloudMasteredOnly && account.sid) return false;
      return true;
    case 'okta':
      // Okta users are addressed by login, which is the UPN in hybrid deployments.
      return Boolean(account.userPrincipalName);
  }
}

export function accountLabel(account: AlertAccount): string {
  if (account.displayName) return account.displayName;
  if (account.samAccountName) return account.domain ? `${account.domain}\\${account.samAccountName}` : account.samAccountName;
  return account.userPrincipalName ?? account.sid ?? account.entraObjectId ?? 'unknown account';
}

function ruleMatches(rule: PolicyRule, alert: Alert): boolean {
  return (
    containsAny(alert.title, rule.title) || containsAny(alert.category, rule.category) || containsAny(alert.detectorId, rule.detector)
  );
}

function containsAny(value: string | undefined, needles: string[] | undefined): boolean {
  if (!value || !needles) return false;
  const haystack = value.toLowerCase();
  return needles.some((needle) => haystack.includes(needle.toLowerCase()));
}
