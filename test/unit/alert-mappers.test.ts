import { describe, expect, it } from 'vitest';
import { mapGraphAlert } from '../../src/adapters/graph/graph-alert-mapper.ts';
import { isMdiSecurityAlertRow, mapSecurityAlertRow } from '../../src/adapters/loganalytics/security-alert-mapper.ts';
import { accountKeys } from '../../src/domain/account-key.ts';
import { fingerprintAlert } from '../../src/domain/alert-fingerprint.ts';
import type { Alert } from '../../src/domain/alert.ts';
import { AppError } from '../../src/domain/errors.ts';
import { graphFixture, graphFixtureNames, sentinelFixture, sentinelFixtureNames } from '../fixtures/load.ts';

describe('mapGraphAlert', () => {
  it('maps the brute-force alert: key, texts, enums, techniques, times, link, user and device evidence', () => {
    const { alert, warnings } = mapGraphAlert(graphFixture('brute-force'));
    expect(warnings).toEqual([]);
    expect(alert).toMatchObject({
      key: '1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901',
      sourceId: 'aa1b2c3d4e5f60718293a4b5c6d7e8f9',
      source: 'graph',
      title: 'Suspected Brute Force attack (Kerberos, NTLM)',
      severity: 'high',
      status: 'new',
      category: 'CredentialAccess',
      detectorId: '7e6f5a4b-3c2d-1e0f-9a8b-7c6d5e4f3a2b',
      mitreTechniques: ['T1110', 'T1110.003'],
      firstActivity: '2026-11-20T09:02:11.000Z',
      lastActivity: '2026-11-20T09:09:47.000Z',
      portalUrl: 'https://security.microsoft.com/alerts/aa1b2c3d4e5f60718293a4b5c6d7e8f9?tid=11111111-2222-3333-4444-555555555555',
    });
    expect(alert.accounts).toEqual([
      {
        samAccountName: 'alice',
        domain: 'CONTOSO',
        userPrincipalName: 'alice@contoso.com',
        displayName: 'Alice Example',
        sid: 'S-1-5-21-1111111111-2222222222-3333333333-1104',
        entraObjectId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5',
        adObjectGuid: '0b5e4c1a-7d2f-4e8b-9c36-a1f0d2e3b4c5',
        roles: ['compromised'],
      },
    ]);
    // The ipEvidence is not a device: only the deviceEvidence becomes one.
    expect(alert.devices).toEqual([{ hostName: 'WS-0042', dnsDomain: 'contoso.com', ipAddress: '10.1.2.42' }]);
  });

  it('keeps both accounts of a two-account alert with their own roles', () => {
    const { alert } = mapGraphAlert(graphFixture('pass-the-ticket-two-accounts'));
    expect(alert.accounts.map((account) => [account.samAccountName, account.roles])).toEqual([
      ['bob', ['attacker']],
      ['a.admin', ['compromised']],
    ]);
    expect(alert.devices.map((device) => device.hostName)).toEqual(['WS-0099', 'WS-0007']);
  });

  it('maps a device-only alert with null techniques to no accounts and no techniques', () => {
    const { alert, warnings } = mapGraphAlert(graphFixture('recon-device-only'));
    expect(alert.accounts).toEqual([]);
    expect(alert.mitreTechniques).toEqual([]);
    expect(alert.status).toBe('inProgress');
    expect(alert.devices).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it('degrades odd values instead of failing, and says what it skipped', () => {
    const { alert, warnings } = mapGraphAlert(graphFixture('odd-values'));
    // providerAlertId is null: the Graph id is the key.
    expect(alert.key).toBe('aa4-odd-000000000000000000000000004');
    expect(alert.title).toBe('');
    expect(alert.description).toBe('');
    expect(alert.severity).toBe('unknown');
    expect(alert.status).toBe('unknown');
    expect(alert.mitreTechniques).toEqual(['T1558', 'T1003.006']);
    expect(alert.portalUrl).toBeUndefined();
    expect(alert.firstActivity).toBeUndefined();
    expect(alert.lastUpdatedAt).toBeUndefined();
    expect(alert.accounts).toEqual([{ samAccountName: 'carol', domain: 'CORP', roles: ['unknown'] }]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        "status 'someFutureStatus' is not known; using 'unknown'",
        'mitreTechniques entry "not-a-technique" is not a technique id; skipped',
        'alertWebUrl is not an http(s) URL; ignored',
        'firstActivityDateTime is not a date; ignored',
        'evidence[0] is not an object; skipped',
        'evidence[2] userEvidence has no usable userAccount; skipped',
        'evidence[4] is not an object; skipped',
      ]),
    );
    // unknownFutureValue is Graph's documented sentinel, not worth a warning; the unknown evidence type is silently ignored.
    expect(warnings.join('\n')).not.toMatch(/unknownFutureValue|kubernetes/);
  });

  it('throws a typed error naming the field when the alert has no id at all', () => {
    const raw = graphFixture('brute-force');
    delete raw.id;
    delete raw.providerAlertId;
    expect(() => mapGraphAlert(raw)).toThrowError(AppError);
    try {
      mapGraphAlert(raw);
    } catch (error) {
      expect((error as AppError).code).toBe('INPUT_INVALID');
      expect((error as AppError).message).toContain("'id'");
    }
    for (const bad of [null, 'text', 42, []]) expect(() => mapGraphAlert(bad)).toThrowError(AppError);
  });

  it('refuses an absurdly long provider id instead of carrying it into card data', () => {
    const raw = { ...graphFixture('brute-force'), providerAlertId: 'x'.repeat(5000) };
    expect(() => mapGraphAlert(raw)).toThrowError(/providerAlertId/);
  });

  it('maps every Graph fixture without throwing', () => {
    for (const name of graphFixtureNames()) expect(() => mapGraphAlert(graphFixture(name)), name).not.toThrow();
  });
});

