import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, type Logger } from '../src/observability/logger.ts';
import { ensureTestCa } from '../sim/test-ca.ts';
import { startPlayground, type RunningPlayground, type StreamEvent } from '../sim/teams/playground.ts';
import { ATTACK_PLAN, runAttack, type AttackStep, type RunningAttack } from './attack-script.ts';
import { startBotProcess, type BotProcess } from './bot-process.ts';
import { startLabFront } from './lab-front.ts';
import { startLabCloud, type LabCloud } from '../sim/local-cloud.ts';
import { startLabDirectory, type LabDirectory } from '../sim/demo-directory.ts';
import { buildLabTenant, type LabTenant } from '../sim/demo-tenant.ts';
import { LAB_TEAMS_IDS, playgroundYaml } from './playground-config.ts';

/**
 * `npm run lab`: the whole product on one machine, offline. A simulated Entra tenant with MDI
 * alerts (local Graph, Sentinel, Okta and token servers), a real Samba AD DC when possible,
 * incident-bot itself, and Microsoft's Teams emulator (Agents Playground) with a SOC channel
 * the bot posts to; then a scripted identity attack. The e2e test starts the same lab.
 */

const ROOT = resolve(import.meta.dirname, '..');

export interface LabOptions {
  /** Working folder (recreated parts: samba/, playground/, lab.db, bot.log). Default ./.lab */
  dir?: string;
  playgroundPort?: number;
  botPort?: number;
  /** Attack time factor: 1 = the plan's pace (minutes), 0.1 = ten times faster. */
  pace?: number;
  /** The attack's steps; default ATTACK_PLAN (reconnaissance, brute force, pass-the-hash, DCSync). */
  attackPlan?: readonly AttackStep[];
  /** false: the attack waits for lab.startAttack() (or never runs). */
  attack?: boolean;
  directory?: 'auto' | 'simulated';
  /** Also raise each alert in the Sentinel workspace (the bot then polls both sources). */
  sentinel?: boolean;
  pollIntervalSeconds?: number;
  /**
   * How the SOC channel becomes the alert destination: 'config' (TEAMS_CHANNEL_ID and
   * TEAMS_SERVICE_URL, the default) or 'command' (an analyst's `@Incident Bot subscribe` in the
   * channel, posted through the playground as a user would).
   */
  subscribeBy?: 'config' | 'command';
  /** Progress lines for a human. */
  say?: (line: string) => void;
  logger?: Logger;
}

