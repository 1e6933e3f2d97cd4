// The Azure Bot: registers the bot's messaging endpoint with the Bot Framework, authenticated as the
// bot's user-assigned managed identity (msaAppType UserAssignedMSI: no client secret anywhere), and
// connects it to Microsoft Teams. Resource reference:
// https://learn.microsoft.com/azure/templates/microsoft.botservice/botservices
// https://learn.microsoft.com/azure/bot-service/bot-builder-authentication (UserAssignedMSI)

@maxLength(42)
@description('Name of the bot shown in the Azure portal and the Bot Framework.')
param botDisplayName string

@description('Name of the Azure Bot resource (globally unique).')
param botServiceName string

@description('SKU of the Azure Bot: F0 (free; the Teams channel is a standard channel) or S1.')
@allowed([
  'F0'
  'S1'
])
param botServiceSku string = 'F0'

@description('Client id of the bot\'s user-assigned managed identity: the bot id (MicrosoftAppId, BOT_ID).')
param identityClientId string

@description('Resource id of that managed identity.')
param identityResourceId string

@description('Tenant of that managed identity.')
param identityTenantId string

@description('Host name serving /api/messages over HTTPS (the Container App ingress).')
param botAppDomain string

resource botService 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botServiceName
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botServiceSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${botAppDomain}/api/messages'
    msaAppType: 'UserAssignedMSI'
    msaAppId: identityClientId
    msaAppMSIResourceId: identityResourceId
    msaAppTenantId: identityTenantId
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: botService
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
  }
}

output botServiceName string = botService.name
