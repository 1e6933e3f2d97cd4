import type { Client } from '@microsoft/microsoft-graph-client';
import { AppError } from '../../domain/errors.ts';
import type { EntraRisk, EntraUser, EntraUserLookup } from '../../domain/ports/entra-user-lookup.ts';
import { graphErrorToAppError } from './graph-client.ts';

const USER_FIELDS = [
  'id',
  'displayName',
  'userPrincipalName',
  'mail',
  'accountEnabled',
  'onPremisesSyncEnabled',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesDomainName',
] as const;

const READ_USERS = { action: 'read users', permission: 'User.Read.All' };
const READ_RISK = { action: 'read user risk', permission: 'IdentityRiskyUser.Read.All' };
/** Same bound as the LDAP adapter: longer text is refused, not truncated. */
const MAX_QUERY = 256;
const MAX_RESULTS = 25;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SID = /^S-1-\d{1,15}(-\d{1,10}){1,15}$/i;

/**
 * An OData string literal ready for the query string: the value in single quotes, each quote
 * inside doubled, and then percent-encoded. The Graph SDK puts `$filter` into the URL as it is
 * given, so without the encoding a `%27`, `&`, `#` or `+` typed by an analyst would be decoded by
 * Graph into a quote, a new parameter, a fragment or a space: filter injection.
 */
export function odataString(value: string): string {
  return `'${encodeURIComponent(value.replaceAll("'", "''"))}'`;
}

interface Page {
  value?: Record<string, unknown>[];
}

/**
 * Entra ID reads for `lookup`: users by UPN, mail, on-premises sam (an advanced query: Graph
 * serves that filter only with `ConsistencyLevel: eventual` and `$count=true`), SID, object id
 * or display-name prefix; and Identity Protection's risk for one user. Every filter value is an
 * escaped OData literal; results are bounded; errors are AppErrors with a sentence.
 */
export function createGraphUserLookup(options: { client: Client }): EntraUserLookup {
  const { client } = options;

  async function list(filter: string, limit: number, advanced: boolean): Promise<EntraUser[]> {
    let request = client.api('/users').filter(filter).select([...USER_FIELDS]).top(Math.min(Math.max(1, limit), MAX_RESULTS));
    if (advanced) request = request.header('ConsistencyLevel', 'eventual').query({ $count: 'true' });
    try {
      const page = (await request.get()) as Page;
      return (page.value ?? []).map(toEntraUser);
    } catch (error) {
      throw graphErrorToAppError(error, READ_USERS);
    }
  }

  async function byId(id: string): Promise<EntraUser[]> {
    try {
      const user = (await client.api(`/users/${encodeURIComponent(id)}`).select([...USER_FIELDS]).get()) as Record<string, unknown>;
      return [toEntraUser(user)];
    } catch (error) {
      const mapped = graphErrorToAppError(error, READ_USERS);
      if (mapped.code === 'UPSTREAM_NOT_FOUND') return [];
      throw mapped;
    }
  }

  return {
    async findUsers(query, limit) {
      const text = checkQuery(query);
      if (GUID.test(text)) return byId(text);
      if (SID.test(text)) return list(`onPremisesSecurityIdentifier eq ${odataString(text.toUpperCase())}`, limit, true);
      const slash = text.indexOf('\\');
      if (slash > 0) {
        const sam = text.slice(slash + 1);
        return sam ? list(`onPremisesSamAccountName eq ${odataString(sam)}`, limit, true) : [];
      }
      const searches = text.includes('@')
        ? [list(`userPrincipalName eq ${odataString(text)}`, limit, false), list(`mail eq ${odataString(text)}`, limit, false)]
        : [list(`onPremisesSamAccountName eq ${odataString(text)}`, limit, true), list(`startswith(displayName,${odataString(text)})`, limit, false)];
      const found = (await Promise.all(searches)).flat();
      const unique = new Map(found.map((user) => [user.id, user]));
      return [...unique.values()].slice(0, limit);
    },
    async findBySid(sid) {
      if (!SID.test(sid)) throw new AppError('INPUT_INVALID', 'The value is not a security identifier (S-1-...).');
      const [user] = await list(`onPremisesSecurityIdentifier eq ${odataString(sid.toUpperCase())}`, 1, true);
      return user;
    },
    async getRisk(userId) {
      if (!GUID.test(userId)) throw new AppError('INPUT_INVALID', 'The value is not an Entra object id.');
      try {
        const risky = (await client.api(`/identityProtection/riskyUsers/${userId}`).get()) as Record<string, unknown>;
        return {
          riskLevel: typeof risky.riskLevel === 'string' ? risky.riskLevel : 'unknown',
          riskState: typeof risky.riskState === 'string' ? risky.riskState : 'unknown',
          riskLastUpdatedDateTime: typeof risky.riskLastUpdatedDateTime === 'string' ? risky.riskLastUpdatedDateTime : null,
        } satisfies EntraRisk;
      } catch (error) {
        const mapped = graphErrorToAppError(error, READ_RISK);
        // Identity Protection has no record of a user it never scored.
        if (mapped.code === 'UPSTREAM_NOT_FOUND') return undefined;
        throw mapped;
      }
    },
  };
}

function checkQuery(query: string): string {
  const text = typeof query === 'string' ? query.trim() : '';
  if (!text) throw new AppError('INPUT_INVALID', 'The search text is empty.');
  if (text.length > MAX_QUERY) throw new AppError('INPUT_INVALID', `The search text is longer than ${MAX_QUERY} characters.`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new AppError('INPUT_INVALID', 'The search text contains control characters.');
  return text;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function toEntraUser(raw: Record<string, unknown>): EntraUser {
  return {
    id: String(raw.id ?? ''),
    displayName: str(raw.displayName),
    userPrincipalName: str(raw.userPrincipalName),
    mail: str(raw.mail),
    accountEnabled: typeof raw.accountEnabled === 'boolean' ? raw.accountEnabled : null,
    onPremisesSyncEnabled: typeof raw.onPremisesSyncEnabled === 'boolean' ? raw.onPremisesSyncEnabled : null,
    onPremisesSamAccountName: str(raw.onPremisesSamAccountName),
    onPremisesSecurityIdentifier: str(raw.onPremisesSecurityIdentifier),
    onPremisesDomainName: str(raw.onPremisesDomainName),
  };
}
