import {
  AuthenticationHandler,
  Client,
  GraphError,
  HTTPMessageHandler,
  RedirectHandler,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';
import type { AuthenticationProvider, Context, Middleware } from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '../azure/azure-credential.ts';
import { AppError, type ErrorCode } from '../../domain/errors.ts';
import type { Logger } from '../../domain/logger.ts';
import { outboundSpan, setSpanAttributes } from '../../shared/telemetry.ts';

export type { Client as GraphClient } from '@microsoft/microsoft-graph-client';
export { GraphError };

export interface CreateGraphClientOptions {
  credential: TokenCredential;
  /** Graph root without version, e.g. https://graph.microsoft.com or https://graph.microsoft.us. */
  endpoint: string;
  /** Upper bound for each HTTP attempt and for each token request. */
  timeoutMs: number;
  logger: Logger;
  /** Retries of 429/503/504 (the SDK's RetryHandler). Default 3. */
  maxRetries?: number;
  /** Seconds between retries when the service sends no Retry-After. Default 2. */
  retryDelaySeconds?: number;
  /**
   * A Retry-After longer than this is not waited out inside the call (the SDK's sleep cannot be
   * cancelled): the 429 surfaces as UPSTREAM_THROTTLED and the caller backs off. Default 30.
   */
  maxRetryAfterSeconds?: number;
  /** Token scope; by default derived from the endpoint (see graphScopeFor). */
  scope?: string;
}

/** Graph hosts of the Microsoft clouds and the resource each one's tokens are issued for. */
const GRAPH_RESOURCES: Record<string, string> = {
  'graph.microsoft.com': 'https://graph.microsoft.com',
  'canary.graph.microsoft.com': 'https://graph.microsoft.com',
  'graph.microsoft.us': 'https://graph.microsoft.us',
  'dod-graph.microsoft.us': 'https://dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn': 'https://microsoftgraph.chinacloudapi.cn',
};

/**
 * The `/.default` scope for a Graph endpoint. National clouds have their own Graph resource; any
 * other host (a proxy, the local stand-in) fronts the global service, whose tokens it accepts.
 */
export function graphScopeFor(endpoint: string): string {
  const host = new URL(endpoint).hostname.toLowerCase();
  return `${GRAPH_RESOURCES[host] ?? 'https://graph.microsoft.com'}/.default`;
}

/** Names our token provider gives its failures; GraphError.code carries them through the SDK. */
type TokenFailure = 'GraphTokenRefused' | 'GraphTokenTimeout' | 'GraphTokenUnavailable';

const TOKEN_FAILURE_CODES: Record<TokenFailure, ErrorCode> = {
  GraphTokenRefused: 'UPSTREAM_FORBIDDEN',
  GraphTokenTimeout: 'TIMEOUT',
  GraphTokenUnavailable: 'UPSTREAM_ERROR',
};

function tokenProvider(credential: TokenCredential, scope: string, timeoutMs: number): AuthenticationProvider {
  return {
    async getAccessToken() {
      try {
        const token = await credential.getToken(scope, { abortSignal: AbortSignal.timeout(timeoutMs) });
        if (!token) throw new Error('the credential returned no token');
        return token.token;
      } catch (error) {
        throw tokenError(error, scope);
      }
    },
  };
}

/** A sentence without AAD trace ids or secrets; the AADSTS code is what an operator searches for. */
function tokenError(error: unknown, scope: string): Error {
  // Bounded before any regex: the text comes from the network (MSAL quotes the server's answer).
  const text = (error instanceof Error ? `${error.name} ${error.message}` : String(error)).slice(0, 4096);
  const aadsts = /AADSTS\d+/.exec(text)?.[0];
  let name: TokenFailure;
  let message: string;
  if (aadsts || /AuthenticationRequiredError|invalid_client|unauthorized_client|invalid_scope|invalid_resource/i.test(text)) {
    name = 'GraphTokenRefused';
    message = `Entra ID refused to issue a token for ${scope}${aadsts ? ` (${aadsts})` : ''}: check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or certificate.`;
  } else if (/timeout|timed out|aborted/i.test(text)) {
    name = 'GraphTokenTimeout';
    message = `Entra ID did not answer the token request for ${scope} in time.`;
  } else {
    // MSAL names what went wrong in a snake_case code (endpoints_resolution_error when the
    // authority's metadata could not be fetched, e.g. a stalled or unreachable AZURE_AUTHORITY_HOST).
    const msalCode = /\b[a-z]+(?:_[a-z]+)*_error\b/.exec(text)?.[0];
    name = 'GraphTokenUnavailable';
    message = `Could not get a token for ${scope} from Entra ID${msalCode ? ` (${msalCode})` : ''}: check that AZURE_AUTHORITY_HOST is reachable.`;
  }
  const failure = new Error(message, { cause: error });
  failure.name = name;
  return failure;
}

const CALLER_SIGNAL = Symbol('callerSignal');

/**
 * Gives every HTTP attempt its own deadline (a retried request gets a fresh one), combined with
 * the signal the caller passed through `.option('signal', ...)`.
 */
class TimeoutHandler implements Middleware {
  #next: Middleware | undefined;
  readonly #timeoutMs: number;
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }
  async execute(context: Context): Promise<void> {
    const holder = context as Context & { [CALLER_SIGNAL]?: AbortSignal | null };
    context.options ??= {};
    if (holder[CALLER_SIGNAL] === undefined) holder[CALLER_SIGNAL] = (context.options.signal as AbortSignal | undefined) ?? null;
    const caller = holder[CALLER_SIGNAL];
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    context.options.signal = caller ? AbortSignal.any([caller, deadline]) : deadline;
    await this.#next?.execute(context);
  }
  setNext(next: Middleware): void {
    this.#next = next;
  }
}