export interface Lab {
  playgroundUrl: string;
  playground: RunningPlayground;
  bot: BotProcess;
  cloud: LabCloud;
  directory: LabDirectory;
  tenant: LabTenant;
  /** undefined until the attack starts (at once, or by startAttack() with attack: false). */
  attack: RunningAttack | undefined;
  /**
   * Starts the scripted attack (once). For callers that must be ready first: the playground's
   * web UI shows only what it receives while connected, so a test opens it before alerts flow.
   */
  startAttack(): RunningAttack;
  socChannelId: string;
  /** With subscribeBy 'command': the bot's answer to `subscribe` in the SOC channel. */
  subscribeAnswer: StreamEvent | undefined;
  dir: string;
  stop(): Promise<void>;
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const say = options.say ?? (() => undefined);
  const logger = options.logger ?? createLogger({ level: 'warn' });
  const dir = resolve(options.dir ?? join(ROOT, '.lab'));
  const playgroundPort = options.playgroundPort ?? 56150;
  const botPort = options.botPort ?? 3978;
  mkdirSync(dir, { recursive: true });
  // Stoppers of what is running, newest first; stop() and a failed start both unwind them.
  const stoppers: Array<{ what: string; stop: () => Promise<void> | void }> = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const { what, stop: stopOne } of stoppers.splice(0)) {
        const began = Date.now();
        try {
          await stopOne();
          if (Date.now() - began > 3000) say(`stopping ${what} took ${((Date.now() - began) / 1000).toFixed(1)} s`);
        } catch (error) {
          logger.warn({ err: error, what }, 'lab: could not stop cleanly');
        }
      }
    })();
    return stopping;
  };

  try {
    const ca = ensureTestCa();

    const directory = await startLabDirectory({
      dir: join(dir, 'samba'),
      simulatedFile: join(dir, 'directory.json'),
      logger,
      prefer: options.directory === 'simulated' ? 'simulated' : 'samba',
      say,
    });
    stoppers.unshift({ what: 'directory', stop: directory.stop });
    say(
      directory.kind === 'samba'
        ? `directory: Samba AD DC on ${directory.env.ldapUrl} (${directory.users.length} people)`
        : `directory: simulated, in memory in the bot process (${directory.users.length} people; ${directory.reason}); contents: ${directory.file}`,
    );

    const tenant = buildLabTenant(directory.users);
    const cloud = await startLabCloud(tenant.tenant);
    stoppers.unshift({ what: 'local cloud', stop: cloud.stop });
    say(`simulated tenant: ${tenant.tenant.users.size} users, ${tenant.tenant.groups.size} groups; Graph ${cloud.graph.url}, Sentinel ${cloud.logAnalytics.url}, Okta ${cloud.okta.url}`);

    const playgroundUrl = `http://localhost:${playgroundPort}`;
    for (const file of ['lab.db', 'lab.db-wal', 'lab.db-shm']) rmSync(join(dir, file), { force: true });
    // BOT_AUTH=off is the lab mode: every request carries this run's secret (the relay adds it).
    const labSecret = randomBytes(24).toString('base64url');
    const botEnv: Record<string, string> = {
      NODE_EXTRA_CA_CERTS: ca.caFile,
      BOT_AUTH: 'off',
      BOT_LAB_SECRET: labSecret,
      DATABASE_URL: `sqlite:${join(dir, 'lab.db')}`,
      ALERT_SOURCES: options.sentinel === false ? 'graph' : 'graph,sentinel',
      POLL_INTERVAL_SECONDS: String(options.pollIntervalSeconds ?? 5),
      APPROVER_USER_IDS: tenant.analyst.id,
      APPROVER_GROUP_IDS: tenant.groups.socApprovers.id,
      // Decisions, results and closes go back to the Graph stand-in's alerts and incidents.
      DEFENDER_WRITEBACK: 'on',
      ...(options.subscribeBy === 'command'
        ? {}
        : {
            TEAMS_CHANNEL_ID: LAB_TEAMS_IDS.socChannel,
            // The playground serves its mock Bot Framework connector under /_connector.
            TEAMS_SERVICE_URL: `http://127.0.0.1:${playgroundPort}/_connector`,
            TEAMS_TENANT_ID: tenant.tenant.tenantId,
          }),
      // Small print on every card: nobody mistakes the lab for production, and everyone can
      // tell a real Samba DC from the simulated directory.
      CARD_FOOTER: directory.label,
      LOG_LEVEL: process.env.LAB_LOG_LEVEL ?? 'info',
      ...cloud.botEnv,
      ...directory.botEnv,
    };
    const bot = await startBotProcess({ env: botEnv, port: botPort, logFile: join(dir, 'bot.log'), entry: directory.botEntry });
    stoppers.unshift({ what: 'incident-bot', stop: bot.stop });
    say(`incident-bot on ${bot.url} (log: ${bot.logFile})`);
    const front = await startLabFront({ botUrl: bot.url, secret: labSecret });
    stoppers.unshift({ what: 'lab relay', stop: front.stop });

    const others = [tenant.bySam.get('jdoe'), tenant.bySam.get('zmuller'), tenant.cloudOnly[0], tenant.bySam.get('test01'), tenant.bySam.get('padmin')];
    const playground = await startPlayground({
      botEndpoint: front.endpoint,
      port: playgroundPort,
      workDir: join(dir, 'playground'),
      configYaml: playgroundYaml({ tenantId: tenant.tenant.tenantId, currentUser: tenant.analyst, others: others.filter((u) => u !== undefined) }),
    });
    stoppers.unshift({ what: 'playground', stop: playground.stop });
    say(`Agents Playground on ${playgroundUrl} (log: ${playground.logFile})`);

    let subscribeAnswer: StreamEvent | undefined;
    if (options.subscribeBy === 'command') subscribeAnswer = await subscribeSocChannel(playground);

    const lab: Lab = { playgroundUrl, playground, bot, cloud, directory, tenant, attack: undefined, startAttack, socChannelId: LAB_TEAMS_IDS.socChannel, subscribeAnswer, dir, stop };
    function startAttack(): RunningAttack {
      if (lab.attack) return lab.attack;
      const started = Date.now();
      const attack = runAttack({
        tenant: tenant.tenant,
        victim: tenant.victim,
        reconUser: tenant.reconUser,
        logAnalytics: options.sentinel === false ? undefined : cloud.logAnalytics,
        pace: options.pace ?? 1,
        ...(options.attackPlan ? { plan: options.attackPlan } : {}),
        onAlert: ({ alert }) => {
          const seconds = String(Math.round((Date.now() - started) / 1000)).padStart(3);
          say(`[+${seconds}s] MDI alert raised: ${String(alert.title)} (${String(alert.severity)})`);
        },
      });
      stoppers.unshift({ what: 'attack', stop: () => attack.stop() });
      lab.attack = attack;
      return attack;
    }
    if (options.attack !== false) startAttack();
    return lab;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `@Incident Bot subscribe` in the SOC channel, as an analyst types it; resolves with the bot's answer. */
async function subscribeSocChannel(playground: RunningPlayground): Promise<StreamEvent> {
  const config = await playground.client.config();
  const stream = await playground.client.stream();
  try {
    const posted = await playground.client.send({ conversationId: LAB_TEAMS_IDS.socChannel, text: 'subscribe', mentionBot: true });
    const thread = posted.postConversationId ?? `${LAB_TEAMS_IDS.socChannel};messageid=${posted.messageId}`;
    return await stream.waitFor(
      'the answer to subscribe in the SOC channel',
      (e) => e.action === 'createMessage' && e.message.from?.id === config.bot.id && e.actionConversationId === thread,
      15_000,
    );
  } finally {
    stream.close();
  }
}

function banner(lab: Lab): string {
  const victim = lab.tenant.victim;
  const sam = victim.onPremisesSamAccountName ?? victim.userPrincipalName;
  const plan = ATTACK_PLAN.map((s) => `     +${String(s.at).padStart(3)}s  ${s.what}`).join('\n');
  return `
  incident-bot lab is running — open ${lab.playgroundUrl}
  (you are ${lab.tenant.analyst.displayName}, an approver; directory: ${lab.directory.label})

  The attack on Example Corp raises MDI alerts while you watch:
${plan}

  Try:
   1. "Security Team - SOC": each alert arrives as a card in its own thread.
   2. On a card about CORP\\${sam} press "Disable AD account" (Approve):
      CORP\\${sam} is disabled in the directory and the result lands in the thread.
   3. Personal chat with Incident Bot: "lookup ${sam}", "alerts", "pending", "help".

  Ctrl-C stops everything the lab started.
`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const say = (line: string) => process.stdout.write(`lab: ${line}\n`);
  let lab: Lab | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping everything the lab started...`);
    // Still starting: main() stops what was started once startLab returns (or startLab
    // unwinds it itself when a child it waits for dies of the same Ctrl-C).
    if (!lab) return;
    lab.stop().then(
      () => {
        say('stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`lab: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  lab = await startLab({
    say,
    playgroundPort: process.env.LAB_PLAYGROUND_PORT ? Number(process.env.LAB_PLAYGROUND_PORT) : undefined,
    botPort: process.env.LAB_BOT_PORT ? Number(process.env.LAB_BOT_PORT) : undefined,
    directory: process.env.LAB_DIRECTORY === 'simulated' ? 'simulated' : 'auto',
    subscribeBy: process.env.LAB_SUBSCRIBE === 'command' ? 'command' : 'config',
  });
  if (stopping) {
    await lab.stop();
    say('stopped.');
    process.exit(0);
  }
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(banner(lab));
}

if (import.meta.main) {
  if (!existsSync(join(ROOT, 'node_modules'))) {
    process.stderr.write('lab: run `npm install` first\n');
    process.exit(1);
  }
  main().catch((error: unknown) => {
    process.stderr.write(`lab: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
