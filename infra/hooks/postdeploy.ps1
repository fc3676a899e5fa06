# azd postdeploy hook (Windows). Same steps as postdeploy.sh: Event Grid checks that an AzureFunction
# destination exists when a subscription is created, so the plan Blob Created subscription is made by
# a second, incremental provision pass after the first code deployment.
$ErrorActionPreference = 'Stop'

if ($env:EVENT_SUBSCRIPTIONS_ENABLED -eq 'true') {
    Write-Host 'postdeploy: Event Grid subscription for plan files already enabled; nothing to do.'
    exit 0
}

Write-Host 'postdeploy: code deployed; creating the Event Grid subscription for plan files.'
azd env set EVENT_SUBSCRIPTIONS_ENABLED true
azd provision --no-prompt
if ($LASTEXITCODE -ne 0) {
    # Leave the flag off so the next `azd up` (or `azd hooks run postdeploy`) tries again.
    azd env set EVENT_SUBSCRIPTIONS_ENABLED false
    Write-Error 'postdeploy: provisioning the subscription failed; check that EVENTGRID_FUNCTION_NAME names the app''s Event Grid function.'
    exit 1
}