describe('mapSecurityAlertRow', () => {
  it('maps the shared Sentinel row to the same key, accounts and device as Graph', () => {
    const { alert, warnings } = mapSecurityAlertRow(sentinelFixture('brute-force-aatp'));
    const graph = mapGraphAlert(graphFixture('brute-force')).alert;
    expect(warnings).toEqual([]);
    expect(alert.key).toBe(graph.key);
    expect(alert.sourceId).toBe('9c8b7a6d-5e4f-3a2b-1c0d-9e8f7a6b5c4d');
    expect(alert.source).toBe('sentinel');
    expect(alert.severity).toBe('high');
    expect(alert.status).toBe('new');
    expect(alert.category).toBe('CredentialAccess');
    expect(alert.mitreTechniques).toEqual(['T1110']);
    expect(alert.portalUrl).toBe('https://security.microsoft.com/alerts/aa1b2c3d4e5f60718293a4b5c6d7e8f9');
    expect(alert.accounts).toEqual([
      {
        samAccountName: 'alice',
        userPrincipalName: 'alice@contoso.com',
        domain: 'CONTOSO',
        displayName: 'Alice Example',
        sid: 'S-1-5-21-1111111111-2222222222-3333333333-1104',
        entraObjectId: '6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5',
        roles: ['unknown'],
      },
    ]);
    expect(accountKeys(alert.accounts[0]!)).toEqual(accountKeys(graph.accounts[0]!));
    expect(alert.devices).toEqual([{ hostName: 'WS-0042', dnsDomain: 'contoso.com' }]);
  });

  it('resolves $ref entities (top-level and nested), de-duplicates them and builds UPNs only when sensible', () => {
    const { alert, warnings } = mapSecurityAlertRow(sentinelFixture('ref-entities-mdi-name'));
    expect(alert.title).toBe('Suspected DCSync attack (replication of directory services)');
    expect(alert.status).toBe('inProgress');
    expect(alert.severity).toBe('medium');
    expect(alert.detectorId).toBe('DirectoryServicesReplicationSecurityAlert');
    expect(alert.mitreTechniques).toEqual(['T1003', 'T1003.006']);
    expect(alert.accounts).toEqual([
      {
        samAccountName: 'jdoe',
        userPrincipalName: 'jdoe@corp.example',
        domain: 'CORP',
        displayName: 'Jane Doe',
        sid: 'S-1-5-21-4000000001-4000000002-4000000003-3105',
        entraObjectId: '1a2b3c4d-5555-4e6f-8a9b-0c1d2e3f4a5b',
        adObjectGuid: '2b3c4d5e-6666-4f70-8192-a3b4c5d6e7f8',
        roles: ['unknown'],
      },
      // "not a domain" is no UPN suffix: no invented UPN.
      { samAccountName: 'svc backup', domain: 'CORP', roles: ['unknown'] },
      // A full UPN in Name is a UPN, not a sAMAccountName.
      { userPrincipalName: 'eve@partner.example', entraObjectId: '3c4d5e6f-7777-4a8b-9c0d-1e2f3a4b5c6d', roles: ['unknown'] },
    ]);
    // The host is declared inside the account (Host) and referenced at top level: one device.
    expect(alert.devices).toEqual([{ hostName: 'WS-0456', dnsDomain: 'corp.example' }]);
    expect(warnings).toEqual(['Entities[6] is not an entity or has an unresolved $ref; skipped']);
  });

  it('keeps an alert with malformed Entities, falls back to SystemAlertId and reports what it skipped', () => {
    const { alert, warnings } = mapSecurityAlertRow(sentinelFixture('malformed-entities-provider-only'));
    expect(alert.key).toBe('9b0c1d2e-3f4a-4b5c-8d7e-9f0a1b2c3d4e');
    expect(alert.accounts).toEqual([]);
    expect(alert.severity).toBe('unknown');
    expect(alert.status).toBe('resolved');
    expect(alert.description).toBe('');
    expect(alert.mitreTechniques).toEqual(['T1078']);
    expect(alert.portalUrl).toBeUndefined();
    expect(alert.firstActivity).toBeUndefined();
    expect(warnings).toEqual(
      expect.arrayContaining([
        'Entities is not valid JSON; alert kept without accounts or devices',
        "AlertSeverity 'Critical' is not known; using 'unknown'",
        'Techniques entry " bogus" is not a technique id; skipped',
        'StartTime is not a date; ignored',
        'AlertLink is not an http(s) URL; ignored',
      ]),
    );
  });

  it('accepts Date objects for datetime columns, as the Log Analytics SDK returns them', () => {
    const row = { ...sentinelFixture('brute-force-aatp'), StartTime: new Date('2026-11-20T09:02:11Z') };
    expect(mapSecurityAlertRow(row).alert.firstActivity).toBe('2026-11-20T09:02:11.000Z');
  });

  it('throws a typed error naming the field when neither id is present', () => {
    const row = sentinelFixture('brute-force-aatp');
    row.VendorOriginalId = null;
    delete row.SystemAlertId;
    expect(() => mapSecurityAlertRow(row)).toThrowError(/SystemAlertId/);
  });

  it('recognises MDI rows by ProductName, ProviderName or the original product name', () => {
    const verdicts = Object.fromEntries(sentinelFixtureNames().map((name) => [name, isMdiSecurityAlertRow(sentinelFixture(name))]));
    expect(verdicts).toEqual({
      'brute-force-aatp': true,
      'malformed-entities-provider-only': true,
      'not-mdi-defender-endpoint': false,
      'ref-entities-mdi-name': true,
    });
  });
});

