// The Function App on a Flex Consumption plan (Python 3.11), running as the user-assigned identity.
//
// No setting holds a secret or a key: storage is identity-based (`AzureWebJobsStorage__*`), the
// Application Insights connection string only identifies the component (ingestion needs the identity,
// local auth is off), and the optional HCX credential overrides are Key Vault references resolved by
// the platform with `keyVaultReferenceIdentity`. Flex Consumption takes its runtime from
// `functionAppConfig`, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not set.

@description('Name of the Function App.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan.')
param tags object = {}

@description('Tags applied to the app; must carry azd-service-name so `azd deploy` finds it.')
param appTags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Name of the storage account (AzureWebJobsStorage, Durable task hub, queues).')
param storageAccountName string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Application Insights connection string (an identifier; ingestion is Entra-authenticated).')
param applicationInsightsConnectionString string

@description('Endpoint of the Event Grid topic the app publishes its events to.')
param eventGridTopicEndpoint string

@description('URI of the Key Vault that holds the optional HCX credential overrides.')
param keyVaultUri string

@description('When true, the HCX_* credential settings are set to Key Vault references (the secrets must exist).')
param hcxCredentialOverrides bool = false

@description('ARM endpoint the app calls for Microsoft.AVS (sovereign clouds differ).')
param armEndpoint string

@description('Optional path, inside the deployment package, of a PEM bundle trusted for the HCX Managers.')
param hcxCaBundle string = ''

@description('Optional resource id of a subnet (delegated to Microsoft.App/environments) to integrate with, so the app reaches the HCX Managers on the private clouds\' private network. Empty means no VNet integration.')
param virtualNetworkSubnetId string = ''

@description('Maximum number of instances the plan scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Key Vault references without a secret version follow the latest version (the platform re-reads them
// within a day, or at once on a restart), which is what rotation relies on (docs/deploy.md).
var hcxSecretSettings = {
  HCX_SOURCE_USERNAME: 'hcx-source-username'
  HCX_SOURCE_PASSWORD: 'hcx-source-password'
  HCX_DESTINATION_USERNAME: 'hcx-destination-username'
  HCX_DESTINATION_PASSWORD: 'hcx-destination-password'
}
var hcxOverrideSettings = [
  for item in items(hcxSecretSettings): {
    name: item.key
    value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${item.value})'
  }
]

var baseSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    // Names the app in Application Insights (cloud_RoleName) instead of "unknown_service".
    name: 'OTEL_SERVICE_NAME'
    value: 'hcx-conductor'
  }
  {
    // inferred: azure-functions-python-worker source; lets the worker pass the host's trace context to
    // the app's OpenTelemetry spans so host and app telemetry share one operation id.
    name: 'PYTHON_ENABLE_OPENTELEMETRY'
    value: 'true'
  }
  {
    name: 'AVS_ARM_ENDPOINT'
    value: armEndpoint
  }
  {
    name: 'EVENTGRID_TOPIC_ENDPOINT'
    value: eventGridTopicEndpoint
  }
]
var caBundleSettings = empty(hcxCaBundle) ? [] : [
  {
    name: 'HCX_CA_BUNDLE'
    value: hcxCaBundle
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption spreads instances across zones only where the region supports it; zone redundancy is an operator choice for regions that offer it.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_16: The HTTP API is protected by function keys (auth level FUNCTION); Entra sign-in (Easy Auth) needs an app registration that the operator owns, not this template.
  // checkov:skip=CKV_AZURE_17: Callers (operators, Logic Apps) authenticate with function keys, not client certificates.
  // checkov:skip=CKV_AZURE_222: Logic Apps and operators call the HTTP API over the public endpoint; a private endpoint is an operator network choice.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero by design; durable state lives in storage, so no warm instance is needed for failover.
  // checkov:skip=CKV_AZURE_213: Flex Consumption does not use the App Service health-check path; the host monitors workers itself.
  name: name
  location: location
  tags: appTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    // The HCX Cloud Managers answer on the private clouds' management networks; the app reaches them
    // through a VNet connected to the private clouds' ExpressRoute (docs/deploy.md, prerequisites).
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    httpsOnly: true
    clientCertEnabled: false
    // Key Vault references resolve with the user-assigned identity (there is no system identity).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: concat(baseSettings, caBundleSettings, hcxCredentialOverrides ? hcxOverrideSettings : [])
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Basic-auth publishing (FTP and the SCM site) stays off: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName
