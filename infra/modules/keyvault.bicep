// Key Vault for the optional HCX credential overrides (HCX_SOURCE_USERNAME, ..._PASSWORD, ...). RBAC
// mode: no access policies, the Function App's identity reads secrets as Key Vault Secrets User on
// this vault only, and the app settings hold `@Microsoft.KeyVault(SecretUri=...)` references, never
// values. The template creates no secret: an operator sets them (docs/deploy.md).

@description('Name of the vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Principal id of the Function App\'s user-assigned identity.')
param identityPrincipalId string

@description('Optional: principal id of the operator who deploys (azd sets it); gets Key Vault Secrets Officer to set the overrides. Empty grants nothing.')
param operatorPrincipalId string = ''

// Built-in roles.
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: App Service resolves Key Vault references over the vault's public endpoint unless the app has VNet integration; the firewall stays open and access is by Entra RBAC only.
  // checkov:skip=CKV_AZURE_189: Same reason as CKV_AZURE_109: disabling public access needs a private endpoint and VNet-integrated app, which the operator adds for their network.
  name: name
  location: location
  tags: tags
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
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorSetsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: operatorPrincipalId
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
