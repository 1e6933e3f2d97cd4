import { accountOf, findCandidates } from '../commands/lookup.ts';
import type { EntraUserLookup } from '../domain/ports/entra-user-lookup.ts';
import type { AlertAccount } from '../domain/alert.ts';
import type { Directory } from '../domain/ports/directory.ts';
import { AppError } from '../domain/errors.ts';
import type { Store } from '../domain/ports/store.ts';

/**
 * Resolves a card's target key (`sid:…`, `entra:…`, `sam:DOMAIN\sam`, `upn:…`) to the person it
 * names, asking the directory and Entra ID again (server-side), for person-level approvals from
 * lookup cards. Exactly one match or nothing: an ambiguous key never picks someone.
 */
export interface PersonResolverDeps {
  directory?: Directory;
  entra?: EntraUserLookup;
  store: Store;
  netbiosDomain?: string;
  timeoutMs: number;
}

/** What to type into a lookup to find the person a normalized account key names. */
export function queryOfKey(key: string): string | undefined {
  const match = /^(sid|entra|sam|upn):(.+)$/.exec(key.trim());
  if (!match) return undefined;
  const value = match[2] as string;
  if (match[1] === 'sid') return value.toUpperCase();
  if (match[1] === 'sam') {
    const slash = value.indexOf('\\');
    return slash < 0 ? value : `${value.slice(0, slash).toUpperCase()}\\${value.slice(slash + 1)}`;
  }
  return value;
}

export function createPersonResolver(deps: PersonResolverDeps): (targetKey: string) => Promise<AlertAccount | undefined> {
  return async (targetKey) => {
    const query = queryOfKey(targetKey);
    if (!query) return undefined;
    const { candidates, notes } = await findCandidates(query, {
      ...(deps.directory ? { directory: deps.directory } : {}),
      ...(deps.entra ? { entra: deps.entra } : {}),
      store: deps.store,
      ...(deps.netbiosDomain ? { netbiosDomain: deps.netbiosDomain } : {}),
      capabilities: { activeDirectory: Boolean(deps.directory), entra: Boolean(deps.entra), okta: false },
      sourceTimeoutMs: deps.timeoutMs,
    });
    if (candidates.length !== 1) {
      // A source that did not answer could hide the person (or a namesake): say so rather than guess.
      if (candidates.length === 0 && notes.length > 0) throw new AppError('DIRECTORY_UNAVAILABLE', notes.join(' '));
      return undefined;
    }
    let candidate = candidates[0]!;
    if (candidate.ad && !candidate.entra && deps.entra) {
      const twin = await deps.entra.findBySid(candidate.ad.sid);
      if (twin) candidate = { ...candidate, entra: twin };
    }
    return accountOf(candidate, deps.netbiosDomain);
  };
}
