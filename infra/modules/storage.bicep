// Storage for the app: the Durable Functions task hub (queues, tables, blobs), the Flex Consumption
// deployment package, the `migration-requests` queue and its poison queue, the `plans` container whose
// Blob Created events start migrations, and the container that keeps undeliverable Event Grid events.
//
// Keys are off (`allowSharedKeyAccess: false`): every client, the Functions host included, connects with
// a Microsoft Entra identity (`AzureWebJobsStorage__credential = managedidentity`), so there is no
// connection string with a key anywhere.

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Replication. Zone- or geo-redundant keeps the Durable state through a zone outage.')
@allowed([
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_ZRS'

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container for plan files; a Blob Created event on it starts a migration.')
param plansContainerName string = 'plans'

@description('Blob container where Event Grid leaves events it could not deliver.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Queue the app reads migration requests from.')
param requestsQueueName string = 'migration-requests'

@description('Principal id of the Function App\'s user-assigned identity.')
param identityPrincipalId string

@description('Optional: principal id of the operator who deploys (azd sets it); gets rights to drop plans and queue requests. Empty grants nothing.')
param operatorPrincipalId string = ''

// Built-in roles. Durable Functions on Azure Storage with an identity needs all three data roles at
// the account: the task hub creates its own queues, tables and lease blobs at run time.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
var appDataRoles = [
  storageBlobDataOwner
  storageQueueDataContributor
  storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: The Flex Consumption app reaches storage over its public endpoint unless the operator adds VNet integration; access needs an Entra identity because shared keys are disabled.
  // checkov:skip=CKV_AZURE_59: Same reason as CKV_AZURE_35: no private endpoint without a VNet; key-less, identity-only access instead.
  // checkov:skip=CKV_AZURE_206: The default is zone-redundant (ZRS); geo-replication would not give the Durable task hub a usable failover, so it stays a parameter choice (skuName allows GRS/GZRS).
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource plansContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: plansContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource requestsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: requestsQueueName
}

// The host creates `<queue>-poison` on the fifth failed attempt; creating it here lets alerts and the
// operator's rights point at it before the first poison message.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${requestsQueueName}-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource appDataAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appDataRoles: {
    name: guid(storage.id, identityPrincipalId, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource operatorPlans 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(plansContainer.id, operatorPrincipalId, storageBlobDataContributor)
  scope: plansContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: operatorPrincipalId
  }
}

resource operatorRequests 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(requestsQueue.id, operatorPrincipalId, storageQueueDataMessageSender)
  scope: requestsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSender)
    principalId: operatorPrincipalId
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output plansContainerName string = plansContainer.name
output plansContainerUrl string = '${storage.properties.primaryEndpoints.blob}${plansContainer.name}'
output deadLetterContainerName string = deadLetterContainer.name
output requestsQueueUrl string = '${storage.properties.primaryEndpoints.queue}${requestsQueue.name}'