/**
 * One client span per HTTP attempt (retries are separate spans): method, URL without its query,
 * status. Never headers (the bearer token) or bodies.
 */
class TracingHandler implements Middleware {
  #next: Middleware | undefined;
  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const method = context.options?.method ?? (typeof context.request === 'string' ? 'GET' : context.request.method);
    await outboundSpan('graph.request', { 'http.request.method': method, 'url.full': url, 'server.address': hostOf(url) }, async (span) => {
      await this.#next?.execute(context);
      setSpanAttributes(span, { 'http.response.status_code': context.response?.status });
    });
  }
  setNext(next: Middleware): void {
    this.#next = next;
  }
}

function hostOf(url: string): string | undefined {
  return URL.parse(url)?.hostname;
}

/**
 * A Microsoft Graph client for the bot: tokens from the shared credential, bearer sent to the
 * configured endpoint even when it is not a Graph host, a deadline on every attempt, and retries
 * bounded so that a throttled or failing Graph ends in an error instead of a hang. Errors surface
 * as the SDK's GraphError; `graphErrorToAppError` maps them.
 */
export function createGraphClient(options: CreateGraphClientOptions): Client {
  const endpoint = options.endpoint.replace(/\/+$/, '').replace(/\/(v1\.0|beta)$/i, '');
  const url = new URL(endpoint);
  const scope = options.scope ?? graphScopeFor(endpoint);
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 30;
  const log = options.logger.child({ component: 'graph-client' });

  const retryOptions = new RetryHandlerOptions(options.retryDelaySeconds ?? 2, options.maxRetries ?? 3, (_delay, attempt, _request, fetchOptions, response) => {
    const signal = fetchOptions?.signal as AbortSignal | undefined;
    if (signal?.aborted) return false;
    const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
    if (retryAfter !== undefined && retryAfter > maxRetryAfter) {
      log.warn({ status: response.status, retryAfter }, 'Graph asked to wait longer than the retry budget; not retrying');
      return false;
    }
    log.info({ status: response.status, attempt: attempt + 1, retryAfter }, 'Graph call throttled or unavailable; retrying');
    return true;
  });

  const auth = new AuthenticationHandler(tokenProvider(options.credential, scope, options.timeoutMs));
  const retry = new RetryHandler(retryOptions);
  const redirect = new RedirectHandler();
  const telemetry = new TelemetryHandler();
  const tracing = new TracingHandler();
  const timeout = new TimeoutHandler(options.timeoutMs);
  const http = new HTTPMessageHandler();
  auth.setNext(retry);
  retry.setNext(redirect);
  redirect.setNext(telemetry);
  telemetry.setNext(tracing);
  tracing.setNext(timeout);
  timeout.setNext(http);

  const isGraphHost = url.hostname.toLowerCase() in GRAPH_RESOURCES;
  return Client.initWithMiddleware({
    middleware: auth,
    baseUrl: endpoint,
    defaultVersion: 'v1.0',
    // The SDK attaches the bearer token only to Graph's own hosts unless told otherwise.
    ...(isGraphHost ? {} : { customHosts: new Set([url.hostname]) }),
  });
}

