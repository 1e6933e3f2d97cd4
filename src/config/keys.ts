/**
 * Every configuration key the bot reads, with its documentation. The README's configuration
 * table is generated from this list (`npm run config:doc`) and a test keeps the two in step.
 */
export interface KeyDoc {
  name: string;
  meaning: string;
  default?: string;
  example: string;
  secret?: boolean;
}

export const CONFIG_KEYS: readonly KeyDoc[] = [
  { name: 'PORT', meaning: 'HTTP port of the bot endpoint (`/api/messages`, `/healthz`, `/readyz`).', default: '3978', example: '3978' },
  { name: 'HOST', meaning: 'Address to bind. Forced to 127.0.0.1 when `BOT_AUTH=off`.', default: '0.0.0.0', example: '0.0.0.0' },
  { name: 'BOT_AUTH', meaning: '`on`: every request to `/api/messages` must carry a valid Bot Framework token. `off`: no authentication, loopback only (Agents Playground, local runs).', default: 'on', example: 'off' },
  { name: 'MicrosoftAppId', meaning: "The bot's Entra app registration (client) id. Required unless `BOT_AUTH=off`.", example: '00000000-0000-0000-0000-000000000000' },
  { name: 'MicrosoftAppPassword', meaning: "Client secret of the bot's app registration.", example: '(from env/.env.<name>.user)', secret: true },
  { name: 'MicrosoftAppType', meaning: '`SingleTenant`, `MultiTenant` or `UserAssignedMSI`.', default: 'SingleTenant', example: 'SingleTenant' },
  { name: 'MicrosoftAppTenantId', meaning: "Tenant of the bot's app registration; required for `SingleTenant` and `UserAssignedMSI`.", example: '11111111-1111-1111-1111-111111111111' },
  { name: 'BotOpenIdMetadata', meaning: 'Override of the Bot Framework OpenID metadata URL (sovereign clouds, tests). When any Bot Framework override is set, set the others below too.', example: 'https://login.botframework.com/v1/.well-known/openidconfiguration' },
  { name: 'ToBotFromChannelTokenIssuer', meaning: 'Issuer expected in inbound Bot Framework tokens (with `BotOpenIdMetadata`).', example: 'https://api.botframework.com' },
  { name: 'ToChannelFromBotLoginUrl', meaning: 'Token endpoint for outbound calls to the connector (with `BotOpenIdMetadata`).', example: 'https://login.microsoftonline.com/<tenant>' },
  { name: 'ToChannelFromBotOAuthScope', meaning: 'Scope of outbound connector tokens (with `BotOpenIdMetadata`).', example: 'https://api.botframework.com' },
  { name: 'AZURE_TENANT_ID', meaning: 'Tenant of the app registration used for Graph and Log Analytics.', example: '11111111-1111-1111-1111-111111111111' },
  { name: 'AZURE_CLIENT_ID', meaning: 'Client id of that app registration (or of a user-assigned managed identity).', example: '22222222-2222-2222-2222-222222222222' },
  { name: 'AZURE_CLIENT_SECRET', meaning: 'Client secret of that app registration. Alternatively `AZURE_CLIENT_CERTIFICATE_PATH` or `AZURE_MANAGED_IDENTITY=true`.', example: '(from env/.env.<name>.user)', secret: true },
  { name: 'AZURE_CLIENT_CERTIFICATE_PATH', meaning: 'PEM file (certificate + private key) for certificate authentication to Entra ID.', example: '/etc/incident-bot/graph.pem' },
  { name: 'AZURE_MANAGED_IDENTITY', meaning: 'Use the managed identity of the host (Azure App Service, VM) for Graph and Log Analytics.', default: 'false', example: 'true' },
  { name: 'AZURE_AUTHORITY_HOST', meaning: 'Entra ID authority (national clouds, tests).', default: 'https://login.microsoftonline.com', example: 'https://login.microsoftonline.us' },
  { name: 'GRAPH_ENDPOINT', meaning: 'Microsoft Graph base URL (national clouds, tests).', default: 'https://graph.microsoft.com', example: 'https://graph.microsoft.us' },
  { name: 'LOGS_ENDPOINT', meaning: 'Log Analytics query endpoint, including `/v1`.', default: 'https://api.loganalytics.io/v1', example: 'https://api.loganalytics.us/v1' },
  { name: 'ALERT_SOURCES', meaning: 'Comma list of alert sources to poll: `graph`, `sentinel`, or `none`.', default: 'graph', example: 'graph,sentinel' },
  { name: 'SENTINEL_WORKSPACE_ID', meaning: 'Log Analytics workspace id of Microsoft Sentinel (required when `ALERT_SOURCES` has `sentinel`).', example: '33333333-3333-3333-3333-333333333333' },
  { name: 'SENTINEL_ALERT_FILTER', meaning: "KQL predicate that selects MDI alerts in `SecurityAlert`, replacing the default (which accepts every known MDI label).", example: 'ProductName == "Azure Advanced Threat Protection"' },
  { name: 'SENTINEL_OVERLAP_SECONDS', meaning: 'Each Sentinel poll re-reads rows ingested this long before the newest ingestion time (`ingestion_time()`) it has read, because a row becomes queryable a little after it is ingested; the store de-duplicates what comes twice. Rows ingested up to 48 hours after their TimeGenerated are still read.', default: '300', example: '600' },
  { name: 'LDAP_URL', meaning: 'Active Directory domain controller: `ldaps://host:636`, or `ldap://host:389` (StartTLS is then required).', example: 'ldaps://dc1.corp.example.com:636' },
  { name: 'LDAP_BIND_DN', meaning: "Distinguished name of the bot's delegated AD service account.", example: 'CN=svc-incidentbot,OU=ServiceAccounts,DC=corp,DC=example,DC=com' },
  { name: 'LDAP_BIND_PASSWORD', meaning: 'Password of that account.', example: '(from env/.env.<name>.user)', secret: true },
  { name: 'LDAP_BASE_DN', meaning: 'Search base for users.', example: 'DC=corp,DC=example,DC=com' },
  { name: 'LDAP_CA_FILE', meaning: "PEM file of the CA that signed the DC's certificate (if not publicly trusted).", example: '/etc/incident-bot/corp-ca.pem' },
  { name: 'LDAP_NETBIOS_DOMAIN', meaning: 'NetBIOS name of the AD domain (as in `CORP\\jdoe`).', default: 'first DC= of LDAP_BASE_DN, upper-cased', example: 'CORP' },
  { name: 'LDAP_TIMEOUT_MS', meaning: 'Timeout of every LDAP connect and operation.', default: '10000', example: '5000' },
  { name: 'OKTA_ORG_URL', meaning: 'Okta org URL; enables the Okta actions (with `OKTA_CLIENT_ID` + `OKTA_PRIVATE_KEY_PATH`, or `OKTA_API_TOKEN`).', example: 'https://corp.okta.com' },
  { name: 'OKTA_CLIENT_ID', meaning: 'Client id of the Okta OAuth 2.0 service app (API Services, client authentication "Public key / Private key"), granted the scopes `okta.users.read` and `okta.users.manage` and an admin role that may manage the users concerned. The recommended way to connect to Okta.', example: '0oa1b2c3d4e5f6g7h8i9' },
  { name: 'OKTA_PRIVATE_KEY_PATH', meaning: "PEM file of the service app's RSA private key (its public key registered on the app); signs the client assertion (`private_key_jwt`). Keep it readable by the bot only.", example: '/etc/incident-bot/okta-service-app.pem' },
  { name: 'OKTA_KEY_ID', meaning: 'Key id (kid) Okta shows for that public key; sent in the assertion header.', example: 'AbCdEf123' },
  { name: 'OKTA_API_TOKEN', meaning: 'Fallback when no service app is configured: an Okta API token (SSWS) of an admin whose role may suspend/unsuspend users and clear their sessions. Okta recommends a service app instead.', example: '(from env/.env.<name>.user)', secret: true },
  { name: 'OKTA_FORGET_DEVICES', meaning: 'When clearing Okta sessions, also forget the remembered devices and factors (Okta `forgetDevices`, true by default on Identity Engine). Off: the user is not made to re-enroll.', default: 'false', example: 'true' },
  { name: 'DATABASE_URL', meaning: '`sqlite:<path>` (embedded, one instance) or `postgres://…` (several instances).', default: 'sqlite:./data/incident-bot.db', example: 'postgres://bot@db:5432/incidentbot', secret: true },
  { name: 'APPROVER_GROUP_IDS', meaning: 'Comma list of Entra group object ids whose (transitive) members may approve.', example: '44444444-4444-4444-4444-444444444444' },
  { name: 'APPROVER_USER_IDS', meaning: 'Comma list of Entra user object ids who may approve.', example: '55555555-5555-5555-5555-555555555555' },
  { name: 'POLL_INTERVAL_SECONDS', meaning: 'How often alert sources are polled.', default: '60', example: '30' },
  { name: 'MIN_SEVERITY', meaning: 'Lowest severity posted to Teams (`informational`, `low`, `medium`, `high`); lower ones are still recorded.', default: 'low', example: 'medium' },
  { name: 'TEAMS_CHANNEL_ID', meaning: 'Channel to post alerts to, instead of (or before) an `@bot subscribe` in it.', example: '19:abc…@thread.tacv2' },
  { name: 'TEAMS_SERVICE_URL', meaning: 'Bot Framework service URL of that tenant (with `TEAMS_CHANNEL_ID`).', example: 'https://smba.trafficmanager.net/emea/' },
  { name: 'TEAMS_TENANT_ID', meaning: 'The tenant the bot serves: Teams turns from any other tenant are refused; also the tenant of `TEAMS_CHANNEL_ID`. Defaults to `MicrosoftAppTenantId`, then `AZURE_TENANT_ID`; required with `BOT_AUTH=on`.', example: '11111111-1111-1111-1111-111111111111' },
  { name: 'THREAD_WINDOW_MINUTES', meaning: 'Alerts about the same account within this window go into one thread.', default: '60', example: '120' },
  { name: 'APPROVAL_TTL_MINUTES', meaning: 'Pending approvals expire after this many minutes.', default: '240', example: '60' },
  { name: 'APPROVAL_RUN_LEASE_SECONDS', meaning: 'A running action renews a store lease this often (a third of it); when it lapses the process is taken for dead and the action is read back and reported.', default: '15', example: '30' },
  { name: 'MAX_ACTIONS_PER_HOUR', meaning: 'Destructive actions per hour before execution pauses until an approver lifts the pause.', default: '20', example: '10' },
  { name: 'DRY_RUN', meaning: 'Go through every step except the change itself, and say so on every card.', default: 'false', example: 'true' },
  { name: 'PROTECTED_ACCOUNTS', meaning: 'Comma list of accounts (sAMAccountName, UPN or SID) that need the stricter policy.', example: 'administrator,breakglass@corp.example.com' },
  { name: 'PROTECTED_ACCOUNT_APPROVALS', meaning: 'Approvals needed for actions on protected or privileged accounts (adminCount=1 or a built-in privileged AD group, an Entra role of `ENTRA_PRIVILEGED_ROLE_IDS` or a group of `ENTRA_PRIVILEGED_GROUP_IDS`, `PROTECTED_ACCOUNTS`; checked in every configured directory whatever system the action runs in), or `refuse` to never act on them.', default: '2', example: 'refuse' },
  { name: 'ENTRA_PRIVILEGED_GROUP_IDS', meaning: 'Comma list of Entra group object ids whose (transitive) members count as privileged, like Domain Admins in AD: every action on such a person, in any system, needs `PROTECTED_ACCOUNT_APPROVALS`. Needs GroupMember.Read.All and the Azure app registration (`AZURE_*`).', example: '66666666-6666-6666-6666-666666666666' },
  { name: 'ENTRA_PRIVILEGED_ROLE_IDS', meaning: 'Comma list of Entra directory role template ids whose holders count as privileged, active or eligible through PIM (read with RoleManagement.Read.Directory and RoleEligibilitySchedule.Read.Directory). `none` counts no role.', default: 'Global, Privileged Role, Privileged Authentication, Security, User, Exchange, SharePoint, Helpdesk, Authentication, Password, Application, Cloud Application, Hybrid Identity, Conditional Access, Intune, Groups and Domain Name Administrator, Partner Tier2 Support, Directory Synchronization Accounts', example: '62e90394-69f5-4237-9190-012177145e10,194ae4cb-b126-40b2-bd5b-6091b380977d' },
  { name: 'SERVICE_ACCOUNTS', meaning: "Comma list of the bot's own service accounts (sAMAccountName, UPN or DN) it must never act on; the LDAP bind account is always included.", example: 'svc-incidentbot,svc-incidentbot@corp.example.com' },
  { name: 'ACTION_POLICY_FILE', meaning: 'JSON file overriding the default action policy (which actions to propose, approvals needed).', example: './policy/actions.json' },
  { name: 'TEMP_PASSWORD_DELIVERY', meaning: '`private`: the generated password goes to the approver in a 1:1 chat; `none`: it is shown to nobody.', default: 'private', example: 'none' },
  { name: 'CARD_FOOTER', meaning: 'A short line shown at the bottom of every alert card (e.g. which environment this is).', example: 'lab: simulated directory' },
  { name: 'OUTBOUND_TIMEOUT_MS', meaning: 'Timeout of every outbound HTTP call (Graph, Log Analytics, Okta, Bot Framework).', default: '15000', example: '10000' },
  { name: 'LOG_LEVEL', meaning: '`trace`, `debug`, `info`, `warn`, `error`.', default: 'info', example: 'debug' },
];
