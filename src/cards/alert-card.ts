import { ACTION_CATALOG } from '../actions/action-names.ts';
import type { ActionName } from '../actions/action-names.ts';
import { accountLabel } from '../actions/propose-actions.ts';
import type { ProposedAction } from '../actions/propose-actions.ts';
import { accountKeys, sameAccount } from '../domain/account-key.ts';
import type { Alert, AlertAccount, AlertDevice, AlertStatus, Severity } from '../domain/alert.ts';
import alertTemplate from '../../cards/alert.json' with { type: 'json' };
import { renderTemplate } from './render.ts';
import { CARD_VERBS } from './verbs.ts';
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
const MAX_SUMMARY = 320;
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

/** "20 Nov 2026, 09:02 UTC": unambiguous for a SOC spread over time zones. */
export function readableUtc(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()];
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getUTCDate()} ${month} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/**
 * Input read by the text helpers below, at most: a summary or a fact shows a few hundred
 * characters, so nothing past this can change what is shown, and every regex after the cut runs
 * on a bounded text whatever an alert source or a card sends (a 40,000-character description
 * once blocked the event loop for 1.2 s in a backtracking sentence regex).
 */
export const MAX_TEXT_SCANNED = 4096;

/** The first one or two sentences of the description, cut at a word boundary. */
export function summarize(description: string): string {
  const flat = description.slice(0, MAX_TEXT_SCANNED).replace(/\s+/g, ' ').trim();
  if (!flat) return '';
  const sentences = firstSentences(flat, 2);
  let summary = sentences[0] ?? flat;
  const second = sentences[1];
  if (second && summary.length + second.length + 1 <= MAX_SUMMARY) summary = `${summary} ${second}`;
  return plain(summary, MAX_SUMMARY);
}

/**
 * Up to `count` sentences of a whitespace-collapsed text, in one linear scan: a sentence ends at a
 * run of . ! ? followed by a space or the end (so "v1.2" or "e.g." inside a word do not end it).
 */
function firstSentences(text: string, count: number): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length && sentences.length < count; i++) {
    const c = text[i];
    if (c !== '.' && c !== '!' && c !== '?') continue;
    let end = i;
    while (end + 1 < text.length && '.!?'.includes(text[end + 1]!)) end++;
    if (end + 1 === text.length || text[end + 1] === ' ') {
      const sentence = text.slice(start, end + 1).trim();
      if (sentence) sentences.push(sentence);
      start = end + 1;
    }
    i = end;
  }
  if (sentences.length < count && start < text.length) {
    const rest = text.slice(start).trim();
    if (rest) sentences.push(rest);
  }
  return sentences;
}

/**
 * Untrusted text made safe for a TextBlock/FactSet: control characters removed, whitespace
 * collapsed, bounded length, and markdown syntax escaped so that a display name like
 * "[Click](https://evil)" shows as text instead of becoming a link.
 */
export function plain(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = value.slice(0, Math.max(MAX_TEXT_SCANNED, max * 4)).replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  const cut = flat.length > max ? `${cutAtWord(flat, max - 1)}…` : flat;
  return escapeMarkdown(cut);
}

function cutAtWord(text: string, max: number): string {
  const slice = text.slice(0, max);
  const space = slice.lastIndexOf(' ');
  return (space > max * 0.6 ? slice.slice(0, space) : slice).trimEnd();
}

function escapeMarkdown(text: string): string {
  const escaped = text.replace(/\\(?=[\\`*_[\]()~<>#!])/g, '\\\\').replace(/[`*_[\]~<>]/g, (char) => `\\${char}`);
  // A leading "- ", "+ ", "# " or "1. " would turn the line into a list or heading.
  return escaped.replace(/^([-+#]|\d+\.)(?=\s)/, '\\$1');
}

function safeUrl(url: string | undefined): string {
  if (!url) return '';
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : '';
  } catch {
    return '';
  }
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
