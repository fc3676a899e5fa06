// The custom role the Function App holds on the two private clouds: exactly the Microsoft.AVS
// operations the app calls (reference: docs/deploy.md, "What each role assignment allows"), nothing
// else — no Contributor, no wildcard, no delete, no password rotation, no run commands.
//
// `listAdminCredentials` is listed under "DataAction" in the Azure permissions reference, although ARM
// serves it as a management-plane POST. A DataAction only takes effect from `dataActions`, so that is
// where it goes; `listAdminCredentialsAsAction` also puts it in `actions`, for tenants where the call
// is authorised as an action (see docs/deploy.md for how to tell).
targetScope = 'subscription'

@description('Display name of the role; unique in the tenant.')
param roleName string

@description('Scopes the role may be assigned at: the resource groups of the two private clouds.')
param assignableScopes array

@description('Also list listAdminCredentials/action under actions (see the note at the top).')
param listAdminCredentialsAsAction bool = false

// Reads the app makes (GET and list) and the long-running-operation status it polls.
var avsReadActions = [
  'Microsoft.AVS/privateClouds/read'
  'Microsoft.AVS/privateClouds/operationstatuses/read'
  'Microsoft.AVS/privateClouds/operationresults/read'
  'Microsoft.AVS/privateClouds/addOns/read'
  'Microsoft.AVS/privateClouds/addOns/operationStatuses/read'
  'Microsoft.AVS/privateClouds/hcxEnterpriseSites/read'
  // inferred: avs-arm.md section 9; cloudLinks is missing from the stored permissions table
  'Microsoft.AVS/privateClouds/cloudLinks/read'
  'Microsoft.AVS/privateClouds/authorizations/read'
  'Microsoft.AVS/privateClouds/globalReachConnections/read'
  'Microsoft.AVS/privateClouds/globalReachConnections/operationStatuses/read'
  'Microsoft.AVS/privateClouds/workloadNetworks/gateways/read'
  'Microsoft.AVS/privateClouds/workloadNetworks/segments/read'
  'Microsoft.AVS/privateClouds/workloadNetworks/segments/operationStatuses/read'
  'Microsoft.AVS/privateClouds/workloadNetworks/virtualMachines/read'
  'Microsoft.AVS/privateClouds/clusters/read'
  'Microsoft.AVS/privateClouds/clusters/datastores/read'
]

// Creates and updates the app makes while preparing connectivity, HCX and networks.
var avsWriteActions = [
  'Microsoft.AVS/privateClouds/addOns/write'
  'Microsoft.AVS/privateClouds/hcxEnterpriseSites/write'
  // inferred: avs-arm.md section 9; cloudLinks is missing from the stored permissions table
  'Microsoft.AVS/privateClouds/cloudLinks/write'
  'Microsoft.AVS/privateClouds/authorizations/write'
  'Microsoft.AVS/privateClouds/globalReachConnections/write'
  'Microsoft.AVS/privateClouds/workloadNetworks/segments/write'
]

// The cloudadmin credentials the app logs in to HCX with.
var avsDataActions = [
  'Microsoft.AVS/privateClouds/listAdminCredentials/action'
]

var avsActions = concat(avsReadActions, avsWriteActions)

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'HCX Conductor: the Microsoft.AVS operations the migration app calls on its two private clouds.'
    type: 'CustomRole'
    permissions: [
      {
        actions: listAdminCredentialsAsAction ? concat(avsActions, avsDataActions) : avsActions
        notActions: []
        dataActions: avsDataActions
        notDataActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

output roleDefinitionGuid string = role.name
output roleDefinitionId string = role.id
