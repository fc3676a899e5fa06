// HCX Conductor on Azure: what `azd up` deploys. One resource group holds the Function App (Flex
// Consumption, Python 3.11), its user-assigned identity, storage without keys, Key Vault, Event Grid
// and monitoring; the identity gets a custom least-privilege role on the two private clouds, which
// stay where they are. docs/deploy.md walks through every parameter and role assignment.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of the app\'s resources (must offer Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@minLength(1)
@description('Full ARM id of the source private cloud: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.AVS/privateClouds/{name}.')
param sourcePrivateCloudId string

@minLength(1)
@description('Full ARM id of the destination private cloud (same form as the source).')
param destinationPrivateCloudId string

@description('Name of the resource group to create; empty derives it from the environment name.')
param resourceGroupName string = ''

@description('Object id of the deploying operator (azd sets AZURE_PRINCIPAL_ID): may drop plans, queue requests and set the HCX overrides. Empty grants nothing.')
param principalId string = ''

@description('Set the HCX_* credential overrides as Key Vault references (create the four secrets first).')
param hcxCredentialOverrides bool = false

@description('Create the Event Grid subscription that delivers plan Blob Created events to the app (set by the postdeploy hook once the code is deployed).')
param eventSubscriptionsEnabled bool = false

@description('Name of the app\'s Event Grid-triggered function (function_app.py).')
param eventGridFunctionName string = 'eventgrid_intake'

@description('Also grant listAdminCredentials as a control-plane action (see docs/deploy.md).')
param listAdminCredentialsAsAction bool = false

@description('Scope of the role on each private cloud: the cloud itself, or its resource group.')
@allowed([
  'privateCloud'
  'resourceGroup'
])
param avsRoleScope string = 'privateCloud'

@description('ARM endpoint the app calls; the default follows the cloud you deploy to (sovereign clouds included).')
param armEndpoint string = environment().resourceManager

@description('Optional path, inside the deployment package, of a PEM bundle trusted for the HCX Managers.')
param hcxCaBundle string = ''

@description('Optional subnet (delegated to Microsoft.App/environments) for VNet integration; the HCX Managers are reachable only over the private clouds\' private network.')
param appSubnetId string = ''

@description('Maximum number of Flex Consumption instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'hcx-conductor'
}
// /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.AVS/privateClouds/{name}
var sourceParts = split(sourcePrivateCloudId, '/')
var destinationParts = split(destinationPrivateCloudId, '/')
var sourceGroupId = '/subscriptions/${sourceParts[2]}/resourceGroups/${sourceParts[4]}'
var destinationGroupId = '/subscriptions/${destinationParts[2]}/resourceGroups/${destinationParts[4]}'
var appName = '${abbrs.functionApp}${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentity}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.logAnalyticsWorkspace}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponent}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageAccount}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVault}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    topicName: '${abbrs.eventGridTopic}${resourceToken}'
    systemTopicName: '${abbrs.eventGridSystemTopic}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    identityPrincipalId: identity.outputs.principalId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: appName
    planName: '${abbrs.appServicePlan}${resourceToken}'
    location: location
    tags: tags
    appTags: union(tags, {
      'azd-service-name': 'api'
    })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    eventGridTopicEndpoint: eventGrid.outputs.topicEndpoint
    keyVaultUri: keyVault.outputs.uri
    hcxCredentialOverrides: hcxCredentialOverrides
    armEndpoint: armEndpoint
    hcxCaBundle: hcxCaBundle
    virtualNetworkSubnetId: appSubnetId
    maximumInstanceCount: maximumInstanceCount
  }
}

module planEvents 'modules/plan-events.bicep' = if (eventSubscriptionsEnabled) {
  name: 'plan-events'
  scope: rg
  params: {
    systemTopicName: eventGrid.outputs.systemTopicName
    functionAppId: functionApp.outputs.id
    eventGridFunctionName: eventGridFunctionName
    storageAccountId: storage.outputs.id
    plansContainerName: storage.outputs.plansContainerName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
  }
}

// The custom role lives in the source cloud's subscription, next to the scopes it may be assigned at.
module avsRole 'modules/avs-role.bicep' = {
  name: 'avs-role-${resourceToken}'
  scope: subscription(sourceParts[2])
  params: {
    roleName: 'HCX Conductor AVS migrator (${environmentName}-${resourceToken})'
    assignableScopes: union([sourceGroupId], [destinationGroupId])
    listAdminCredentialsAsAction: listAdminCredentialsAsAction
  }
}

module sourceAccess 'modules/avs-access.bicep' = {
  name: 'avs-access-source-${resourceToken}'
  scope: resourceGroup(sourceParts[2], sourceParts[4])
  params: {
    privateCloudName: sourceParts[8]
    principalId: identity.outputs.principalId
    roleDefinitionGuid: avsRole.outputs.roleDefinitionGuid
    scopeLevel: avsRoleScope
  }
}

module destinationAccess 'modules/avs-access.bicep' = {
  name: 'avs-access-destination-${resourceToken}'
  scope: resourceGroup(destinationParts[2], destinationParts[4])
  params: {
    privateCloudName: destinationParts[8]
    principalId: identity.outputs.principalId
    roleDefinitionGuid: avsRole.outputs.roleDefinitionGuid
    scopeLevel: avsRoleScope
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output EVENTGRID_TOPIC_ENDPOINT string = eventGrid.outputs.topicEndpoint
output EVENTGRID_TOPIC_ID string = eventGrid.outputs.topicId
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.uri
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output PLANS_CONTAINER_URL string = storage.outputs.plansContainerUrl
output MIGRATION_REQUESTS_QUEUE_URL string = storage.outputs.requestsQueueUrl
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AVS_ROLE_DEFINITION_ID string = avsRole.outputs.roleDefinitionId
