/** Okta: client, actions and lookup. Loaded (dynamic import) only when OKTA_ORG_URL is configured. */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { Secret, type Logger } from '../observability/logger.ts';
import type { OktaUserLookup } from '../domain/ports/okta-user-lookup.ts';
import type { Remediation } from '../domain/remediation.ts';
import { createOktaClient } from '../adapters/okta/okta-client.ts';
import { createOktaRemediation } from '../adapters/okta/okta-remediation.ts';
import { createOktaUserLookup } from '../adapters/okta/okta-user-lookup.ts';

export function buildOktaIntegration(okta: NonNullable<Config['okta']>, timeoutMs: number, logger: Logger, lookupTimeoutMs: number): { remediation: Remediation; lookup: OktaUserLookup } {
  const client = createOktaClient({
    orgUrl: okta.orgUrl,
    ...(okta.oauth
      ? {
          oauth: {
            clientId: okta.oauth.clientId,
            privateKeyPem: new Secret(readFileSync(okta.oauth.privateKeyPath, 'utf8')),
            ...(okta.oauth.keyId ? { keyId: okta.oauth.keyId } : {}),
          },
        }
      : {}),
    ...(okta.apiToken ? { apiToken: okta.apiToken } : {}),
    timeoutMs,
    logger,
  });
  return { remediation: createOktaRemediation({ client, forgetDevices: okta.forgetDevices }), lookup: createOktaUserLookup(client, { timeoutMs: lookupTimeoutMs }) };
}
