// Delivers Blob Created events for plan files (container `plans`) to the app's Event Grid trigger.
//
// Deployed only on the second pass of `azd up` (the postdeploy hook sets EVENT_SUBSCRIPTIONS_ENABLED):
// Event Grid validates an AzureFunction destination when the subscription is created, and the function
// exists only once the code is deployed.

@description('Name of the Event Grid system topic on the storage account.')
param systemTopicName string

@description('Resource id of the Function App.')
param functionAppId string

@description('Name of the app\'s Event Grid-triggered function.')
param eventGridFunctionName string

@description('Resource id of the storage account (dead-letter destination).')
param storageAccountId string

@description('Container holding the plan files.')
param plansContainerName string

@description('Container that receives undeliverable events.')
param deadLetterContainerName string

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource planCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'plan-blob-created'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${eventGridFunctionName}'
        // One plan per invocation: a bad plan is rejected on its own, never with its neighbours.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${plansContainerName}/blobs/'
    }
    retryPolicy: {
      maxDeliveryAttempts: 10
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = planCreated.name
