/** The Bot Framework section of the configuration: the app registration and botbuilder's endpoint overrides. */
import type { Config } from './config.ts';
import { GUID, type Reader } from './env-reader.ts';

const BOT_FRAMEWORK_OVERRIDES = [
  'BotOpenIdMetadata',
  'ToBotFromChannelOpenIdMetadataUrl',
  'ToBotFromChannelTokenIssuer',
  'ToChannelFromBotLoginUrl',
  'ToChannelFromBotOAuthScope',
  'ToBotFromEmulatorOpenIdMetadataUrl',
  'OAuthUrl',
  'ChannelService',
  'ValidateAuthority',
] as const;
const BOT_FRAMEWORK_ENDPOINTS: ReadonlySet<string> = new Set(['BotOpenIdMetadata', 'ToBotFromChannelOpenIdMetadataUrl', 'ToChannelFromBotLoginUrl', 'ToBotFromEmulatorOpenIdMetadataUrl', 'OAuthUrl']);

export function readBotFramework(r: Reader, problems: string[], botAuth: 'on' | 'off'): Config['bot'] {
  const appId = r.text('MicrosoftAppId') ?? '';
  const appType = r.oneOf('MicrosoftAppType', ['SingleTenant', 'MultiTenant', 'UserAssignedMSI'] as const, 'SingleTenant');
  const appPassword = r.secret('MicrosoftAppPassword');
  const botTenantId = r.guid('MicrosoftAppTenantId');
  if (botAuth === 'on') {
    if (!appId) problems.push('MicrosoftAppId: required (the bot app registration id); set BOT_AUTH=off only for local runs without authentication');
    else if (!GUID.test(appId)) problems.push('MicrosoftAppId: must be a GUID such as 00000000-0000-0000-0000-000000000000');
    if (appId && appType !== 'UserAssignedMSI' && !appPassword) problems.push(`MicrosoftAppPassword: required with MicrosoftAppType=${appType}`);
    if (appId && appType !== 'MultiTenant' && !botTenantId) problems.push(`MicrosoftAppTenantId: required with MicrosoftAppType=${appType}`);
  }
  const frameworkOverrides: Record<string, string> = {};
  for (const key of BOT_FRAMEWORK_OVERRIDES) {
    // The endpoints botbuilder calls are https-only like every other outbound URL.
    const value = BOT_FRAMEWORK_ENDPOINTS.has(key) ? r.url(key) : r.text(key);
    if (value !== undefined) frameworkOverrides[key] = value;
  }
  if (frameworkOverrides.BotOpenIdMetadata && !frameworkOverrides.ToBotFromChannelTokenIssuer) {
    problems.push('ToBotFromChannelTokenIssuer: required when BotOpenIdMetadata is set (botbuilder has no default then), usually https://api.botframework.com');
  }
  return { appId, appPassword, appType, tenantId: botTenantId, frameworkOverrides };
}
