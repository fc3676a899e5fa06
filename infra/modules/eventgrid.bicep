// Event Grid: the custom topic the app publishes its CloudEvents to (`HcxConductor.*`), and the system
// topic on the storage account whose Blob Created events for plan files start migrations. The
// subscription that delivers those events to the app lives in plan-events.bicep, because Event Grid
// checks that the destination function exists when the subscription is created.
//
// The topic accepts only Entra-authenticated publishers (local auth off): the app's identity gets
// EventGrid Data Sender on this topic alone.

@description('Name of the custom topic.')
param topicName string

@description('Name of the system topic on the storage account.')
param systemTopicName string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

@description('Name of the storage account whose blob events the system topic publishes.')
param storageAccountName string

@description('Container that receives undeliverable events.')
param deadLetterContainerName string

@description('Principal id of the Function App\'s user-assigned identity.')
param identityPrincipalId string

// Built-in roles.
var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/${deadLetterContainerName}'
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  // checkov:skip=CKV_AZURE_193: Subscribers such as Logic Apps and the app itself publish and receive over the public endpoint; publishing requires an Entra identity because local (key) auth is disabled.
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

resource appSendsEvents 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, identityPrincipalId, eventGridDataSender)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    // Dead-lettering writes with this identity, so no storage key is ever handed to Event Grid.
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource systemTopicDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopic.id, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output topicId string = topic.id
output topicName string = topic.name
output topicEndpoint string = topic.properties.endpoint
output systemTopicName string = systemTopic.name
