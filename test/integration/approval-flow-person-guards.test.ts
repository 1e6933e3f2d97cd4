import { describe, expect, it } from 'vitest';
import { ALICE_USER } from '../../sim/teams/bot-activity.ts';
import { addMembers, addUser, findOktaUser } from '../../sim/tenant.ts';
import { cardText, type BotHarness } from '../support/bot-harness.ts';
import { useBotE2e } from '../support/bot-e2e-hooks.ts';
import { requireSamba } from '../support/samba.ts';

/**
 * Issue 4 end to end: protection is about the PERSON, whatever system the action runs in, and the
 * bot's own accounts are recognised by what the directory finds, not only by what the alert says.
 * Real bot, real Samba AD DC (padmin is a Domain Admin), local Graph/Okta/connector.
 */

let h: BotHarness;
const { bot } = useBotE2e((harness) => (h = harness));
const UAC_DISABLED = 0x2;

describe('privileged people are protected in every system', () => {
  it('padmin (Domain Admin in AD), synced to Entra and Okta: revoke-sessions, mark-compromised and suspend-okta are refused with PROTECTED_ACCOUNT_APPROVALS=refuse', async (ctx) => {
    requireSamba(ctx);
    const padmin = await h.findAd('padmin');
    const rid = Number(padmin!.sid.split('-').at(-1));
    // Paula's synced twin in Entra (same SID and UPN) and her Okta user.
    const entra = addUser(h.demo.tenant, { name: 'padmin', displayName: 'Paula Admin', rid, okta: true });
    expect(entra.onPremisesSecurityIdentifier).toBe(padmin!.sid);
    h.alert([entra]);
    const b = await bot({ PROTECTED_ACCOUNT_APPROVALS: 'refuse' });
    const card = await h.waitForCard(b, 'padmin');
    for (const action of ['revoke-sessions', 'mark-compromised', 'suspend-okta']) {
      const answer = await h.click(b, card, action, ALICE_USER);
      expect(cardText(answer.card)).toMatch(/Refused: .*padmin is a protected account \(.*member of Domain Admins \(Active Directory\).*\); contain it by hand/);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(h.graph.actions.filter((a) => a.target === entra.id)).toEqual([]);
    expect(findOktaUser(h.demo.tenant, entra.userPrincipalName)).toMatchObject({ status: 'ACTIVE' });
    expect((await h.readAd(padmin!.dn)).uac & UAC_DISABLED).toBe(0);
  });

  it('a member of an ENTRA_PRIVILEGED_GROUP_IDS group is protected for an AD action too', async (ctx) => {
    requireSamba(ctx);
    const p = await h.person('e2etier0');
    addMembers(h.demo.groups.tier0, p.entra);
    h.alert([p.entra]);
    const b = await bot({ PROTECTED_ACCOUNT_APPROVALS: 'refuse', ENTRA_PRIVILEGED_GROUP_IDS: h.demo.groups.tier0.id });
    const card = await h.waitForCard(b, p.sam);
    const answer = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(answer.card)).toContain(`is a protected account (member of the privileged Entra group ${h.demo.groups.tier0.id} (Entra ID)); contain it by hand`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.readAd(p.dn)).uac & UAC_DISABLED).toBe(0);
  });
});

describe("the bot's own accounts", () => {
  it('an alert naming the LDAP bind account only by its SID: disable is refused (the DN AD found is the bind DN)', async (ctx) => {
    requireSamba(ctx);
    const svc = await h.findAd('svc-incidentbot');
    expect(svc!.dn.toLowerCase()).toBe(h.samba.serviceBindDn.toLowerCase());
    h.alert([{ userSid: svc!.sid, displayName: 'Unnamed sidonly account', roles: ['compromised'] }]);
    const b = await bot();
    const card = await h.waitForCard(b, 'Unnamed sidonly account');
    const answer = await h.click(b, card, 'disable-ad-account', ALICE_USER);
    expect(cardText(answer.card)).toContain("is one of the bot's own service accounts; the bot never acts on itself.");
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.readAd(svc!.dn)).uac & UAC_DISABLED).toBe(0);
  });
});
