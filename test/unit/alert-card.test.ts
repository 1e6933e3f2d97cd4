import { describe, expect, it } from 'vitest';
import { loadActionPolicy } from '../../src/actions/action-policy.ts';
import { proposeActions } from '../../src/actions/propose-actions.ts';
import type { ProposedAction } from '../../src/actions/propose-actions.ts';
import { mapGraphAlert } from '../../src/adapters/graph/graph-alert-mapper.ts';
import { mapSecurityAlertRow } from '../../src/adapters/loganalytics/security-alert-mapper.ts';
import { renderAlertCard, summarize, toAlertCardData } from '../../src/cards/alert-card.ts';
import { renderTemplate } from '../../src/cards/render.ts';
import { CLOSE_OUTCOMES } from '../../src/domain/defender-outcomes.ts';
import { CARD_VERBS } from '../../src/cards/verbs.ts';
import type { Alert } from '../../src/domain/alert.ts';
import { graphFixture, graphFixtureNames, sentinelFixture, sentinelFixtureNames } from '../fixtures/load.ts';
import { checkTeamsCard, TEAMS_MAX_CARD_BYTES } from '../support/card-rules.ts';

const ALL = { activeDirectory: true, entra: true, okta: true };
const policy = loadActionPolicy();

type Node = Record<string, unknown>;

/** Every object in the card tree matching a predicate. */
function findAll(node: unknown, match: (element: Node) => boolean, found: Node[] = []): Node[] {
  if (Array.isArray(node)) for (const child of node) findAll(child, match, found);
  else if (node !== null && typeof node === 'object') {
    if (match(node as Node)) found.push(node as Node);
    for (const child of Object.values(node)) findAll(child, match, found);
  }
  return found;
}
const ofType = (type: string) => (element: Node) => element.type === type;
const allText = (card: unknown): string =>
  findAll(card, (element) => typeof element.text === 'string' || typeof element.value === 'string')
    .map((element) => String(element.text ?? element.value))
    .join('\n');

function cardFor(alert: Alert, proposals = proposeActions(alert, policy, ALL), extra: { statusLine?: string; footer?: string } = {}) {
  return renderAlertCard(toAlertCardData(alert, { referenceCode: 'IB-7K2Q', proposedActions: proposals, ...extra }));
}

const fixtures: Array<[string, Alert]> = [
  ...graphFixtureNames().map((name): [string, Alert] => [`graph/${name}`, mapGraphAlert(graphFixture(name)).alert]),
  ...sentinelFixtureNames().map((name): [string, Alert] => [`sentinel/${name}`, mapSecurityAlertRow(sentinelFixture(name)).alert]),
];

