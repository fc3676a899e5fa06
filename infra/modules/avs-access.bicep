// Assigns the HCX Conductor custom role to the app's identity on one private cloud. Deployed at the
// private cloud's own resource group (which may be in another subscription), where the cloud is an
// `existing` resource, so the assignment's scope is the private cloud itself and nothing around it.

@description('Name of the private cloud (last segment of its resource id).')
param privateCloudName string

@description('Principal id of the Function App\'s user-assigned identity.')
param principalId string

@description('Name (GUID) of the custom role definition.')
param roleDefinitionGuid string

@description('Where the role is assigned: the private cloud (narrowest) or its resource group.')
@allowed([
  'privateCloud'
  'resourceGroup'
])
param scopeLevel string = 'privateCloud'

resource privateCloud 'Microsoft.AVS/privateClouds@2023-09-01' existing = {
  name: privateCloudName
}

// inferred: a custom role is a tenant-wide object, addressable under any subscription of its
// assignable scopes, so the id is formed in this (the private cloud's) subscription.
var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)

resource onPrivateCloud 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeLevel == 'privateCloud') {
  name: guid(privateCloud.id, principalId, roleDefinitionGuid)
  scope: privateCloud
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'HCX Conductor migrates workloads with this private cloud.'
  }
}

resource onResourceGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeLevel == 'resourceGroup') {
  name: guid(resourceGroup().id, principalId, roleDefinitionGuid)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'HCX Conductor migrates workloads with the private cloud in this resource group.'
  }
}

output privateCloudId string = privateCloud.id
