import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';

/**
 * Drives the Microsoft 365 Agents Playground (Microsoft's local Teams emulator) without a
 * browser: start it offline pointed at a bot, read its config, follow its conversation stream
 * and act as its users (messages with @mentions, Action.Execute invokes, Action.Submit).
 * Shared by the local lab (lab/lab.ts) and the end-to-end tests. See
 * /work/shared/docs/playground.md for the wire details this relies on.
 */

const ROOT = resolve(import.meta.dirname, '../..');
export const PLAYGROUND_CLI = join(ROOT, 'node_modules/@microsoft/m365agentsplayground/cli.js');

/** Environment that keeps the playground from phoning home or opening a browser. */
export const PLAYGROUND_OFFLINE_ENV = {
  APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
  TEAMSAPPTESTER_BROWSER: 'none',
} as const;

export interface PlaygroundUser {
  id: string;
  name: string;
  aadObjectId: string;
  userPrincipleName?: string;
  givenName?: string;
  surname?: string;
  email?: string;
}

export interface PlaygroundConfig {
  tenantId: string;
  bot: { id: string; name: string };
  currentUser: PlaygroundUser;
  users: PlaygroundUser[];
  personalChat: { id: string; name?: string };
  groupChats: Array<{ id: string; name: string; members: string[] }>;
  teams: Array<{ id: string; name: string; aadGroupId?: string; channels: Array<{ id: string; name: string }>; members: string[] }>;
}

/** A message the bot sent, as the playground streams it. */
export interface StreamMessage {
  messageId: string;
  timestamp?: number;
  from?: { id: string; name?: string };
  text?: string;
  attachments?: Array<{ contentType: string; content: Record<string, unknown> }>;
  replyToId?: string;
  /** Conversation to post replies to: for a new channel thread, `<channel>;messageid=<root>`. */
  postConversationId?: string;
  [key: string]: unknown;
}

export interface StreamEvent {
  action: 'createMessage' | 'updateMessage' | 'typing' | string;
  actionConversationId: string;
  message: StreamMessage;
  /** When this client received it (ms since epoch). */
  receivedAt: number;
}

export class PlaygroundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaygroundError';
  }
}