describe('accountKeys', () => {
  it('gives lowercased, most-stable-first keys', () => {
    expect(
      accountKeys({
        samAccountName: 'JDoe',
        domain: 'CORP',
        userPrincipalName: 'JDoe@Corp.Example',
        sid: 'S-1-5-21-1-2-3-1104',
        entraObjectId: '6F1C2D8E-9A34-4B2E-8F61-3C9A4D7EA0B5',
        roles: [],
      }),
    ).toEqual(['sid:s-1-5-21-1-2-3-1104', 'entra:6f1c2d8e-9a34-4b2e-8f61-3c9a4d7ea0b5', 'sam:corp\\jdoe', 'upn:jdoe@corp.example']);
  });

  it('skips malformed ids and keeps a domain-less sam distinct from a qualified one', () => {
    expect(accountKeys({ samAccountName: 'jdoe', sid: 'not-a-sid', entraObjectId: 'nope', userPrincipalName: 'jdoe', roles: [] })).toEqual(['sam:jdoe']);
    expect(accountKeys({ roles: [] })).toEqual([]);
  });
});

describe('fingerprintAlert', () => {
  const base = (): Alert => mapGraphAlert(graphFixture('pass-the-ticket-two-accounts')).alert;

  it('ignores noise: timestamps, ids, link, list order and whitespace', () => {
    const original = base();
    const noisy: Alert = {
      ...original,
      sourceId: 'other',
      source: 'sentinel',
      lastUpdatedAt: '2030-01-01T00:00:00.000Z',
      createdAt: '2030-01-01T00:00:00.000Z',
      lastActivity: '2030-01-01T00:00:00.000Z',
      portalUrl: 'https://example.org/',
      description: `  ${original.description.replace(/ /g, '\n ')}  `,
      accounts: [...original.accounts].reverse(),
      devices: [...original.devices].reverse(),
      mitreTechniques: [...original.mitreTechniques].reverse(),
    };
    expect(fingerprintAlert(noisy)).toBe(fingerprintAlert(original));
  });

  it('changes with each field the card shows', () => {
    const original = fingerprintAlert(base());
    const changes: Array<(alert: Alert) => void> = [
      (alert) => (alert.status = 'resolved'),
      (alert) => (alert.severity = 'low'),
      (alert) => (alert.title = `${alert.title}!`),
      (alert) => (alert.description = 'Different.'),
      (alert) => alert.mitreTechniques.push('T1003'),
      (alert) => alert.accounts.pop(),
      (alert) => (alert.accounts[0]!.roles = ['compromised']),
      (alert) => (alert.devices[0]!.hostName = 'WS-OTHER'),
    ];
    const fingerprints = changes.map((change) => {
      const alert = base();
      change(alert);
      return fingerprintAlert(alert);
    });
    for (const fingerprint of fingerprints) expect(fingerprint).not.toBe(original);
    expect(new Set(fingerprints).size).toBe(changes.length);
  });
});
