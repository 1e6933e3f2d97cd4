import type { OktaClient } from './okta-client.ts';
import { isAppError } from '../../domain/errors.ts';
import type { OktaUserLookup } from '../../domain/ports/okta-user-lookup.ts';

/** The lookup's read of Okta through the shared Okta client: a login Okta does not know is "no Okta user", not an error. */
export function createOktaUserLookup(client: Pick<OktaClient, 'getUser'>, options: { timeoutMs: number }): OktaUserLookup {
  return {
    async findUser(loginOrEmail) {
      try {
        const user = await client.getUser(loginOrEmail, { signal: AbortSignal.timeout(options.timeoutMs) });
        return { id: user.id, status: user.status, login: user.login, lastLogin: user.lastLogin };
      } catch (error) {
        if (isAppError(error) && (error.code === 'UPSTREAM_NOT_FOUND' || error.code === 'NOT_FOUND')) return undefined;
        throw error;
      }
    },
  };
}
