// incident-bot in Azure, provisioned by `atk provision` (m365agents.yml, arm/deploy). Not compiled
// here (no Bicep CLI on this project's machines): only well-known resource types at GA API versions.
//
//   identity (user-assigned) ── the bot's Bot Framework identity (MicrosoftAppType=UserAssignedMSI)
//                             └─ and its Graph / Log Analytics identity (AZURE_MANAGED_IDENTITY=true)
//   Azure Bot (+ Teams channel) ──▶ https://<container app>/api/messages
//   Container Apps environment in a VNet subnet (LDAPS to the domain controllers), 2 replicas
//   PostgreSQL Flexible Server, private access in its own delegated subnet (DATABASE_URL)
//   Key Vault (RBAC): LDAP bind password, Okta token, DATABASE_URL; Container Registry; Log Analytics
//
// References: https://learn.microsoft.com/azure/templates/microsoft.app/containerapps
// https://learn.microsoft.com/azure/container-apps/vnet-custom (environment in a VNet)
// https://learn.microsoft.com/azure/container-apps/manage-secrets (Key Vault references)
// https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private

@minLength(4)
@maxLength(12)
@description('Lower-case letters and digits naming every resource (incidentbot<suffix>-...). Unique in the subscription.')
param resourceSuffix string

@description('Region of every resource but the bot registration (global).')
param location string = resourceGroup().location

@maxLength(42)
@description('Name of the bot in the Azure portal and the Bot Framework.')
param botDisplayName string = 'Incident Bot'

@description('Container image the app runs. Empty: a placeholder until `atk deploy` builds and rolls out the bot\'s own image.')
param containerImage string = ''

@description('Address space of the VNet. It must not overlap the network of the domain controllers it is connected to (peering, VPN, ExpressRoute).')
param vnetAddressPrefix string = '10.42.0.0/16'

@description('Comma list of DNS servers for the VNet (e.g. the domain controllers, so LDAP_URL resolves). Empty: Azure-provided DNS.')
param dnsServers string = ''

@description('ALERT_SOURCES: graph, sentinel, or both (graph,sentinel).')
param alertSources string = 'graph'

@description('SENTINEL_WORKSPACE_ID when alertSources has sentinel (the identity needs Log Analytics Reader on it).')
param sentinelWorkspaceId string = ''

@description('ALERT_PUSH_AUDIENCE: the app ID URI Entra ID callers of POST /api/alerts/notify get tokens for (e.g. api://incident-bot-alerts). Empty: no webhook.')
param alertPushAudience string = ''

@description('ALERT_PUSH_CALLER_IDS: the callers allowed to push, e.g. the logicAppPrincipalId output of infra/alert-push-logicapp.bicep.')
param alertPushCallerIds string = ''

@description('APPROVER_GROUP_IDS: Entra group object ids whose members may approve (comma list).')
param approverGroupIds string

@description('LDAP_URL: ldaps://<dc>:636 (or ldap://<dc>:389 with StartTLS), reachable from the VNet.')
param ldapUrl string

@description('LDAP_BIND_DN: the delegated AD service account.')
param ldapBindDn string

@description('LDAP_BASE_DN: search base for users.')
param ldapBaseDn string

@secure()
@description('Password of the LDAP service account; stored in Key Vault as ldap-bind-password.')
param ldapBindPassword string

@description('OKTA_ORG_URL; empty: no Okta actions.')
param oktaOrgUrl string = ''

@secure()
@description('Okta API token (with oktaOrgUrl); stored in Key Vault as okta-api-token.')
param oktaApiToken string = ''

@description('Administrator login of the PostgreSQL server (the bot connects as this user).')
param postgresAdminLogin string = 'incidentbot'

@secure()
@description('Password of that login; only its URL (DATABASE_URL) is kept, in Key Vault.')
param postgresAdminPassword string

var baseName = 'incidentbot${resourceSuffix}'
var botPort = 3978
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var oktaEnabled = !empty(oktaOrgUrl)
// Built-in role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${baseName}-identity'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${baseName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 90
  }
}

// ---- network: the app's subnet must reach the domain controllers on 636 ---------------------------

resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' = {
  name: '${baseName}-vnet'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    dhcpOptions: empty(dnsServers) ? null : {
      dnsServers: split(dnsServers, ',')
    }
    subnets: [
      {
        name: 'container-apps'
        properties: {
          addressPrefix: cidrSubnet(vnetAddressPrefix, 23, 0)
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'postgres'
        properties: {
          addressPrefix: cidrSubnet(vnetAddressPrefix, 24, 2)
          delegations: [
            {
              name: 'postgres'
              properties: {
                serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers'
              }
            }
          ]
        }
      }
    ]
  }
}

// ---- PostgreSQL, private access only ---------------------------------------------------------------

resource postgresDns 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: '${baseName}.private.postgres.database.azure.com'
  location: 'global'
}

resource postgresDnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: postgresDns
  name: '${baseName}-vnet-link'
  location: 'global'
  properties: {
    virtualNetwork: {
      id: vnet.id
    }
    registrationEnabled: false
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: '${baseName}-db'
  location: location
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: 32
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      delegatedSubnetResourceId: '${vnet.id}/subnets/postgres'
      privateDnsZoneArmResourceId: postgresDns.id
      publicNetworkAccess: 'Disabled'
    }
  }
  dependsOn: [
    postgresDnsLink
  ]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: 'incidentbot'
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// ---- Key Vault: the bot's secrets, read by its identity only -----------------------------------------

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: '${baseName}-kv'
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

resource ldapPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'ldap-bind-password'
  properties: {
    value: ldapBindPassword
  }
}

