/**
 * The whole bot end to end, every part real on loopback: the Samba AD DC (LDAP over TLS), the
 * Entra token endpoint + Graph + Okta stand-ins (a demo tenant whose synced users ARE the Samba
 * users: same SID, sAMAccountName and UPN), the local Bot Framework connector, a real store, and
 * the bot itself through `startIncidentBot` (config through `loadConfig`). Clicks are Teams-shaped
 * `invoke` activities (or Action.Submit messages) POSTed to /api/messages, built from the data of
 * the buttons on the card the connector received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { loadConfig } from '../../src/config/config.ts';
import type { Directory } from '../../src/domain/ports/directory.ts';
import { labJsonHeaders, TEST_LAB_SECRET } from './lab-secret.ts';
import { startIncidentBot, type RunningBot, type StartOptions } from '../../src/main.ts';
import { actionSubmit, adaptiveCardAction, personalMessage, channelMention, type TeamsContext, type TeamsUser } from '../../sim/teams/bot-activity.ts';
import { startBotConnectorServer, type BotConnectorServer, type SentRecord } from '../../sim/teams/bot-connector-server.ts';
import { startEntraTokenServer, type EntraTokenServer } from '../../sim/entra/entra-token-server.ts';
import { mdiAlert, type MdiAlertKind, type MdiAlertOptions } from '../../sim/graph/graph-alert-factory.ts';
import { startGraphServer, type GraphServer } from '../../sim/graph/graph-server.ts';
import { startOktaServer, type OktaServer } from '../../sim/okta/okta-server.ts';
import { addMembers, addUser, createDemoTenant, putAlert, type DemoTenant, type TenantUser } from '../../sim/tenant.ts';
import { cardButtons, cardText } from './approval-harness.ts';
import { captureLogger, type CapturedLogger } from '../../sim/harness/log-capture.ts';
import { gate, type Gate } from './gate.ts';
import { sambaCa, type SambaEnv } from './samba.ts';
import { sambaDirectory } from './samba-directory.ts';

export { cardButtons, cardText };

const ROOT = resolve(import.meta.dirname, '../..');
export const CLIENT_ID = 'a1b2c3d4-0000-4000-8000-00000000e2e1';
/** An app registration without the containment roles: Graph answers 403 to its actions. */
export const READ_ONLY_CLIENT_ID = 'a1b2c3d4-0000-4000-8000-00000000e2e2';
export const MALLORY_USER: TeamsUser = { id: '29:1mallory-teams-user-id', name: 'Mallory Outsider', aadObjectId: '9d9d9d9d-1111-4222-8333-444455556666' };
export const CAROL_USER: TeamsUser = { id: '29:1carol-teams-user-id', name: 'Carol Lead', aadObjectId: '5c5c5c5c-1111-4222-8333-444455556666' };

/** A person who exists in Samba AD and, synced, in the Entra tenant (and optionally in Okta). */
export interface SyncedPerson {
  sam: string;
  sid: string;
  dn: string;
  upn: string;
  entra: TenantUser;
}

export interface CardRef {
  record: SentRecord;
  /** The card's activity id (what updates address). */
  activityId: string;
  /** The thread's conversation id `19:…;messageid=<root>`. */
  threadConversationId: string;
  rootActivityId: string;
  channelId: string;
}

export interface ClickAnswer {
  status: number;
  ms: number;
  /** The invoke response body {statusCode, type, value}. */
  body: { statusCode?: number; type?: string; value?: unknown } | undefined;
  card: Record<string, unknown> | undefined;
  text: string | undefined;
}

/** What a test may hand the in-process bot instead of what its configuration builds. */
export type BotStartOptions = Pick<StartOptions, 'now' | 'directory' | 'ownershipListener'>;

/** The bot's real LDAP directory on this DC, with one operation held at `gate` until the test opens it. */
export interface HeldDirectory {
  directory: Directory;
  gate: Gate;
}

export interface TestBot {
  url: string;
  channelId: string;
  ctx: TeamsContext;
  log: CapturedLogger | undefined;
  /** Output of a child-process bot. */
  output(): string;
  /** In-process bots: run the approval sweep (expiry + reconciliation) now. */
  sweepNow(): Promise<void>;
  /** The escalation sweep now (in-process bots only). */
  escalateNow(): Promise<void>;
  stop(): Promise<void>;
  kill(): void;
}

