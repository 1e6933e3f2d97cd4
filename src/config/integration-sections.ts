/** The sections of the configuration for the systems the bot reaches: Azure (Graph, Sentinel), LDAP, Okta. */
import type { AzureConfig, Config } from './config.ts';
import { stripSlash, type Reader } from './env-reader.ts';

export function readAzure(r: Reader, problems: string[], needed: boolean): AzureConfig | undefined {
  const tenantId = r.guid('AZURE_TENANT_ID');
  const clientId = r.guid('AZURE_CLIENT_ID');
  const clientSecret = r.secret('AZURE_CLIENT_SECRET');
  const certificatePath = r.text('AZURE_CLIENT_CERTIFICATE_PATH');
  const managedIdentity = r.bool('AZURE_MANAGED_IDENTITY', false);
  const authorityHost = stripSlash(r.url('AZURE_AUTHORITY_HOST') ?? 'https://login.microsoftonline.com');
  const anySet = Boolean(tenantId || clientId || clientSecret || certificatePath || managedIdentity);
  if (!needed && !anySet) return undefined;
  if (!managedIdentity) {
    if (!tenantId) problems.push('AZURE_TENANT_ID: required to read alerts from Graph or Sentinel (or set ALERT_SOURCES=none)');
    if (!clientId) problems.push('AZURE_CLIENT_ID: required to read alerts from Graph or Sentinel (or set ALERT_SOURCES=none)');
    if (!clientSecret && !certificatePath) problems.push('AZURE_CLIENT_SECRET: required unless AZURE_CLIENT_CERTIFICATE_PATH or AZURE_MANAGED_IDENTITY=true is set');
  }
  return { tenantId: tenantId ?? '', clientId: clientId ?? '', clientSecret, certificatePath, managedIdentity, authorityHost };
}

export function readLdap(r: Reader, problems: string[]): Config['ldap'] {
  const url = r.text('LDAP_URL');
  const bindDn = r.text('LDAP_BIND_DN');
  const bindPassword = r.secret('LDAP_BIND_PASSWORD');
  const baseDn = r.text('LDAP_BASE_DN');
  const caFile = r.text('LDAP_CA_FILE');
  const timeoutMs = r.int('LDAP_TIMEOUT_MS', 10_000, 100, 300_000);
  const netbios = r.text('LDAP_NETBIOS_DOMAIN');
  if (netbios !== undefined && !/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/.test(netbios)) problems.push(`LDAP_NETBIOS_DOMAIN: must be a NetBIOS name of 1 to 15 letters, digits or dashes, got "${netbios}"`);
  if (!url) {
    if (bindDn || bindPassword || baseDn) problems.push('LDAP_URL: required when other LDAP_ keys are set');
    return undefined;
  }
  if (!/^ldaps?:\/\/[^/\s]+/.test(url)) problems.push('LDAP_URL: must look like ldaps://dc.example.com:636 or ldap://dc.example.com:389');
  if (!bindDn) problems.push('LDAP_BIND_DN: required when LDAP_URL is set');
  if (!bindPassword) problems.push('LDAP_BIND_PASSWORD: required when LDAP_URL is set');
  if (!baseDn) problems.push('LDAP_BASE_DN: required when LDAP_URL is set');
  if (!bindDn || !bindPassword || !baseDn) return undefined;
  const netbiosDomain = (netbios ?? /DC=([^,]+)/i.exec(baseDn)?.[1] ?? '').toUpperCase();
  return { url, bindDn, bindPassword, baseDn, caFile, timeoutMs, netbiosDomain };
}

export function readOkta(r: Reader, problems: string[]): Config['okta'] {
  const orgUrl = r.url('OKTA_ORG_URL');
  const apiToken = r.secret('OKTA_API_TOKEN');
  const clientId = r.text('OKTA_CLIENT_ID');
  const privateKeyPath = r.text('OKTA_PRIVATE_KEY_PATH');
  const keyId = r.text('OKTA_KEY_ID');
  const forgetDevices = r.bool('OKTA_FORGET_DEVICES', false);
  if (clientId && !privateKeyPath) problems.push('OKTA_PRIVATE_KEY_PATH: required when OKTA_CLIENT_ID is set (the service app signs its token requests with it)');
  if (privateKeyPath && !clientId) problems.push('OKTA_CLIENT_ID: required when OKTA_PRIVATE_KEY_PATH is set');
  const oauth = clientId && privateKeyPath ? { clientId, privateKeyPath, ...(keyId ? { keyId } : {}) } : undefined;
  if (orgUrl && !oauth && !apiToken && !clientId && !privateKeyPath) problems.push('OKTA_CLIENT_ID: required when OKTA_ORG_URL is set (with OKTA_PRIVATE_KEY_PATH; or, as a fallback, OKTA_API_TOKEN)');
  if ((oauth || apiToken) && !orgUrl) problems.push(`OKTA_ORG_URL: required when ${oauth ? 'OKTA_CLIENT_ID' : 'OKTA_API_TOKEN'} is set`);
  if (!orgUrl || (!oauth && !apiToken)) return undefined;
  // The service app wins when both are set: the API token stays unused.
  return { orgUrl: stripSlash(orgUrl), ...(oauth ? { oauth } : { apiToken }), forgetDevices };
}
