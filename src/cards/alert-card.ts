import { ACTION_CATALOG } from '../actions/action-names.ts';
import type { ActionName } from '../actions/action-names.ts';
import { accountLabel } from '../actions/propose-actions.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';
import { accountKeys, sameAccount } from '../domain/account-key.ts';
import type { Alert, AlertAccount, AlertDevice, AlertStatus, Severity } from '../domain/alert.ts';
import alertTemplate from '../../cards/alert.json' with { type: 'json' };
import { renderTemplate } from './render.ts';
import { CARD_VERBS } from './verbs.ts';
import { plain, readableUtc, safeUrl, summarize } from './card-text.ts';

export { MAX_TEXT_SCANNED, plain, readableUtc, summarize } from './card-text.ts';
import { CLOSE_OUTCOMES } from '../domain/defender-outcomes.ts';

export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
export type TextColor = 'Default' | 'Good' | 'Attention' | 'Warning' | 'Accent';

export interface CardFact {
  title: string;
  value: string;
}

/** One approve button. Its data is untrusted when it comes back: authority is decided server-side. */
export interface CardButton {
  title: string;
  /** `approve` from proposals; the approval workflow may turn a button into `retry`. */
  verb: typeof CARD_VERBS.approve | typeof CARD_VERBS.retry;
  action: ActionName;
  alertKey: string;
  code: string;
  target: string;
}

export interface CardAccount {
  heading: string;
  facts: CardFact[];
  buttons: CardButton[];
}

/** Everything cards/alert.json binds to; every field is always present (see renderTemplate). */
export interface AlertCardData {
  severity: { word: string; style: ContainerStyle; color: TextColor };
  statusWord: string;
  title: string;
  summary: string;
  statusLine: string;
  /** Owner and escalation state, one small line ("Owner: Alice since 03:10 UTC · paged on-call at 03:12 UTC"). */
  ownershipLine: string;
  /** Nobody owns the alert yet: the card offers "Take it". */
  canTake: boolean;
  footer: string;
  accounts: CardAccount[];
  moreAccounts: string;
  facts: CardFact[];
  portalUrl: string;
  alertKey: string;
  code: string;
  hasActions: boolean;
  /** The Close form (Defender classification choices) is offered; off once closed. */
  canClose: boolean;
  closeChoices: { title: string; value: string }[];
  closeDefault: string;
  /** "Closed by Alice: True positive: compromised account" once closed. */
  closedLine: string;
  /** Small line on Defender write-back ("Defender: updated"), empty when off. */
  writebackLine: string;
  verbs: typeof CARD_VERBS;
}

export interface AlertCardOptions {
  /** Short reference code shown on the card and carried in button data. */
  referenceCode: string;
  /** Actions to offer; empty (device-only alert, or after a decision) removes every button. */
  proposedActions: readonly ProposedAction[];
  /** e.g. "Approved by Alice — running"; shown under the title. */
  statusLine?: string;
  /** e.g. "lab: simulated directory", "DRY RUN"; shown small at the bottom. */
  footer?: string;
  /** Owner and escalation state, shown small under the status line. */
  ownershipLine?: string;
  /** Offer "Take it" (nobody owns the alert). */
  canTake?: boolean;
}

// Limits that keep the card well under Teams' ~28 KB and readable on a 360 px phone.
const MAX_ACCOUNTS = 5;
const MAX_DEVICES = 3;
const MAX_TECHNIQUES = 12;
const MAX_BUTTONS_PER_ACCOUNT = 6;
const MAX_TITLE = 200;
const MAX_FACT = 160;
const MAX_LINE = 200;

const SEVERITY_LOOK: Record<Severity, AlertCardData['severity']> = {
  high: { word: 'High severity', style: 'attention', color: 'Attention' },
  medium: { word: 'Medium severity', style: 'warning', color: 'Warning' },
  low: { word: 'Low severity', style: 'good', color: 'Good' },
  informational: { word: 'Informational', style: 'accent', color: 'Accent' },
  unknown: { word: 'Unknown severity', style: 'emphasis', color: 'Default' },
};

const STATUS_WORD: Record<AlertStatus, string> = {
  new: 'New',
  inProgress: 'In progress',
  resolved: 'Resolved',
  unknown: 'Status unknown',
};