/** A free TCP port on 127.0.0.1 (the playground silently moves elsewhere when its port is taken). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** True when nothing listens on the port (checked on every local address the playground may bind). */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, () => server.close(() => resolveFree(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value, or fails after `timeoutMs` with `what` in the message. */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new PlaygroundError(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
}

export interface StartPlaygroundOptions {
  /** The bot's messaging endpoint, e.g. http://127.0.0.1:3978/api/messages. */
  botEndpoint: string;
  port: number;
  /** Scratch folder the playground runs in (it writes ./devTools there). */
  workDir: string;
  /** Contents of .m365agentsplayground.yml written into workDir. */
  configYaml: string;
  /** How long to wait until its API answers (it needs the bot to answer first). */
  readyTimeoutMs?: number;
}

export interface RunningPlayground {
  url: string;
  port: number;
  pid: number;
  client: PlaygroundClient;
  /** Log file the playground writes (not stdout). */
  logFile: string;
  stop(): Promise<void>;
}

export function playgroundInstalled(): boolean {
  return existsSync(PLAYGROUND_CLI);
}

/**
 * Starts `agentsplayground start` offline on `port` and waits until its API answers. Fails
 * (rather than letting the playground pick another port silently) when the port is taken.
 */
export async function startPlayground(options: StartPlaygroundOptions): Promise<RunningPlayground> {
  if (!playgroundInstalled()) throw new PlaygroundError(`Agents Playground not installed (${PLAYGROUND_CLI}): run npm install`);
  if (!(await portIsFree(options.port))) throw new PlaygroundError(`port ${options.port} is in use (another playground or lab running?)`);
  mkdirSync(options.workDir, { recursive: true });
  writeFileSync(join(options.workDir, '.m365agentsplayground.yml'), options.configYaml);
  const child: ChildProcess = spawn(
    process.execPath,
    [PLAYGROUND_CLI, 'start', '-e', options.botEndpoint, '-c', 'msteams', '--disable-telemetry', '-p', String(options.port)],
    {
      cwd: options.workDir,
      env: { ...process.env, ...PLAYGROUND_OFFLINE_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Same process group as the caller: a Ctrl-C in the terminal reaches it too, so it never
      // outlives a lab that was interrupted (it runs in-process, it spawns nothing itself).
      detached: false,
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const url = `http://127.0.0.1:${options.port}`;
  const stop = () => stopProcessGroup(child);
  try {
    await waitUntil(`the playground on ${url} (output: ${output.trim().slice(-300)})`, options.readyTimeoutMs ?? 30_000, async () => {
      if (exited !== undefined) throw new PlaygroundError(`agentsplayground exited with ${exited}: ${output.trim().slice(-500)}`);
      const res = await fetch(`${url}/_internal/v1/config`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port: options.port,
    pid: child.pid as number,
    client: new PlaygroundClient(url),
    logFile: join(options.workDir, 'devTools/m365agentsplayground.log'),
    stop,
  };
}

/** SIGTERM to the child's process group, SIGKILL after a grace period; resolves once it is gone. */
export async function stopProcessGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // Not a group leader (spawned without detached) or already gone: signal the child alone.
      try {
        child.kill(sig);
      } catch {
        /* already exited */
      }
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export interface SendOptions {
  conversationId: string;
  text: string;
  /** Mention the bot first (needed in channels, as in Teams). */
  mentionBot?: boolean;
  /** Sender's playground id; default the current user. */
  fromId?: string;
}

export interface InvokeOptions {
  /** The conversation the card lives in: for a channel thread, `<channel>;messageid=<root>`. */
  conversationId: string;
  /** The card's message id. */
  replyToId: string;
  verb: string;
  data: Record<string, unknown>;
  fromId?: string;
}

/** The playground's HTTP API, as the web client uses it. */
export class PlaygroundClient {
  readonly url: string;
  private cachedConfig: PlaygroundConfig | undefined;

  constructor(url: string) {
    this.url = url.replace(/\/$/, '');
  }

  async config(): Promise<PlaygroundConfig> {
    if (!this.cachedConfig) {
      const body = (await this.request('GET', '/_internal/v1/config')) as { config: PlaygroundConfig };
      this.cachedConfig = body.config;
    }
    return this.cachedConfig;
  }

  /** The channel named `name` of the (only) team. */
  async channel(name: string): Promise<{ id: string; name: string }> {
    const config = await this.config();
    for (const team of config.teams) {
      const channel = team.channels.find((c) => c.name === name);
      if (channel) return channel;
    }
    throw new PlaygroundError(`no channel named ${name} in the playground config`);
  }

  /** Base URL of the playground's mock Bot Framework connector (the bot's serviceUrl). */
  get connectorUrl(): string {
    return `${this.url}/_connector`;
  }

  /** Posts a message as a user; returns the ids, with `postConversationId` naming the thread it started. */
  async send(options: SendOptions): Promise<{ messageId: string; postConversationId?: string }> {
    const config = await this.config();
    const body: Record<string, unknown> = {
      from: { id: options.fromId ?? config.currentUser.id },
      text: options.mentionBot ? `<at>${config.bot.name}</at> ${options.text}` : options.text,
      textFormat: options.mentionBot ? 'xml' : 'plain',
    };
    if (options.mentionBot) body.mentions = [{ mentioned: { id: config.bot.id, name: config.bot.name }, text: `<at>${config.bot.name}</at>` }];
    return (await this.request('POST', `/_conversation/v1/conversations/${encodeURIComponent(options.conversationId)}/messages`, body)) as {
      messageId: string;
      postConversationId?: string;
    };
  }

  /** An Action.Execute click: the bot's invoke response comes back here (it is not streamed). */
  async invoke(options: InvokeOptions): Promise<Record<string, unknown>> {
    const config = await this.config();
    return (await this.request('POST', '/_conversation/v1/invoke', {
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: options.verb, data: options.data } },
      from: { id: options.fromId ?? config.currentUser.id },
      conversation: { id: options.conversationId },
      replyToId: options.replyToId,
    })) as Record<string, unknown>;
  }

  /** An Action.Submit click carrying `value`. */
  async submit(options: { conversationId: string; replyToId: string; value: Record<string, unknown>; fromId?: string }): Promise<unknown> {
    const config = await this.config();
    return this.request('POST', '/_conversation/v1/submit', {
      conversation: { id: options.conversationId },
      from: { id: options.fromId ?? config.currentUser.id },
      replyToId: options.replyToId,
      value: options.value,
    });
  }

  /** Opens the conversation stream; events produced while nobody listened are delivered now. */
  async stream(): Promise<PlaygroundStream> {
    const stream = new PlaygroundStream(`${this.url.replace(/^http/, 'ws')}/_ws_conversation/v1/conversations/stream`);
    await stream.opened;
    return stream;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new PlaygroundError(`${method} ${path} -> ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }
}

type Waiter = { predicate: (event: StreamEvent) => boolean; resolve: (event: StreamEvent) => void };

/** The playground's push stream of what the bot sends: createMessage, updateMessage, typing. */
export class PlaygroundStream {
  readonly events: StreamEvent[] = [];
  readonly opened: Promise<void>;
  private readonly socket: WebSocket;
  private waiters: Waiter[] = [];

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.opened = new Promise((resolveOpen, reject) => {
      this.socket.once('open', () => resolveOpen());
      this.socket.once('error', reject);
    });
    this.socket.on('message', (data) => {
      let parsed: Omit<StreamEvent, 'receivedAt'>;
      try {
        parsed = JSON.parse(String(data)) as Omit<StreamEvent, 'receivedAt'>;
      } catch {
        return; // not an event (the stream carries only JSON events today)
      }
      const event: StreamEvent = { ...parsed, receivedAt: Date.now() };
      this.events.push(event);
      this.waiters = this.waiters.filter((w) => {
        if (!w.predicate(event)) return true;
        w.resolve(event);
        return false;
      });
    });
  }

  /** The first event (already received or coming) that satisfies `predicate`. */
  async waitFor(what: string, predicate: (event: StreamEvent) => boolean, timeoutMs: number): Promise<StreamEvent> {
    const seen = this.events.find(predicate);
    if (seen) return seen;
    return new Promise((resolveEvent, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (event) => {
          clearTimeout(timer);
          resolveEvent(event);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const summary = this.events.slice(-8).map((e) => `${e.action}@${e.actionConversationId}: ${describe(e.message)}`).join(' | ');
        reject(new PlaygroundError(`timed out after ${timeoutMs} ms waiting for ${what}; last events: ${summary || 'none'}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Short text of a streamed message for failure messages: its text or its cards' first texts. */
export function describe(message: StreamMessage): string {
  const texts = [message.text ?? '', ...cardsOf(message).flatMap((c) => cardTexts(c).slice(0, 2))].filter(Boolean);
  return texts.join(' / ').slice(0, 160);
}

export function cardsOf(message: StreamMessage): Array<Record<string, unknown>> {
  return (message.attachments ?? []).filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive').map((a) => a.content);
}

/** Every TextBlock/TextRun/FactSet string in a card, depth first. */
export function cardTexts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(cardTexts);
  if (!node || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const own: string[] = [];
  if ((record.type === 'TextBlock' || record.type === 'TextRun') && typeof record.text === 'string') own.push(record.text);
  if (record.type === 'Fact' || (typeof record.title === 'string' && typeof record.value === 'string')) own.push(`${String(record.title)}: ${String(record.value)}`);
  return [...own, ...Object.entries(record).filter(([key]) => key !== 'text').flatMap(([, value]) => cardTexts(value))];
}

/** Every Action.Execute / Action.Submit in a card (including nested ActionSets and ShowCards). */
export function cardActions(node: unknown): Array<{ type: string; title?: string; verb?: string; data?: Record<string, unknown> }> {
  if (Array.isArray(node)) return node.flatMap(cardActions);
  if (!node || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const own = record.type === 'Action.Execute' || record.type === 'Action.Submit' ? [record as { type: string; title?: string; verb?: string; data?: Record<string, unknown> }] : [];
  return [...own, ...Object.values(record).flatMap(cardActions)];
}

/** All text of a stream message: its own text and every text in its cards. */
export function allText(event: StreamEvent): string {
  return [event.message.text ?? '', ...cardsOf(event.message).flatMap((c) => cardTexts(c))].join('\n');
}

/** The card's "Disable AD account" approve button, if it still has one. */
export function disableAction(event: StreamEvent) {
  return cardsOf(event.message)
    .flatMap((card) => cardActions(card))
    .find((a) => a.type === 'Action.Execute' && a.verb === 'approve' && a.data?.action === 'disable-ad-account');
}

/** The conversation id a reply or invoke on this message uses (its thread). */
export function threadOf(event: StreamEvent): string {
  if (event.actionConversationId.includes(';messageid=')) return event.actionConversationId;
  return event.message.postConversationId ?? `${event.actionConversationId};messageid=${event.message.messageId}`;
}

/**
 * After an Approve of "Disable AD account" on `card`: the bot's result line in the card's thread
 * naming `sam`, and the card updated for everyone without that button.
 */
export async function approvalOutcome(options: {
  stream: PlaygroundStream;
  card: StreamEvent;
  sam: string;
  botId: string;
  clickedAt: number;
  stepMs: number;
}): Promise<{ result: StreamEvent; updated: StreamEvent }> {
  const { stream, card, sam, clickedAt, stepMs } = options;
  const thread = threadOf(card);
  const result = await stream.waitFor(
    `the result of disabling ${sam} in the alert's thread`,
    (e) => e.action === 'createMessage' && e.message.from?.id === options.botId && e.receivedAt >= clickedAt && e.actionConversationId === thread && /disabled/i.test(allText(e)) && allText(e).includes(sam),
    stepMs,
  );
  const updated = await stream.waitFor(
    'the alert card updated for everyone',
    (e) => e.action === 'updateMessage' && e.receivedAt >= clickedAt && e.message.messageId === card.message.messageId && disableAction(e) === undefined,
    stepMs,
  );
  return { result, updated };
}

/** Types `lookup <who>` in the personal chat and waits for the bot's card there. */
export async function lookupInPersonalChat(options: { client: PlaygroundClient; stream: PlaygroundStream; config: PlaygroundConfig; who: string; stepMs: number }): Promise<StreamEvent> {
  const { client, stream, config, who } = options;
  const sentAt = Date.now();
  await client.send({ conversationId: config.personalChat.id, text: `lookup ${who}` });
  return stream.waitFor(
    `a lookup card for ${who} in personal chat`,
    (e) => e.action === 'createMessage' && e.message.from?.id === config.bot.id && e.receivedAt >= sentAt && e.actionConversationId === config.personalChat.id && cardsOf(e.message).length > 0,
    options.stepMs,
  );
}
