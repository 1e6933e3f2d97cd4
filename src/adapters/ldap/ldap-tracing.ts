import type { Client } from 'ldapts';
import { outboundSpan, type SpanAttributes } from '../../shared/telemetry.ts';

/** The LDAP operations of one connection that get their own span (ldapts has no tracing of its own). */
const TRACED = ['startTLS', 'bind', 'search', 'modify', 'compare', 'exop'] as const;

/**
 * Makes every LDAP operation on `client` a client span (`ldap.bind`, `ldap.search`, `ldap.modify`,
 * ...) under the session's span. Only the operation and the server are recorded: never a DN, a
 * filter, a value (a new password is a modify value) or the bind credentials.
 */
export function traceLdapClient(client: Client, server: SpanAttributes): Client {
  const methods = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of TRACED) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    methods[name] = (...args: unknown[]) => outboundSpan(`ldap.${name}`, { ...server, 'ldap.operation': name }, () => original.apply(client, args));
  }
  return client;
}

/** server.address / server.port of an ldap(s):// URL. */
export function ldapServer(url: string): SpanAttributes {
  const parsed = URL.parse(url);
  if (!parsed) return {};
  return { 'server.address': parsed.hostname, 'server.port': Number(parsed.port || (parsed.protocol === 'ldaps:' ? 636 : 389)) };
}