describe('alert card', () => {
  it.each(fixtures)('passes the Teams card rules for %s (with and without actions)', (_name, alert) => {
    expect(checkTeamsCard(cardFor(alert))).toEqual([]);
    expect(checkTeamsCard(cardFor(alert, [], { statusLine: 'Denied by Bob', footer: 'DRY RUN' }))).toEqual([]);
  });

  it('shows severity, title, account, device, times, summary, techniques, reference and the portal link', () => {
    const card = cardFor(mapGraphAlert(graphFixture('brute-force')).alert, undefined, { footer: 'lab: simulated directory' });
    const header = findAll(card, (element) => element.type === 'Container' && element.style === 'attention');
    expect(header).toHaveLength(1);
    const text = allText(card);
    for (const expected of [
      'High severity · New',
      'Suspected Brute Force attack (Kerberos, NTLM)',
      'Alice Example',
      'CONTOSO\\alice',
      'alice@contoso.com',
      'WS-0042.contoso.com (10.1.2.42)',
      '20 Nov 2026, 09:02 UTC',
      '20 Nov 2026, 09:09 UTC',
      'T1110, T1110.003',
      'IB-7K2Q',
      'lab: simulated directory',
    ]) {
      expect(text).toContain(expected);
    }
    const open = findAll(card, ofType('Action.OpenUrl'));
    expect(open.map((action) => action.url)).toEqual([
      'https://security.microsoft.com/alerts/aa1b2c3d4e5f60718293a4b5c6d7e8f9?tid=11111111-2222-3333-4444-555555555555',
    ]);
  });

  it('has one approve button per proposed action, carrying action, alert key, code and target, and one deny', () => {
    const alert = mapGraphAlert(graphFixture('brute-force')).alert;
    const proposals = proposeActions(alert, policy, ALL);
    const card = cardFor(alert, proposals);
    const executes = findAll(card, ofType('Action.Execute'));
    const approves = executes.filter((action) => action.verb === CARD_VERBS.approve);
    expect(approves.map((action) => action.data)).toEqual(
      proposals.map((proposal) => ({ action: proposal.action, alertKey: alert.key, code: 'IB-7K2Q', target: proposal.target })),
    );
    expect(approves.map((action) => action.title)).toEqual(['Reset AD password (2 approvals)', 'Revoke sessions']);
    const denies = executes.filter((action) => action.verb === CARD_VERBS.deny);
    expect(denies).toHaveLength(1);
    expect(denies[0]!.data).toEqual({ alertKey: alert.key, code: 'IB-7K2Q' });
    // Deny asks for an optional reason; Close offers exactly Defender's documented pairs. No input is required (Teams mobile).
    const inputs = findAll(card, (element) => typeof element.type === 'string' && element.type.startsWith('Input.'));
    expect(inputs.map((input) => [input.type, input.id, input.isRequired])).toEqual([['Input.Text', 'comment', undefined], ['Input.ChoiceSet', 'outcome', undefined]]);
    expect((inputs[0] as Node).maxLength).toBe(500);
    expect(((inputs[1] as Node).choices as Node[]).map((choice) => choice.value)).toEqual(CLOSE_OUTCOMES.map((o) => o.value));
    const closes = executes.filter((action) => action.verb === CARD_VERBS.close);
    expect(closes.map((action) => action.data)).toEqual([{ alertKey: alert.key, code: 'IB-7K2Q' }]);
  });

  it('puts buttons only under the compromised account of a two-account alert', () => {
    const alert = mapGraphAlert(graphFixture('pass-the-ticket-two-accounts')).alert;
    const card = cardFor(alert);
    const accountBlocks = findAll(card, (element) => element.type === 'Container' && element.separator === true);
    const summary = accountBlocks.map((block) => ({
      heading: (findAll(block, ofType('TextBlock'))[0] as Node).text,
      targets: [...new Set(findAll(block, ofType('Action.Execute')).map((action) => (action.data as Node).target))],
    }));
    expect(summary).toEqual([
      { heading: 'Attacking account', targets: [] },
      { heading: 'Compromised account', targets: ['sid:s-1-5-21-4000000001-4000000002-4000000003-1500'] },
    ]);
  });

  it('has no buttons for a device-only alert, nor after a decision', () => {
    const deviceOnly = mapGraphAlert(graphFixture('recon-device-only')).alert;
    // Only Close (with its Submit fallback) remains: any alert can be closed in Defender.
    const verbsOf = (card: Node) => findAll(card, ofType('Action.Execute')).map((action) => action.verb);
    expect(verbsOf(cardFor(deviceOnly))).toEqual([CARD_VERBS.close]);
    const decided = cardFor(mapGraphAlert(graphFixture('brute-force')).alert, [], { statusLine: 'Approved by Alice — running' });
    expect(verbsOf(decided)).toEqual([CARD_VERBS.close]);
    expect(findAll(decided, ofType('ActionSet'))).toEqual([]);
    expect(allText(decided)).toContain('Approved by Alice — running');
    // The portal link stays: it is not a decision.
    expect(findAll(decided, ofType('Action.OpenUrl'))).toHaveLength(1);
  });

  it('omits the portal button for a non-http link', () => {
    const alert = { ...mapGraphAlert(graphFixture('brute-force')).alert, portalUrl: 'javascript:alert(1)' };
    expect(findAll(cardFor(alert), ofType('Action.OpenUrl'))).toEqual([]);
  });

  it('stays under 28 KB and within the rules with a huge title, description and many accounts', () => {
    const alert = mapGraphAlert(graphFixture('pass-the-ticket-two-accounts')).alert;
    alert.title = 'Suspected identity theft '.repeat(400);
    alert.description = `${'A very long sentence without an end '.repeat(2000)}. Second sentence.`;
    alert.mitreTechniques = Array.from({ length: 200 }, (_, index) => `T${1000 + index}`);
    alert.accounts = Array.from({ length: 300 }, (_, index) => ({
      samAccountName: `user${index}-${'x'.repeat(300)}`,
      domain: 'CORP',
      displayName: `Person ${index} ${'y'.repeat(500)}`,
      sid: `S-1-5-21-1-2-3-${5000 + index}`,
      roles: ['attacked' as const],
    }));
    alert.devices = Array.from({ length: 300 }, (_, index) => ({ hostName: `WS-${index}`, dnsDomain: 'corp.example' }));
    const proposals: ProposedAction[] = alert.accounts.flatMap((account) =>
      (['disable-ad-account', 'reset-password'] as const).map((action) => ({
        action,
        target: `sid:${account.sid!.toLowerCase()}`,
        targetLabel: account.displayName!,
        requiredApprovals: 1,
        destructive: true,
        rule: 'test',
      })),
    );
    const card = cardFor(alert, proposals);
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThan(TEAMS_MAX_CARD_BYTES);
    expect(checkTeamsCard(card)).toEqual([]);
    expect(allText(card)).toContain('295 more accounts in the portal.');
  });

  it('keeps ${...}, markdown, HTML and JSON punctuation in alert text inert', () => {
    const alert = mapGraphAlert(graphFixture('brute-force')).alert;
    const hostile = '${alertKey} ${verbs.deny} ${string(1)} "},{"type":"Action.Submit"} [click](https://evil.example) **bold** <b>x</b>';
    alert.title = hostile;
    alert.description = hostile;
    alert.accounts[0]!.displayName = hostile;
    const card = cardFor(alert);
    const json = JSON.stringify(card);
    expect(() => JSON.parse(json)).not.toThrow();
    // Same structure as the benign card: nothing added, nothing evaluated.
    const benign = cardFor(mapGraphAlert(graphFixture('brute-force')).alert);
    const shape = (value: unknown) => findAll(value, () => true).map((element) => element.type ?? '(fact)');
    expect(shape(card)).toEqual(shape(benign));
    const texts = allText(card);
    expect(texts).toContain('${alertKey} ${verbs.deny} ${string(1)}');
    expect(texts).not.toContain(alert.key.slice(0, 8) + ' ');
    // Markdown link and emphasis are escaped, so Teams shows them as text.
    expect(texts).toContain('\\[click\\](https://evil.example)');
    expect(texts).toContain('\\*\\*bold\\*\\*');
    expect(texts).toContain('\\<b\\>x\\</b\\>');
    expect(findAll(card, ofType('Action.Submit')).every((action) => !JSON.stringify(action).includes('evil'))).toBe(true);
  });

  it('summarizes the description in at most two sentences', () => {
    expect(summarize('One. Two! Three? Four.')).toBe('One. Two!');
    expect(summarize('  Spread\n\nover   lines.  ')).toBe('Spread over lines.');
    expect(summarize('')).toBe('');
    const long = summarize('word '.repeat(500));
    expect(long.length).toBeLessThanOrEqual(321);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('renderTemplate', () => {
  it('refuses to return a card with an unresolved template field', () => {
    expect(() => renderTemplate({ type: 'TextBlock', text: 'Hello ${name}', wrap: true }, {})).toThrowError(/\$\{name\}/);
    expect(renderTemplate({ type: 'TextBlock', text: 'Hello ${name}', wrap: true }, { name: '${name}' })).toEqual({
      type: 'TextBlock',
      text: 'Hello ${name}',
      wrap: true,
    });
  });
});

describe('checkTeamsCard', () => {
  it('passes a minimal good card', () => {
    expect(checkTeamsCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'ok', wrap: true }] })).toEqual([]);
  });

  it('reports each violation of a deliberately bad card', () => {
    const bad = {
      type: 'AdaptiveCard',
      version: '1.6',
      body: [
        { type: 'TextBlock', text: 'no wrap' },
        { type: 'Input.Text', id: 'why', isRequired: true },
        { type: 'ColumnSet', columns: [{ type: 'Column' }, { type: 'Column' }, { type: 'Column' }] },
        { type: 'TextBlock', text: 'x'.repeat(TEAMS_MAX_CARD_BYTES), wrap: true },
      ],
      actions: [
        { type: 'Action.Execute', verb: 'approve', data: { action: 'reset-password' } },
        {
          type: 'Action.Execute',
          verb: 'approve',
          data: { action: 'reset-password', target: 'sid:s-1' },
          fallback: { type: 'Action.Submit', data: { action: 'reset-password', verb: 'approve' } },
        },
      ],
    };
    const violations = checkTeamsCard(bad);
    expect(violations).toHaveLength(7);
    for (const pattern of [/version 1\.6/, /bytes/, /isRequired/, /without wrap/, /3 columns/, /without an Action.Submit fallback/, /same data/]) {
      expect(violations.some((violation) => pattern.test(violation))).toBe(true);
    }
  });

  it('measures bytes, not characters', () => {
    const emoji = '😀'.repeat(Math.ceil(TEAMS_MAX_CARD_BYTES / 4) + 10);
    expect(emoji.length).toBeLessThan(TEAMS_MAX_CARD_BYTES);
    expect(checkTeamsCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: emoji, wrap: true }] })).toEqual([
      expect.stringMatching(/bytes/),
    ]);
  });
});
