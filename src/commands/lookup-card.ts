import { ACTION_CATALOG, ACTION_NAMES, type ActionName, type PersonFacts } from '../actions/action-names.ts';
import { readableUtc, type CardFact, type ContainerStyle, type TextColor } from '../cards/alert-card.ts';
import { renderTemplate } from '../cards/render.ts';
import { CARD_VERBS } from '../cards/verbs.ts';
import type { DirectoryCapabilities } from '../actions/propose-actions.ts';
import lookupTemplate from '../../cards/lookup.json' with { type: 'json' };
import pickListTemplate from '../../cards/pick-list.json' with { type: 'json' };
import type { Candidate, PersonReport } from './lookup.ts';
import { safeText } from './safe-text.ts';

/** One remediation button. Same verb and data shape as the alert card's, minus the alert. */
export interface LookupButton {
  title: string;
  verb: typeof CARD_VERBS.approve;
  action: ActionName;
  target: string;
}

export interface LookupCardData {
  name: string;
  subtitle: string;
  headline: string;
  headlineColor: TextColor;
  headerStyle: ContainerStyle;
  sections: { heading: string; facts: CardFact[] }[];
  lists: { heading: string; lines: string[] }[];
  buttons: LookupButton[];
  buttonsNote: string;
  notes: string[];
}

const FACT = 160;
const LINE = 200;

/**
 * Actions a lookup offers for a person: the catalog's `offeredOnLookup` entries whose system is
 * configured and knows the person, and whose condition holds, in the catalog's rank order.
 */
export function lookupButtons(person: PersonReport, capabilities: DirectoryCapabilities): LookupButton[] {
  const target = person.target;
  if (!target) return [];
  const facts = personFacts(person);
  // An action already waiting for approval is not offered twice.
  const waiting = new Set(person.pending.map((approval) => approval.action));
  return ACTION_NAMES.flatMap((action) => {
    const { system, offeredOnLookup: offer } = ACTION_CATALOG[action];
    if (!offer || !capabilities[system] || facts[system] === undefined) return [];
    if (offer.when && !offer.when(facts)) return [];
    return waiting.has(action) ? [] : [{ action, rank: offer.rank }];
  })
    .sort((a, b) => a.rank - b.rank)
    .map(({ action }) => ({ title: ACTION_CATALOG[action].label, verb: CARD_VERBS.approve, action, target }));
}

/** What the lookup found, in the catalog's terms (a system is absent when it has no account). */
function personFacts(person: PersonReport): PersonFacts {
  const facts: PersonFacts = {};
  if (person.ad) facts.activeDirectory = { enabled: person.ad.enabled };
  if (person.entra) {
    const risk = person.entraRisk.kind === 'ok' ? person.entraRisk.value : undefined;
    facts.entra = { accountEnabled: person.entra.accountEnabled, syncedFromAd: person.entra.onPremisesSyncEnabled === true, ...(risk ? { riskState: risk.riskState } : {}) };
  }
  const okta = person.okta.kind === 'ok' ? person.okta.value : undefined;
  if (okta) facts.okta = { status: okta.status };
  return facts;
}