export interface BotHarness {
  samba: SambaEnv;
  demo: DemoTenant;
  tokens: EntraTokenServer;
  graph: GraphServer;
  okta: OktaServer;
  connector: BotConnectorServer;
  oktaToken: string;
  secrets: string[];
  approvers: TeamsUser[];
  /** Creates a fresh user in OU=Staff (or `ou`) of the Samba DC and its synced Entra twin. */
  person(prefix: string, options?: { okta?: boolean; ou?: string }): Promise<SyncedPerson>;
  /** userAccountControl, pwdLastSet and adminCount as the domain administrator reads them. */
  readAd(dn: string): Promise<{ uac: number; pwdLastSet: string; adminCount?: string }>;
  findAd(sam: string): Promise<{ dn: string; sid: string } | undefined>;
  asAdmin<T>(work: (client: Client) => Promise<T>): Promise<T>;
  /** The bot's environment for these servers and this DC, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Starts the real bot in this process (composition root) on a fresh SQLite store unless DATABASE_URL is given. */
  startBot(extra?: Record<string, string>, options?: BotStartOptions): Promise<TestBot>;
  /**
   * The LDAP directory the bot would build (its service account, this DC), except that `operation`
   * waits at a gate before it touches the DC: pass `directory` to startBot, open `gate` to let it run.
   */
  holdDirectory(operation: 'disableAccount' | 'enableAccount' | 'resetPassword' | 'unlockAccount'): HeldDirectory;
  /** The same bot as `node src/main.ts` in a child process (kill -9 capable). */
  startBotProcess(extra?: Record<string, string>): Promise<TestBot>;
  /** Puts an MDI alert about `accounts` into Graph. Start a bot after (first poll at start) or wait a poll. */
  alert(accounts: MdiAlertOptions['accounts'], kind?: MdiAlertKind, options?: MdiAlertOptions): string;
  /** Waits for the alert card the bot posts in its channel (new thread) naming `text`. */
  waitForCard(bot: TestBot, text: string, timeoutMs?: number): Promise<CardRef>;
  /** The current content of the card (after updates). */
  currentCard(card: CardRef): Record<string, unknown> | undefined;
  /** Presses the button whose data.action is `action` (verb approve unless given) as `user`. */
  click(bot: TestBot, card: CardRef | { activityId: string; card: Record<string, unknown>; threadRootId?: string }, action: string, user: TeamsUser, options?: { verb?: string; via?: 'execute' | 'submit'; data?: Record<string, unknown>; ctx?: TeamsContext }): Promise<ClickAnswer>;
  /** POSTs any activity to the bot. */
  post(bot: TestBot, activity: Record<string, unknown>): Promise<{ status: number; body: unknown; ms: number }>;
  /** A channel @mention / 1:1 message with a command. */
  say(bot: TestBot, user: TeamsUser, text: string, where?: 'channel' | 'personal', threadRootId?: string): Promise<{ status: number; body: unknown; ms: number }>;
  /** Text posted into the thread of `card` (replies) since the card. */
  threadTexts(card: CardRef): string[];
  /** 1:1 chats the bot opened (create isGroup false) and what it sent in them. */
  privateMessages(): { conversationId: string; member: unknown; texts: string[] }[];
  /** Every text the bot posted into a channel or thread (never a 1:1 chat). */
  channelTexts(): string;
  waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const tmpDirs: string[] = [];
/** Client id of the bot's Okta OAuth service app on the Okta stand-in. */
const OKTA_CLIENT_ID = '0oae2eincidentbot0001';

function tmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

function sidString(buf: Buffer): string {
  const count = buf.readUInt8(1);
  const authority = buf.readUIntBE(2, 6);
  const subs = Array.from({ length: count }, (_, i) => buf.readUInt32LE(8 + i * 4));
  return `S-${buf.readUInt8(0)}-${authority}-${subs.join('-')}`;
}

export function cardOf(record: SentRecord | undefined): Record<string, unknown> | undefined {
  const attachments = record?.activity?.attachments as Array<{ content?: Record<string, unknown> }> | undefined;
  return attachments?.[0]?.content;
}

export async function startBotHarness(samba: SambaEnv): Promise<BotHarness> {
  const secret = randomBytes(24).toString('base64url');
  const readOnlySecret = randomBytes(24).toString('base64url');
  const oktaToken = `00${randomBytes(20).toString('base64url')}`;
  // The bot reaches Okta the documented way: an OAuth service app signing with its own key.
  const oktaKeys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const oktaKeyFile = join(tmp('incident-bot-okta-'), 'service-app.pem');
  writeFileSync(oktaKeyFile, oktaKeys.privateKey, { mode: 0o600 });
  const ca = sambaCa(samba);

  async function asAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ url: samba.ldapUrl, timeout: 10_000, connectTimeout: 5_000, tlsOptions: { ca: [ca] } });
    try {
      await client.bind(samba.adminDn, samba.adminPassword);
      return await work(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  // The tenant's on-premises side IS this DC: its domain SID, realm and NetBIOS name.
  const domainSid = await asAdmin(async (client) => {
    const { searchEntries } = await client.search(samba.baseDn, { scope: 'base', attributes: ['objectSid'], explicitBufferAttributes: ['objectSid'] });
    return sidString(searchEntries[0]?.objectSid as Buffer);
  });
  const demo = createDemoTenant({ domain: samba.realm.toLowerCase(), netbiosDomain: samba.domain, domainSid });
  const approvers: TeamsUser[] = [];
  const clicker = (user: TeamsUser, approver: boolean) => {
    const entra = addUser(demo.tenant, { name: user.name.toLowerCase().replace(/\s+/g, '.'), id: user.aadObjectId, synced: false });
    if (approver) addMembers(demo.groups.socApprovers, entra);
  };
  const { ALICE_USER, BOB_USER } = await import('../../sim/teams/bot-activity.ts');
  clicker(ALICE_USER, true);
  clicker(BOB_USER, true);
  clicker(CAROL_USER, true);
  clicker(MALLORY_USER, false);
  for (let i = 0; i < 20; i++) {
    const user: TeamsUser = { id: `29:1approver-${i}`, name: `Approver ${String(i).padStart(2, '0')}`, aadObjectId: `0e2e0000-0000-4000-8000-${String(i).padStart(12, '0')}` };
    clicker(user, true);
    approvers.push(user);
  }

  const tokens = await startEntraTokenServer({
    clients: [
      { tenantId: demo.tenant.tenantId, clientId: CLIENT_ID, clientSecret: secret },
      { tenantId: demo.tenant.tenantId, clientId: READ_ONLY_CLIENT_ID, clientSecret: readOnlySecret, roles: ['SecurityAlert.Read.All', 'User.Read.All', 'GroupMember.Read.All', 'IdentityRiskyUser.Read.All', 'RoleManagement.Read.Directory', 'RoleEligibilitySchedule.Read.Directory'] },
    ],
  });
  // Defender for Identity's sensor action account acts on this DC (the tenant's synced users ARE its users).
  const onPremisesDn = (sid: string): string => {
    const user = [...demo.tenant.users.values()].find((u) => u.onPremisesSecurityIdentifier === sid);
    if (!user?.onPremisesDistinguishedName) throw new Error(`no on-premises account with SID ${sid}`);
    return user.onPremisesDistinguishedName;
  };
  const graph = await startGraphServer({
    tokens,
    tenant: demo.tenant,
    onPremises: {
      async setEnabled(sid, enabled) {
        const dn = onPremisesDn(sid);
        await asAdmin(async (client) => {
          const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['userAccountControl'] });
          const uac = Number(searchEntries[0]?.userAccountControl);
          const next = enabled ? uac & ~0x2 : uac | 0x2;
          await client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(next)] }) }));
        });
      },
      async forcePasswordReset(sid) {
        const dn = onPremisesDn(sid);
        await asAdmin((client) => client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }) })));
      },
    },
  });
  const okta = await startOktaServer({
    apiToken: oktaToken,
    tenant: demo.tenant,
    serviceApps: [{ clientId: OKTA_CLIENT_ID, publicKeyPem: oktaKeys.publicKey, keyId: 'e2e-key', grantedScopes: ['okta.users.read', 'okta.users.manage'] }],
  });
  const connector = await startBotConnectorServer();
  const running = new Set<TestBot>();
  let channelSeq = 0;

  function env(extra: Record<string, string> = {}): Record<string, string> {
    const useReadOnly = extra.AZURE_CLIENT_ID === READ_ONLY_CLIENT_ID;
    return {
      HOST: '127.0.0.1',
      PORT: '0',
      BOT_AUTH: 'off',
      LOG_LEVEL: 'debug',
      ALERT_SOURCES: 'graph',
      POLL_INTERVAL_SECONDS: '5',
      AZURE_TENANT_ID: demo.tenant.tenantId,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: useReadOnly ? readOnlySecret : secret,
      AZURE_AUTHORITY_HOST: tokens.url,
      GRAPH_ENDPOINT: graph.url,
      LDAP_URL: samba.ldapUrl,
      LDAP_BIND_DN: samba.serviceBindDn,
      LDAP_BIND_PASSWORD: samba.servicePassword,
      LDAP_BASE_DN: samba.baseDn,
      LDAP_CA_FILE: samba.caFile,
      LDAP_NETBIOS_DOMAIN: samba.domain,
      LDAP_TIMEOUT_MS: '10000',
      OKTA_ORG_URL: okta.url,
      OKTA_CLIENT_ID: OKTA_CLIENT_ID,
      OKTA_PRIVATE_KEY_PATH: oktaKeyFile,
      OKTA_KEY_ID: 'e2e-key',
      APPROVER_GROUP_IDS: demo.groups.socApprovers.id,
      TEAMS_CHANNEL_ID: `19:e2e-${++channelSeq}-${randomBytes(3).toString('hex')}@thread.tacv2`,
      TEAMS_SERVICE_URL: connector.serviceUrl,
      TEAMS_TENANT_ID: demo.tenant.tenantId,
      OUTBOUND_TIMEOUT_MS: '5000',
      ...((extra.BOT_AUTH ?? 'off') === 'off' ? { BOT_LAB_SECRET: TEST_LAB_SECRET } : {}),
      ...extra,
    };
  }

  /**
   * Who clicks or types is a member of the conversation, as in Teams: the connector knows them
   * (the bot confirms a voter's Teams id and object id with it before a vote counts).
   */
  function joinConversation(user: TeamsUser): void {
    if (!connector.members.some((m) => m.id === user.id)) connector.members.push({ id: user.id, name: user.name, aadObjectId: user.aadObjectId, tenantId: demo.tenant.tenantId, userRole: 'user' });
  }

  function teamsContext(e: Record<string, string>): TeamsContext {
    return { serviceUrl: connector.serviceUrl, botAppId: 'incident-bot-local', tenantId: demo.tenant.tenantId, channelId: e.TEAMS_CHANNEL_ID };
  }

  const harness: BotHarness = {
    samba,
    demo,
    tokens,
    graph,
    okta,
    connector,
    oktaToken,
    secrets: [secret, readOnlySecret, oktaToken, oktaKeys.privateKey.split('\n')[1] as string, samba.servicePassword, samba.adminPassword],
    approvers,
    asAdmin,
    async person(prefix, options = {}) {
      const sam = `${prefix}${randomBytes(3).toString('hex')}`.slice(0, 20);
      const upn = `${sam}@${samba.realm.toLowerCase()}`;
      const ou = options.ou ?? samba.staffOu;
      const dn = `CN=${sam},${ou}`;
      const password = `Init-${randomBytes(9).toString('base64url')}-9aZ`;
      await asAdmin(async (client) => {
        await client.add(dn, [
          new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
          new Attribute({ type: 'sAMAccountName', values: [sam] }),
          new Attribute({ type: 'userPrincipalName', values: [upn] }),
          new Attribute({ type: 'displayName', values: [`E2E ${sam}`] }),
          new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] }),
          new Attribute({ type: 'userAccountControl', values: ['512'] }),
        ]);
      });
      const found = await harness.findAd(sam);
      if (!found) throw new Error(`created ${dn} but cannot read it back`);
      const rid = Number(found.sid.split('-').at(-1));
      const entra = addUser(demo.tenant, { name: sam, displayName: `E2E ${sam}`, rid, okta: options.okta ?? false });
      if (entra.onPremisesSecurityIdentifier !== found.sid) throw new Error(`tenant SID ${entra.onPremisesSecurityIdentifier} differs from AD ${found.sid}`);
      entra.onPremisesDistinguishedName = found.dn;
      return { sam, sid: found.sid, dn: found.dn, upn, entra };
    },
    async findAd(sam) {
      return asAdmin(async (client) => {
        const { searchEntries } = await client.search(samba.baseDn, { filter: `(sAMAccountName=${sam})`, attributes: ['objectSid'], explicitBufferAttributes: ['objectSid'] });
        const entry = searchEntries[0];
        return entry ? { dn: entry.dn, sid: sidString(entry.objectSid as Buffer) } : undefined;
      });
    },
    async readAd(dn) {
      return asAdmin(async (client) => {
        const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['userAccountControl', 'pwdLastSet', 'adminCount'] });
        const entry = searchEntries[0] as Record<string, string>;
        return { uac: Number(entry.userAccountControl), pwdLastSet: String(entry.pwdLastSet), ...(entry.adminCount ? { adminCount: String(entry.adminCount) } : {}) };
      });
    },
    env,
    holdDirectory(operation) {
      const real = sambaDirectory(samba, captureLogger('warn').logger, { timeoutMs: 10_000 });
      const door = gate();
      const directory = new Proxy(real, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (property !== operation || typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            await door.pass();
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        },
      });
      return { directory, gate: door };
    },
    async startBot(extra = {}, options = {}) {
      const e = env({ DATABASE_URL: `sqlite:${join(tmp('bot-e2e-'), 'bot.db')}`, ...extra });
      const log = captureLogger('debug');
      const bot: RunningBot = await startIncidentBot(loadConfig(e), log.logger, options);
      const handle: TestBot = {
        url: bot.url,
        channelId: e.TEAMS_CHANNEL_ID as string,
        ctx: teamsContext(e),
        log,
        output: () => log.text(),
        sweepNow: () => bot.sweepNow(),
        escalateNow: () => bot.escalateNow(),
        async stop() {
          running.delete(handle);
          await bot.stop();
        },
        kill() {
          throw new Error('an in-process bot cannot be killed; use startBotProcess');
        },
      };
      running.add(handle);
      return handle;
    },
    async startBotProcess(extra = {}) {
      const e = env({ DATABASE_URL: `sqlite:${join(tmp('bot-e2e-'), 'bot.db')}`, ...extra });
      const child: ChildProcess = spawn(process.execPath, ['src/main.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: tmp('bot-home-'), NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '', ...e },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      const line = await harness
        .waitFor('the bot process to listen', () => child.exitCode === null && out.split('\n').find((l) => l.includes('"incident-bot listening"')), 30_000)
        .catch((error: unknown) => {
          child.kill('SIGKILL');
          throw new Error(`bot process did not start: ${String(error)}\n${out.slice(-3000)}`);
        });
      const handle: TestBot = {
        url: (JSON.parse(line) as { url: string }).url,
        channelId: e.TEAMS_CHANNEL_ID as string,
        ctx: teamsContext(e),
        log: undefined,
        output: () => out,
        sweepNow: () => Promise.reject(new Error('a child-process bot sweeps on its own timer')),
        escalateNow: () => Promise.reject(new Error('a child-process bot escalates on its own timer')),
        async stop() {
          running.delete(handle);
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        },
        kill() {
          running.delete(handle);
          child.kill('SIGKILL');
        },
      };
      running.add(handle);
      return handle;
    },
    alert(accounts, kind = 'passTheTicket', options = {}) {
      const at = new Date(Date.now() - 60_000);
      const alert = putAlert(demo.tenant, mdiAlert({ kind, accounts, netbiosDomain: samba.domain, tenantId: demo.tenant.tenantId, createdDateTime: at, lastUpdateDateTime: at, device: { hostName: 'WS-0042', ipAddress: '10.1.2.42' }, ...options }));
      return String(alert.providerAlertId);
    },
    async waitForCard(bot, text, timeoutMs = 15_000) {
      const record = await harness.waitFor(`an alert card naming ${text} in ${bot.channelId}`, () => connector.cardsPosted(bot.channelId).find((r) => r.kind === 'create' && JSON.stringify(cardOf(r)).includes(text)), timeoutMs);
      const root = record.conversationId.split(';messageid=')[1] ?? record.activityId;
      return { record, activityId: record.activityId, threadConversationId: record.conversationId, rootActivityId: root, channelId: bot.channelId };
    },
    currentCard(card) {
      return cardOf({ activity: connector.currentActivity(card.activityId) } as SentRecord);
    },
    async click(bot, card, action, user, options = {}) {
      const content = 'record' in card ? harness.currentCard(card) : card.card;
      const verb = options.verb ?? 'approve';
      let data = options.data;
      if (!data) {
        const button = cardButtons(content).find((b) => b.verb === verb && b.data.action === action) ?? (verb === 'deny' ? cardButtons(content).find((b) => b.verb === 'deny') : undefined);
        if (!button) throw new Error(`no ${verb} button for ${action} on the card: ${JSON.stringify(cardButtons(content).map((b) => [b.verb, b.title, b.data.action]))}`);
        data = button.data;
      }
      const ctx = options.ctx ?? bot.ctx;
      joinConversation(user);
      const rootId = 'record' in card ? card.rootActivityId : card.threadRootId;
      const activity =
        options.via === 'submit'
          ? actionSubmit(ctx, { user, data: { ...data, verb }, cardActivityId: card.activityId, ...(rootId ? { threadRootId: rootId } : {}) })
          : adaptiveCardAction(ctx, { user, verb, data, cardActivityId: card.activityId, ...(rootId ? { threadRootId: rootId } : {}) });
      const answer = await harness.post(bot, activity);
      const body = answer.body as ClickAnswer['body'];
      const isCard = body?.type === 'application/vnd.microsoft.card.adaptive';
      return { status: answer.status, ms: answer.ms, body, card: isCard ? (body?.value as Record<string, unknown>) : undefined, text: !isCard && typeof body?.value === 'string' ? body.value : undefined };
    },
    async post(bot, activity) {
      const started = performance.now();
      const response = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: labJsonHeaders(), body: JSON.stringify(activity) });
      const ms = performance.now() - started;
      const raw = await response.text();
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      return { status: response.status, body, ms };
    },
    say(bot, user, text, where = 'channel', threadRootId) {
      joinConversation(user);
      const activity = where === 'personal' ? personalMessage(bot.ctx, { user, text }) : channelMention(bot.ctx, { user, command: text, ...(threadRootId ? { threadRootId } : {}) });
      return harness.post(bot, activity);
    },
    threadTexts(card) {
      return connector.repliesIn(card.rootActivityId).map((r) => (typeof r.activity?.text === 'string' ? r.activity.text : '')).filter(Boolean);
    },
    privateMessages() {
      const chats = connector.sent.filter((r) => r.kind === 'create' && !r.channelId);
      return chats.map((chat) => ({
        conversationId: chat.conversationId,
        member: (chat.activity as Record<string, unknown> | undefined)?.members,
        texts: connector.sent.filter((r) => r.kind === 'send' && r.conversationId === chat.conversationId).map((r) => String(r.activity?.text ?? '')),
      }));
    },
    channelTexts() {
      return connector.sent
        .filter((r) => r.conversationId.startsWith('19:'))
        .map((r) => JSON.stringify(r.activity ?? {}))
        .join('\n');
    },
    async waitFor(what, probe, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await probe();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const bot of [...running]) await bot.stop().catch(() => bot.kill());
      await Promise.all([tokens.close(), graph.close(), okta.close(), connector.close()]);
      for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Writes an action policy file (ACTION_POLICY_FILE) and returns its path. */
export function writePolicy(policy: Record<string, unknown>): string {
  const file = join(tmp('policy-'), 'policy.json');
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

/** Grants nothing, changes one attribute as the domain administrator (e.g. adminCount). */
export async function replaceAttribute(h: BotHarness, dn: string, type: string, value: string): Promise<void> {
  await h.asAdmin((client) => client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) })));
}

export const uniqueId = () => randomUUID();