resource oktaTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (oktaEnabled) {
  parent: vault
  name: 'okta-api-token'
  properties: {
    value: oktaApiToken
  }
}

resource databaseUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'database-url'
  properties: {
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/${database.name}?sslmode=require'
  }
}

resource vaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identity.id, keyVaultSecretsUserRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---- image registry ----------------------------------------------------------------------------------

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: '${baseName}acr'
  location: location
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
  }
}

resource registryPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, identity.id, acrPullRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---- hosting: Container Apps in the VNet, two replicas -----------------------------------------------

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${baseName}-env'
  location: location
  properties: {
    vnetConfiguration: {
      infrastructureSubnetId: '${vnet.id}/subnets/container-apps'
      internal: false
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

// Secrets come from Key Vault through the identity; the app holds only their references.
var baseSecrets = [
  {
    name: 'ldap-bind-password'
    keyVaultUrl: ldapPasswordSecret.properties.secretUri
    identity: identity.id
  }
  {
    name: 'database-url'
    keyVaultUrl: databaseUrlSecret.properties.secretUri
    identity: identity.id
  }
]
var oktaSecrets = oktaEnabled ? [
  {
    name: 'okta-api-token'
    keyVaultUrl: '${vault.properties.vaultUri}secrets/okta-api-token'
    identity: identity.id
  }
] : []
var vaultSecrets = concat(baseSecrets, oktaSecrets)

// The bot's configuration (src/config/keys.ts); test/deploy-recipe.test.ts checks it against loadConfig.
var baseEnvironment = [
  {
    name: 'PORT'
    value: string(botPort)
  }
  {
    name: 'HOST'
    value: '0.0.0.0'
  }
  {
    name: 'BOT_AUTH'
    value: 'on'
  }
  {
    name: 'MicrosoftAppType'
    value: 'UserAssignedMSI'
  }
  {
    name: 'MicrosoftAppId'
    value: identity.properties.clientId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: identity.properties.tenantId
  }
  {
    name: 'TEAMS_TENANT_ID'
    value: identity.properties.tenantId
  }
  {
    name: 'AZURE_TENANT_ID'
    value: identity.properties.tenantId
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
  {
    name: 'AZURE_MANAGED_IDENTITY'
    value: 'true'
  }
  {
    name: 'ALERT_SOURCES'
    value: alertSources
  }
  {
    name: 'APPROVER_GROUP_IDS'
    value: approverGroupIds
  }
  {
    name: 'LDAP_URL'
    value: ldapUrl
  }
  {
    name: 'LDAP_BIND_DN'
    value: ldapBindDn
  }
  {
    name: 'LDAP_BASE_DN'
    value: ldapBaseDn
  }
  {
    name: 'LDAP_BIND_PASSWORD'
    secretRef: 'ldap-bind-password'
  }
  {
    name: 'DATABASE_URL'
    secretRef: 'database-url'
  }
  {
    name: 'LOG_LEVEL'
    value: 'info'
  }
]
var sentinelEnvironment = empty(sentinelWorkspaceId) ? [] : [
  {
    name: 'SENTINEL_WORKSPACE_ID'
    value: sentinelWorkspaceId
  }
]
var oktaEnvironment = oktaEnabled ? [
  {
    name: 'OKTA_ORG_URL'
    value: oktaOrgUrl
  }
  {
    name: 'OKTA_API_TOKEN'
    secretRef: 'okta-api-token'
  }
] : []
var alertPushEnvironment = empty(alertPushAudience) ? [] : [
  {
    name: 'ALERT_PUSH_AUDIENCE'
    value: alertPushAudience
  }
  {
    name: 'ALERT_PUSH_CALLER_IDS'
    value: alertPushCallerIds
  }
]
var botEnvironment = concat(baseEnvironment, sentinelEnvironment, oktaEnvironment, alertPushEnvironment)

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${baseName}-app'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: botPort
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registry.properties.loginServer
          identity: identity.id
        }
      ]
      secrets: vaultSecrets
    }
    template: {
      containers: [
        {
          name: 'incident-bot'
          image: empty(containerImage) ? placeholderImage : containerImage
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: botEnvironment
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: botPort
              }
              periodSeconds: 30
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: botPort
              }
              periodSeconds: 10
            }
          ]
        }
      ]
      // Two replicas share the work through PostgreSQL (leases, conditional writes).
      scale: {
        minReplicas: 2
        maxReplicas: 2
      }
    }
  }
  dependsOn: [
    registryPull
    vaultSecretsUser
  ]
}

module botRegistration './botRegistration/azurebot.bicep' = {
  name: 'Azure-Bot-registration'
  params: {
    botDisplayName: botDisplayName
    botServiceName: '${baseName}-bot'
    identityClientId: identity.properties.clientId
    identityResourceId: identity.id
    identityTenantId: identity.properties.tenantId
    botAppDomain: app.properties.configuration.ingress.fqdn
  }
}

// Written to env/.env.dev by `atk provision` (https://aka.ms/teamsfx-actions/arm-deploy).
output BOT_ID string = identity.properties.clientId
output BOT_DOMAIN string = app.properties.configuration.ingress.fqdn
output MicrosoftAppId string = identity.properties.clientId
output MicrosoftAppTenantId string = identity.properties.tenantId
output AZURE_TENANT_ID string = identity.properties.tenantId
output AZURE_CLIENT_ID string = identity.properties.clientId
output AZURE_CONTAINER_APP_RESOURCE_ID string = app.id
output AZURE_CONTAINER_REGISTRY_NAME string = registry.name
output AZURE_CONTAINER_REGISTRY_LOGIN_SERVER string = registry.properties.loginServer
