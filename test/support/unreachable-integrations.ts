/**
 * Every integration configured (Graph and Sentinel sources, LDAP, Okta) against loopback ports
 * nothing listens on: enough for the bot to start and build each integration, so a test can see
 * which modules that loads, without any of them answering.
 */
const loopback = 'https://127.0.0.1:9';

export const UNREACHABLE_INTEGRATIONS_ENV: Readonly<Record<string, string>> = {
  ALERT_SOURCES: 'graph,sentinel',
  AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111',
  AZURE_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
  AZURE_CLIENT_SECRET: 'not-a-real-secret-but-long-enough',
  AZURE_AUTHORITY_HOST: loopback,
  GRAPH_ENDPOINT: loopback,
  LOGS_ENDPOINT: `${loopback}/v1`,
  SENTINEL_WORKSPACE_ID: '33333333-3333-3333-3333-333333333333',
  LDAP_URL: 'ldaps://127.0.0.1:9',
  LDAP_BIND_DN: 'CN=svc,DC=corp,DC=example,DC=com',
  LDAP_BIND_PASSWORD: 'not-a-real-password',
  LDAP_BASE_DN: 'DC=corp,DC=example,DC=com',
  OKTA_ORG_URL: loopback,
  OKTA_API_TOKEN: 'not-a-real-okta-token-000000',
  POLL_INTERVAL_SECONDS: '3600',
};
