#!/bin/sh
# azd postdeploy hook. Event Grid checks that an AzureFunction destination exists when a subscription
# is created, so the subscription that delivers plan Blob Created events to the app can only be made
# after the first code deployment. The first `azd up` therefore ends with a second, incremental
# provision pass that turns EVENT_SUBSCRIPTIONS_ENABLED on; later runs find it on and do nothing.
# azd passes the environment's values to hooks as environment variables.
set -eu

if [ "${EVENT_SUBSCRIPTIONS_ENABLED:-false}" = "true" ]; then
  echo "postdeploy: Event Grid subscription for plan files already enabled; nothing to do."
  exit 0
fi

echo "postdeploy: code deployed; creating the Event Grid subscription for plan files."
azd env set EVENT_SUBSCRIPTIONS_ENABLED true
if ! azd provision --no-prompt; then
  # Leave the flag off so the next `azd up` (or `azd hooks run postdeploy`) tries again.
  azd env set EVENT_SUBSCRIPTIONS_ENABLED false
  echo "postdeploy: provisioning the subscription failed; check that EVENTGRID_FUNCTION_NAME names the app's Event Grid function." >&2
  exit 1
fi
