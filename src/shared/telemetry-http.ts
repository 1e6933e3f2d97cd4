import { outboundSpan, setSpanAttributes } from './telemetry.ts';

/**
 * `fetch` with one client span per call: method, URL without its query, server, status. The
 * request's headers (tokens, client assertions) and bodies are never looked at.
 */
export function tracedFetch(inner: typeof fetch, spanName: string): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
    return outboundSpan(spanName, { 'http.request.method': method, 'url.full': url, 'server.address': URL.parse(url)?.hostname }, async (span) => {
      const response = await inner(input, init);
      setSpanAttributes(span, { 'http.response.status_code': response.status });
      return response;
    });
  };
}

/** The request and response of an Azure core / botbuilder HTTP pipeline, as far as a span needs them. */
interface PipelineRequestLike {
  url: string;
  method: string;
}

/**
 * Runs one attempt of an HTTP pipeline (Azure SDK `sendRequest` policies, botbuilder's connector)
 * in a client span, with the same attributes as tracedFetch.
 */
export function tracedAttempt<R extends { status?: number }>(spanName: string, request: PipelineRequestLike, send: () => Promise<R>): Promise<R> {
  return outboundSpan(spanName, { 'http.request.method': request.method, 'url.full': request.url, 'server.address': URL.parse(request.url)?.hostname }, async (span) => {
    const response = await send();
    setSpanAttributes(span, { 'http.response.status_code': response.status });
    return response;
  });
}