/** Builds the typed card data from an alert; all alert text is treated as untrusted. */
export function toAlertCardData(alert: Alert, options: AlertCardOptions): AlertCardData {
  // Carried verbatim in button data (the router looks it up); escaped only where it is displayed.
  const code = options.referenceCode.trim().slice(0, 40);
  const accounts = distinctAccounts(alert.accounts);
  const shown = accounts.slice(0, MAX_ACCOUNTS).map((account) => cardAccount(account, alert.key, code, options.proposedActions));
  const hidden = accounts.length - shown.length;
  return {
    severity: SEVERITY_LOOK[alert.severity],
    statusWord: STATUS_WORD[alert.status],
    title: plain(alert.title, MAX_TITLE) || 'Untitled alert',
    summary: summarize(alert.description),
    statusLine: plain(options.statusLine ?? '', MAX_LINE),
    ownershipLine: plain(options.ownershipLine ?? '', MAX_LINE),
    canTake: options.canTake ?? false,
    footer: plain(options.footer ?? '', MAX_LINE),
    accounts: shown,
    moreAccounts: hidden > 0 ? `${hidden} more account${hidden === 1 ? '' : 's'} in the portal.` : '',
    facts: alertFacts(alert, code),
    portalUrl: safeUrl(alert.portalUrl),
    alertKey: alert.key,
    code,
    hasActions: shown.some((account) => account.buttons.length > 0),
    canClose: true,
    closeChoices: CLOSE_OUTCOMES.map((o) => ({ title: o.label, value: o.value })),
    closeDefault: CLOSE_OUTCOMES[0]!.value,
    closedLine: '',
    writebackLine: '',
    verbs: CARD_VERBS,
  };
}

export function renderAlertCard(data: AlertCardData): Record<string, unknown> {
  return renderTemplate(alertTemplate, data);
}

function cardAccount(account: AlertAccount, alertKey: string, code: string, proposals: readonly ProposedAction[]): CardAccount {
  const facts: CardFact[] = [];
  if (account.displayName) facts.push({ title: 'Name', value: plain(account.displayName, MAX_FACT) });
  if (account.samAccountName) {
    const sam = account.domain ? `${account.domain}\\${account.samAccountName}` : account.samAccountName;
    facts.push({ title: 'Account', value: plain(sam, MAX_FACT) });
  }
  if (account.userPrincipalName) facts.push({ title: 'UPN', value: plain(account.userPrincipalName, MAX_FACT) });
  if (facts.length === 0) facts.push({ title: 'Account', value: plain(accountLabel(account), MAX_FACT) });
  const keys = accountKeys(account);
  const buttons = proposals
    .filter((proposal) => keys.includes(proposal.target))
    .slice(0, MAX_BUTTONS_PER_ACCOUNT)
    .map((proposal) => ({
      title: buttonTitle(proposal),
      verb: CARD_VERBS.approve,
      action: proposal.action,
      alertKey,
      code,
      target: proposal.target,
    }));
  return { heading: accountHeading(account), facts, buttons };
}

function accountHeading(account: AlertAccount): string {
  const roles = new Set(account.roles);
  if (roles.has('compromised')) return 'Compromised account';
  if (roles.has('attacked')) return 'Targeted account';
  if (roles.has('attacker')) return 'Attacking account';
  if (roles.has('suspicious')) return 'Suspicious account';
  return 'Account';
}

function buttonTitle(proposal: ProposedAction): string {
  const label = ACTION_CATALOG[proposal.action].label;
  return proposal.requiredApprovals > 1 ? `${label} (${proposal.requiredApprovals} approvals)` : label;
}

function alertFacts(alert: Alert, code: string): CardFact[] {
  const facts: CardFact[] = [];
  for (const device of alert.devices.slice(0, MAX_DEVICES)) facts.push({ title: 'Device', value: plain(deviceLabel(device), MAX_FACT) });
  if (alert.devices.length > MAX_DEVICES) facts.push({ title: 'Devices', value: `${alert.devices.length - MAX_DEVICES} more in the portal` });
  const first = readableUtc(alert.firstActivity);
  const last = readableUtc(alert.lastActivity);
  if (first) facts.push({ title: 'First activity', value: first });
  if (last && last !== first) facts.push({ title: 'Last activity', value: last });
  if (alert.mitreTechniques.length > 0) {
    const shown = alert.mitreTechniques.slice(0, MAX_TECHNIQUES).join(', ');
    const more = alert.mitreTechniques.length - MAX_TECHNIQUES;
    facts.push({ title: 'MITRE', value: plain(more > 0 ? `${shown} +${more}` : shown, MAX_FACT * 2) });
  }
  if (code) facts.push({ title: 'Ref', value: plain(code, 40) });
  return facts;
}

function deviceLabel(device: AlertDevice): string {
  const name = device.hostName && device.dnsDomain && !device.hostName.includes('.') ? `${device.hostName}.${device.dnsDomain}` : device.hostName;
  if (name && device.ipAddress) return `${name} (${device.ipAddress})`;
  return name ?? device.ipAddress ?? 'unknown device';
}

/** One entry per person: a source that lists the same account twice gets one block on the card. */
function distinctAccounts(accounts: readonly AlertAccount[]): AlertAccount[] {
  const distinct: AlertAccount[] = [];
  for (const account of accounts) {
    const known = distinct.find((candidate) => sameAccount(candidate, account));
    if (!known) {
      distinct.push({ ...account, roles: [...account.roles] });
      continue;
    }
    // Fill what the first mention lacked (e.g. one source gave the SID, another the UPN).
    for (const [field, value] of Object.entries(account) as [keyof AlertAccount, unknown][]) {
      if (known[field] === undefined && value !== undefined) Object.assign(known, { [field]: value });
    }
    known.roles = [...new Set([...known.roles, ...account.roles])];
  }
  return distinct;
}