export function toLookupCardData(person: PersonReport, options: { capabilities: DirectoryCapabilities; oktaConfigured: boolean; netbiosDomain?: string }): LookupCardData {
  const { ad, entra } = person;
  const name = safeText(ad?.displayName ?? entra?.displayName ?? ad?.samAccountName ?? entra?.userPrincipalName ?? 'Unknown user', 120) || 'Unknown user';
  const sam = ad ? `${options.netbiosDomain ? `${options.netbiosDomain}\\` : ''}${ad.samAccountName}` : entra?.onPremisesSamAccountName ?? '';
  const upn = ad?.userPrincipalName ?? entra?.userPrincipalName ?? '';
  const subtitle = [sam, upn].filter(Boolean).map((part) => safeText(part, 120)).join(' · ');

  const sections: LookupCardData['sections'] = [];
  const warnings: string[] = [];
  if (ad) {
    const facts: CardFact[] = [
      { title: 'State', value: [ad.enabled ? 'Enabled' : 'Disabled', ad.locked ? 'locked out' : ''].filter(Boolean).join(', ') },
      { title: 'Password', value: ad.mustChangePassword ? 'must change at next logon' : ad.pwdLastSet ? `set ${readableUtc(ad.pwdLastSet)}` : 'never set' },
      { title: 'Last logon', value: ad.lastLogon ? readableUtc(ad.lastLogon) : 'never' },
      { title: 'OU', value: safeText(ad.ou, FACT) },
      { title: 'Privileged', value: ad.privilegedGroups.length > 0 ? safeText(ad.privilegedGroups.join(', '), FACT) : ad.adminCount > 0 ? 'adminCount set' : 'no' },
    ];
    sections.push({ heading: 'Active Directory', facts });
    if (!ad.enabled) warnings.push('Disabled in AD');
    if (ad.locked) warnings.push('Locked out');
    if (ad.privilegedGroups.length > 0 || ad.adminCount > 0) warnings.push('Privileged account');
  }
  if (entra) {
    const facts: CardFact[] = [
      { title: 'State', value: entra.accountEnabled === null ? 'unknown' : entra.accountEnabled ? 'Enabled' : 'Disabled' },
      { title: 'Source', value: entra.onPremisesSyncEnabled === true ? 'Synced from AD' : 'Cloud only' },
      { title: 'Risk', value: riskText(person) },
    ];
    if (entra.userPrincipalName && entra.userPrincipalName !== ad?.userPrincipalName) facts.unshift({ title: 'UPN', value: safeText(entra.userPrincipalName, FACT) });
    sections.push({ heading: 'Entra ID', facts });
    const risk = person.entraRisk.kind === 'ok' ? person.entraRisk.value : undefined;
    if (risk && (risk.riskLevel === 'high' || risk.riskState === 'confirmedCompromised')) warnings.push(`Entra risk ${safeText(risk.riskLevel, 20)}`);
  } else if (ad) {
    sections.push({ heading: 'Entra ID', facts: [{ title: 'State', value: person.notes.some((n) => n.startsWith('Entra ID')) ? 'did not answer' : 'no synced account found' }] });
  }
  if (options.oktaConfigured) {
    const okta = person.okta;
    const value = okta.kind === 'ok' ? (okta.value ? safeText(okta.value.status, 40) : 'no Okta user') : okta.kind === 'off' ? 'no login to look up' : 'did not answer';
    const facts: CardFact[] = [{ title: 'Status', value }];
    if (okta.kind === 'ok' && okta.value?.lastLogin) facts.push({ title: 'Last login', value: readableUtc(okta.value.lastLogin) });
    sections.push({ heading: 'Okta', facts });
    if (okta.kind === 'ok' && okta.value && okta.value.status !== 'ACTIVE') warnings.push(`Okta ${safeText(okta.value.status, 20)}`);
  }

  const lists: LookupCardData['lists'] = [];
  lists.push({
    heading: 'Recent MDI alerts',
    // An alert only Sentinel knows has no Ref code (nothing here can act on it by code): say where it is from.
    lines: person.alerts.length > 0
      ? person.alerts.map((entry) => safeText(`${capitalize(entry.alert.severity)} · ${entry.alert.title} · ${entry.status} · ${entry.code ? `Ref ${entry.code}` : 'from Sentinel'} · ${readableUtc(entry.at.toISOString())}`, LINE))
      : ['None on record.'],
  });
  if (person.pending.length > 0) {
    lists.push({
      heading: 'Waiting for approval',
      lines: person.pending.map((approval) => safeText(`${approval.code} · ${labelOf(approval.action)} · expires ${readableUtc(approval.expiresAt.toISOString())}`, LINE)),
    });
  }
  if (person.audit.length > 0) {
    lists.push({
      heading: 'Recent actions',
      lines: person.audit.map((entry) => safeText(`${readableUtc(entry.at.toISOString())} · ${entry.action}${entry.details && typeof entry.details.action === 'string' ? ` ${labelOf(entry.details.action)}` : ''} · ${entry.outcome}`, LINE)),
    });
  }

  const buttons = lookupButtons(person, options.capabilities);
  const privileged = warnings.includes('Privileged account');
  return {
    name,
    subtitle,
    headline: warnings.join(' · '),
    headlineColor: warnings.length > 0 ? 'Attention' : 'Default',
    headerStyle: privileged ? 'attention' : 'emphasis',
    sections,
    lists,
    buttons,
    buttonsNote: buttons.length > 0 ? 'Each button asks for approval first, as on alert cards.' : '',
    notes: person.notes.map((note) => safeText(note, LINE)),
  };
}

function riskText(person: PersonReport): string {
  const outcome = person.entraRisk;
  if (outcome.kind === 'ok') return outcome.value ? safeText(`${outcome.value.riskLevel} (${outcome.value.riskState})`, 60) : 'not scored';
  if (outcome.kind === 'off') return 'not checked';
  return 'did not answer';
}

function labelOf(action: string): string {
  return action in ACTION_CATALOG ? ACTION_CATALOG[action as ActionName].label : action;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export function renderLookupCard(data: LookupCardData): Record<string, unknown> {
  return renderTemplate(lookupTemplate, data);
}

export interface PickListData {
  heading: string;
  people: { label: string; detail: string; buttonTitle: string; command: string }[];
  footer: string;
  notes: string[];
}

/** The command that names a candidate unambiguously: DOMAIN\sam, else the UPN, else the object id. */
export function exactQueryOf(candidate: Candidate, netbiosDomain: string | undefined): string {
  if (candidate.ad) return netbiosDomain ? `${netbiosDomain}\\${candidate.ad.samAccountName}` : candidate.ad.samAccountName;
  return candidate.entra?.userPrincipalName ?? candidate.entra?.id ?? '';
}

export function toPickListData(input: string, candidates: Candidate[], more: boolean, notes: string[], netbiosDomain: string | undefined): PickListData {
  return {
    heading: `Several people match “${safeText(input, 60)}”. Which one?`,
    people: candidates.map((candidate) => {
      const exact = exactQueryOf(candidate, netbiosDomain);
      const label = safeText(candidate.ad?.displayName ?? candidate.entra?.displayName ?? exact, 100) || safeText(exact, 100);
      const detailParts = [
        exact,
        candidate.ad?.userPrincipalName ?? candidate.entra?.userPrincipalName ?? '',
        candidate.ad ? (candidate.ad.enabled ? 'enabled' : 'disabled') : 'cloud only',
      ];
      return {
        label,
        detail: safeText(detailParts.filter(Boolean).join(' · '), 200),
        buttonTitle: safeText(`Look up ${exact}`, 60),
        // Not markdown: this is the text the button sends back as a command.
        command: `lookup ${exact}`,
      };
    }),
    footer: more ? 'More people match: type more of the name, or DOMAIN\\sam, UPN or e-mail.' : 'Or type `lookup <DOMAIN\\sam>`.',
    notes: notes.map((note) => safeText(note, LINE)),
  };
}

export function renderPickListCard(data: PickListData): Record<string, unknown> {
  return renderTemplate(pickListTemplate, data);
}
