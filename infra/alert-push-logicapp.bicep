// Push ingestion for incident-bot: a Logic App (Consumption) that Microsoft Sentinel runs for every new
// Defender for Identity alert (an automation rule on alert creation), and that tells the bot at once by
// calling its webhook POST /api/alerts/notify with the alert's SystemAlertId, authenticated with the
// Logic App's own managed identity (no secret anywhere). The bot reads the alert from Sentinel by that
// id itself; polling stays on as the safety net. Template only: not deployed by `atk provision`.
//
// Deploy it into the resource group of the Sentinel workspace (the automation rule is a resource of
// the workspace):
//   az deployment group create -g <sentinel rg> -f infra/alert-push-logicapp.bicep \
//     -p workspaceName=<workspace> webhookUrl=https://<bot domain>/api/alerts/notify \
//        webhookAudience=api://incident-bot-alerts sentinelAutomationPrincipalId=<object id>
// then set the bot's ALERT_PUSH_AUDIENCE to webhookAudience and ALERT_PUSH_CALLER_IDS to the output
// logicAppPrincipalId.
//
// References:
// - the alert trigger ("Microsoft Sentinel alert", managed API azuresentinel: ApiConnectionWebhook on
//   /subscribe with the run's callback URL) and its managed-identity connection, as Microsoft's own
//   playbooks declare them (Azure/Azure-Sentinel, Playbooks/Block-AADUser/alert-trigger/azuredeploy.json);
//   https://learn.microsoft.com/azure/sentinel/automation/playbook-triggers-actions
// - the trigger body is the SecurityAlert record: SystemAlertId, AlertDisplayName, Entities, ...
//   https://learn.microsoft.com/azure/sentinel/data-source-schema-reference#securityalert
// - HTTP action with managed identity authentication and an audience:
//   https://learn.microsoft.com/azure/logic-apps/authenticate-with-managed-identity
// - automation rules (triggersOn Alerts, triggersWhen Created, RunPlaybook):
//   https://learn.microsoft.com/azure/templates/microsoft.securityinsights/2022-11-01/automationrules
//   https://learn.microsoft.com/azure/sentinel/automate-incident-handling-with-automation-rules
// - Sentinel may run playbooks of a resource group only with "Microsoft Sentinel Automation Contributor"
//   there: https://learn.microsoft.com/azure/sentinel/automation/define-playbook-access-restrictions

@description('Region of the Logic App and its connection.')
param location string = resourceGroup().location

@description('Name of the Logic App (the playbook).')
param playbookName string = 'incident-bot-alert-push'

@description('Name of the Log Analytics workspace Microsoft Sentinel runs on (in this resource group).')
param workspaceName string

@description('The bot\'s webhook: https://<bot domain>/api/alerts/notify.')
param webhookUrl string

@description('Audience of the managed identity\'s token: the Application ID URI of the app registration that represents the webhook (the bot\'s ALERT_PUSH_AUDIENCE).')
param webhookAudience string = 'api://incident-bot-alerts'

@description('Product names of the alerts to push (Sentinel\'s AlertProductNames): Defender for Identity by default.')
param alertProductNames array = [
  'Azure Advanced Threat Protection'
  'Microsoft Defender for Identity'
]

@description('Object id of the "Azure Security Insights" service principal in this tenant (app id 98785600-1bb7-4fb9-b9fa-19afe2c8a360), so Sentinel may run this playbook. Empty: grant it yourself (Sentinel > Settings > Playbook permissions).')
param sentinelAutomationPrincipalId string = ''

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
var sentinelReaderRoleId = '8d289c81-5878-46d4-8554-54e1e3d8b5cb'
var sentinelAutomationContributorRoleId = 'f4c81013-99ee-4d62-a7ee-b3f1f648599a'
var sentinelConnectionName = 'azuresentinel-${playbookName}'
var sentinelApiId = subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'azuresentinel')

resource workspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' existing = {
  name: workspaceName
}

// The connection the alert trigger subscribes through, authenticated as the Logic App's identity.
resource sentinelConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: sentinelConnectionName
  location: location
  kind: 'V1'
  properties: {
    displayName: sentinelConnectionName
    customParameterValues: {}
    parameterValueType: 'Alternative'
    api: {
      id: sentinelApiId
    }
  }
}

resource playbook 'Microsoft.Logic/workflows@2019-05-01' = {
  name: playbookName
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    state: 'Enabled'
    definition: {
      '$schema': 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#'
      contentVersion: '1.0.0.0'
      parameters: {
        '$connections': {
          defaultValue: {}
          type: 'Object'
        }
      }
      triggers: {
        Microsoft_Sentinel_alert: {
          type: 'ApiConnectionWebhook'
          inputs: {
            body: {
              callback_url: '@{listCallbackUrl()}'
            }
            host: {
              connection: {
                name: '@parameters(\'$connections\')[\'azuresentinel\'][\'connectionId\']'
              }
            }
            path: '/subscribe'
          }
        }
      }
      actions: {
        // Only the id goes to the bot: it reads the alert from Sentinel itself and trusts nothing else.
        Notify_incident_bot: {
          type: 'Http'
          runAfter: {}
          inputs: {
            method: 'POST'
            uri: webhookUrl
            headers: {
              'Content-Type': 'application/json'
            }
            body: {
              SystemAlertId: '@{triggerBody()?[\'SystemAlertId\']}'
            }
            authentication: {
              type: 'ManagedServiceIdentity'
              audience: webhookAudience
            }
            // 404 (not queryable yet) is not retried: the bot's poll posts the alert once it is.
            retryPolicy: {
              type: 'exponential'
              count: 4
              interval: 'PT10S'
            }
          }
        }
      }
      outputs: {}
    }
    parameters: {
      '$connections': {
        value: {
          azuresentinel: {
            connectionId: sentinelConnection.id
            connectionName: sentinelConnectionName
            id: sentinelApiId
            connectionProperties: {
              authentication: {
                type: 'ManagedServiceIdentity'
              }
            }
          }
        }
      }
    }
  }
}

// The alert trigger reads alerts of the workspace: Microsoft Sentinel Reader, nothing more.
resource playbookReadsSentinel 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: workspace
  name: guid(workspace.id, playbook.id, sentinelReaderRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelReaderRoleId)
    principalId: playbook.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource sentinelRunsPlaybooks 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(sentinelAutomationPrincipalId)) {
  name: guid(resourceGroup().id, sentinelAutomationPrincipalId, sentinelAutomationContributorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelAutomationContributorRoleId)
    principalId: sentinelAutomationPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Every new MDI alert runs the playbook (an alert-triggered automation rule).
resource pushNewMdiAlerts 'Microsoft.SecurityInsights/automationRules@2022-11-01' = {
  scope: workspace
  name: guid(workspace.id, playbook.id, 'incident-bot-alert-push')
  properties: {
    displayName: 'incident-bot: push new Defender for Identity alerts'
    order: 1
    triggeringLogic: {
      isEnabled: true
      triggersOn: 'Alerts'
      triggersWhen: 'Created'
      conditions: [
        {
          conditionType: 'Property'
          conditionProperties: {
            propertyName: 'AlertProductNames'
            operator: 'Equals'
            propertyValues: alertProductNames
          }
        }
      ]
    }
    actions: [
      {
        order: 1
        actionType: 'RunPlaybook'
        actionConfiguration: {
          logicAppResourceId: playbook.id
          tenantId: subscription().tenantId
        }
      }
    ]
  }
}

@description('Put this in the bot\'s ALERT_PUSH_CALLER_IDS.')
output logicAppPrincipalId string = playbook.identity.principalId
output playbookId string = playbook.id