function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((at - Date.now()) / 1000));
}

export interface GraphCallDescription {
  /** What was attempted, e.g. "read MDI alerts". */
  action: string;
  /** The application permission the call needs, named in 401/403 sentences. */
  permission: string;
}

/**
 * Maps any failure of a Graph call to an AppError with a sentence fit for an operator. Keeps the
 * HTTP status, Graph error code and request id in details; never the response body.
 */
export function graphErrorToAppError(error: unknown, call: GraphCallDescription): AppError {
  if (error instanceof AppError) return error;
  if (!(error instanceof GraphError)) {
    return new AppError('INTERNAL', `Could not ${call.action} through Microsoft Graph.`, { cause: error });
  }
  const status = error.statusCode;
  const details: Record<string, unknown> = { status, graphCode: error.code ?? undefined, requestId: error.requestId ?? undefined };
  const code = error.code ?? '';
  if (code in TOKEN_FAILURE_CODES) {
    return new AppError(TOKEN_FAILURE_CODES[code as TokenFailure], error.message, { cause: error, details });
  }
  if (code === 'TimeoutError') {
    return new AppError('TIMEOUT', `Microsoft Graph did not answer in time while trying to ${call.action}.`, { cause: error, details });
  }
  if (status === 401) {
    return new AppError('UPSTREAM_FORBIDDEN', `Microsoft Graph refused the app's token while trying to ${call.action}: check that the app registration is in this tenant and has the ${call.permission} application permission with admin consent.`, { cause: error, details });
  }
  if (status === 403) {
    return new AppError('UPSTREAM_FORBIDDEN', `The app may not ${call.action}: grant it the ${call.permission} application permission in Entra ID and give admin consent.`, { cause: error, details });
  }
  if (status === 404) {
    return new AppError('UPSTREAM_NOT_FOUND', `Microsoft Graph found nothing to ${call.action}.`, { cause: error, details });
  }
  if (status === 429) {
    const retryAfter = retryAfterSeconds(error.headers?.get('retry-after') ?? null);
    return new AppError('UPSTREAM_THROTTLED', `Microsoft Graph is throttling the app while it tries to ${call.action}${retryAfter === undefined ? '' : `; retry after ${retryAfter} seconds`}.`, {
      cause: error,
      details: { ...details, retryAfterSeconds: retryAfter },
    });
  }
  if (status >= 500) {
    return new AppError('UPSTREAM_ERROR', `Microsoft Graph failed (HTTP ${status}) while trying to ${call.action}, also after retries.`, { cause: error, details });
  }
  if (status >= 400) {
    return new AppError('UPSTREAM_ERROR', `Microsoft Graph rejected the request to ${call.action} (HTTP ${status} ${code}).`, { cause: error, details });
  }
  return new AppError('UPSTREAM_ERROR', `Could not reach Microsoft Graph to ${call.action}.`, { cause: error, details });
}
