"""The Bicep in infra/, read as data (pycep-parser): the security properties issue 7 asks CI to hold.

Each test evaluates the real template expressions (parameter defaults, variables, conditionals, loops)
through `bicep_model`, so a property hidden behind a variable or a parameter is still checked.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.bicep_model import INFRA, Template, load

MODULES = sorted(p.relative_to(INFRA).as_posix() for p in INFRA.rglob("*.bicep"))

# The Microsoft.AVS operations the app calls (avs-arm.md sections 5 and 9, and the Azure permissions
# reference for Microsoft.AVS). Written out here, independently of the template, so that adding or
# dropping a permission in infra/ is a deliberate, reviewed change to this list as well.
EXPECTED_AVS_ACTIONS = {
    "Microsoft.AVS/privateClouds/read",
    "Microsoft.AVS/privateClouds/operationstatuses/read",
    "Microsoft.AVS/privateClouds/operationresults/read",
    "Microsoft.AVS/privateClouds/addOns/read",
    "Microsoft.AVS/privateClouds/addOns/write",
    "Microsoft.AVS/privateClouds/addOns/operationStatuses/read",
    "Microsoft.AVS/privateClouds/hcxEnterpriseSites/read",
    "Microsoft.AVS/privateClouds/hcxEnterpriseSites/write",
    "Microsoft.AVS/privateClouds/cloudLinks/read",
    "Microsoft.AVS/privateClouds/cloudLinks/write",
    "Microsoft.AVS/privateClouds/authorizations/read",
    "Microsoft.AVS/privateClouds/authorizations/write",
    "Microsoft.AVS/privateClouds/globalReachConnections/read",
    "Microsoft.AVS/privateClouds/globalReachConnections/write",
    "Microsoft.AVS/privateClouds/globalReachConnections/operationStatuses/read",
    "Microsoft.AVS/privateClouds/workloadNetworks/gateways/read",
    "Microsoft.AVS/privateClouds/workloadNetworks/segments/read",
    "Microsoft.AVS/privateClouds/workloadNetworks/segments/write",
    "Microsoft.AVS/privateClouds/workloadNetworks/segments/operationStatuses/read",
    "Microsoft.AVS/privateClouds/workloadNetworks/virtualMachines/read",
    "Microsoft.AVS/privateClouds/clusters/read",
    "Microsoft.AVS/privateClouds/clusters/datastores/read",
}
LIST_ADMIN_CREDENTIALS = "Microsoft.AVS/privateClouds/listAdminCredentials/action"

# Built-in roles, by the GUID Azure gives them.
BUILT_IN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender",
}
BROAD_ROLES = {
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
}

# Anything that would put a key or SAS into an app setting or an output.
KEY_MATERIAL = re.compile(
    r"listkeys|listaccountsas|listservicesas|listsecrets|accountkey=|sharedaccesskey|sharedaccesssignature"
    r"|defaultendpointsprotocol=|[?&]sig=|primarykey|secondarykey",
    re.IGNORECASE,
)


def _walk(node: Any) -> list[Any]:
    """Every value in a parsed document, depth first."""
    out = [node]
    if isinstance(node, dict):
        for value in node.values():
            out.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_walk(value))
    return out


def _app_settings(template: Template, **params: Any) -> dict[str, str]:
    settings = template.evaluate(template.config("app")["properties"]["siteConfig"]["appSettings"], params)
    assert isinstance(settings, list), "app settings did not evaluate to a list"
    names = [s["name"] for s in settings]
    assert len(names) == len(set(names)), f"duplicate app settings: {names}"
    return {s["name"]: s["value"] for s in settings}


@pytest.mark.parametrize("module", MODULES)
def test_every_bicep_file_parses(module: str) -> None:
    template = load(module)
    assert template.resources or template.modules, f"{module} declares nothing"


def test_main_composes_every_module_under_modules() -> None:
    main = load("main.bicep")
    used = {m["detail"]["path"] for m in main.modules.values()}
    assert used == {m for m in MODULES if m.startswith("modules/")}


# --- storage -------------------------------------------------------------------------------------------


def test_storage_disables_shared_key_access_and_public_blobs() -> None:
    storage = load("modules/storage.bicep")
    props = storage.evaluate(storage.config("storage")["properties"])
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True


def test_storage_is_https_only_with_tls_1_2_or_newer() -> None:
    storage = load("modules/storage.bicep")
    props = storage.evaluate(storage.config("storage")["properties"])
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["minimumTlsVersion"] in {"TLS1_2", "TLS1_3"}


def test_every_container_is_private() -> None:
    storage = load("modules/storage.bicep")
    containers = storage.resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert len(containers) >= 3
    for name, resource in containers.items():
        assert storage.evaluate(resource["config"]["properties"])["publicAccess"] == "None", name


def test_storage_holds_the_request_queue_its_poison_queue_and_the_plans_container() -> None:
    storage = load("modules/storage.bicep")
    queues = {
        storage.evaluate(r["config"]["name"])
        for r in storage.resources_of_type("Microsoft.Storage/storageAccounts/queueServices/queues").values()
    }
    assert queues == {"migration-requests", "${requestsQueueName}-poison"}
    assert storage.evaluate("requestsQueueName") == "migration-requests"
    containers = {
        storage.evaluate(r["config"]["name"])
        for r in storage.resources_of_type(
            "Microsoft.Storage/storageAccounts/blobServices/containers"
        ).values()
    }
    assert "plans" in containers


def test_the_storage_sku_is_never_locally_redundant() -> None:
    storage = load("modules/storage.bicep")
    allowed = next(d for d in storage.parameters["skuName"]["decorators"] if d["type"] == "allowed")
    assert "Standard_LRS" not in allowed["argument"]
    assert storage.evaluate("skuName") in allowed["argument"]


# --- the Function App ----------------------------------------------------------------------------------


def test_the_function_app_is_https_only_with_tls_1_2_or_newer() -> None:
    app = load("modules/functionapp.bicep")
    props = app.evaluate(app.config("app")["properties"])
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] in {"1.2", "1.3"}
    assert props["siteConfig"]["scmMinTlsVersion"] in {"1.2", "1.3"}
    assert props["siteConfig"]["ftpsState"] == "Disabled"


def test_the_function_app_runs_python_3_11_on_flex_consumption() -> None:
    app = load("modules/functionapp.bicep")
    plan = app.config("plan")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    runtime = app.evaluate(app.config("app")["properties"]["functionAppConfig"]["runtime"])
    assert runtime == {"name": "python", "version": "3.11"}


def test_the_function_app_runs_as_the_user_assigned_identity_only() -> None:
    app = load("modules/functionapp.bicep")
    config = app.config("app")
    assert config["identity"]["type"] == "UserAssigned"
    assert config["properties"]["keyVaultReferenceIdentity"] == "identityId"
    deployment = config["properties"]["functionAppConfig"]["deployment"]["storage"]["authentication"]
    assert deployment == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}


def test_vnet_integration_is_applied_only_when_a_subnet_is_given() -> None:
    app = load("modules/functionapp.bicep")
    expr = app.config("app")["properties"]["virtualNetworkSubnetId"]
    assert app.evaluate(expr) is None
    subnet = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/app"
    assert app.evaluate(expr, {"virtualNetworkSubnetId": subnet}) == subnet
    params = load("main.bicep").modules["functionApp"]["config"]["params"]
    assert params["virtualNetworkSubnetId"] == "appSubnetId"


def test_basic_auth_publishing_is_off() -> None:
    app = load("modules/functionapp.bicep")
    policies = app.resources_of_type("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {p["config"]["name"]: p["config"]["properties"]["allow"] for p in policies.values()} == {
        "ftp": False,
        "scm": False,
    }


@pytest.mark.parametrize("overrides", [False, True])
@pytest.mark.parametrize("ca_bundle", ["", "certs/hcx-ca.pem"])
def test_no_app_setting_is_a_connection_string_with_a_key(overrides: bool, ca_bundle: str) -> None:
    settings = _app_settings(
        load("modules/functionapp.bicep"), hcxCredentialOverrides=overrides, hcxCaBundle=ca_bundle
    )
    for name, value in settings.items():
        assert not KEY_MATERIAL.search(str(value)), f"{name} carries key material"
    # Storage is identity-based: no plain AzureWebJobsStorage connection string at all.
    assert "AzureWebJobsStorage" not in settings
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    # Application Insights ingestion is authenticated by the identity, not the instrumentation key.
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "ClientId=${identityClientId};Authorization=AAD"
    )


def test_hcx_credentials_are_only_ever_key_vault_references() -> None:
    off = _app_settings(load("modules/functionapp.bicep"), hcxCredentialOverrides=False)
    assert not [name for name in off if name.startswith("HCX_") and name != "HCX_CA_BUNDLE"]
    on = _app_settings(load("modules/functionapp.bicep"), hcxCredentialOverrides=True)
    hcx = {name: value for name, value in on.items() if name.startswith("HCX_") and name != "HCX_CA_BUNDLE"}
    assert set(hcx) == {
        "HCX_SOURCE_USERNAME",
        "HCX_SOURCE_PASSWORD",
        "HCX_DESTINATION_USERNAME",
        "HCX_DESTINATION_PASSWORD",
    }
    for name, value in hcx.items():
        # Versionless secret URI: the platform follows rotation (docs/deploy.md).
        secret = name.lower().replace("hcx_", "hcx-").replace("_", "-")
        assert value == f"@Microsoft.KeyVault(SecretUri=${{keyVaultUri}}secrets/{secret})", name


def test_the_app_settings_carry_what_the_code_reads() -> None:
    settings = _app_settings(load("modules/functionapp.bicep"))
    for name in (
        "AZURE_CLIENT_ID",
        "AVS_ARM_ENDPOINT",
        "EVENTGRID_TOPIC_ENDPOINT",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    ):
        assert name in settings, name
    # Flex Consumption takes the runtime from functionAppConfig and rejects these as settings.
    flex_rejects = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"}
    assert not flex_rejects & set(settings)
    # The sandbox-only settings never reach Azure.
    assert not {"AVS_STATIC_TOKEN", "AVS_CA_BUNDLE"} & set(settings)


def test_the_arm_endpoint_follows_the_cloud_deployed_to() -> None:
    main = load("main.bicep")
    default = main.parameters["armEndpoint"]["default"]
    assert default == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": {"function": {"type": "environment"}}, "operand_2": "resourceManager"},
        }
    }
    assert main.modules["functionApp"]["config"]["params"]["armEndpoint"] == "armEndpoint"


@pytest.mark.parametrize("module", MODULES)
def test_no_template_reads_keys_or_outputs_a_secret(module: str) -> None:
    template = load(module)
    for value in _walk(template.doc):
        if isinstance(value, dict) and "function" in value:
            assert not str(value["function"].get("type", "")).lower().startswith("list"), module
        if isinstance(value, str):
            assert not KEY_MATERIAL.search(value), f"{module}: {value}"
    for name, output in template.outputs.items():
        assert not any(d["type"] == "secure" for d in output["decorators"]), f"{module} outputs secret {name}"


# --- Key Vault, Event Grid, monitoring ----------------------------------------------------------------


def test_key_vault_uses_rbac_with_purge_protection() -> None:
    vault = load("modules/keyvault.bicep")
    props = vault.evaluate(vault.config("vault")["properties"])
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert "accessPolicies" not in props


def test_the_event_topic_takes_cloudevents_from_entra_identities_over_tls_1_2() -> None:
    grid = load("modules/eventgrid.bicep")
    props = grid.evaluate(grid.config("topic")["properties"])
    assert props == {
        "inputSchema": "CloudEventSchemaV1_0",
        "disableLocalAuth": True,
        "publicNetworkAccess": "Enabled",
        "minimumTlsVersionAllowed": "1.2",
    }


def test_application_insights_only_accepts_entra_authenticated_telemetry() -> None:
    monitoring = load("modules/monitoring.bicep")
    props = monitoring.config("applicationInsights")["properties"]
    assert props["DisableLocalAuth"] is True
    assert props["WorkspaceResourceId"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "workspace", "operand_2": "id"}}
    }


def test_blob_created_events_for_plans_reach_the_event_grid_function() -> None:
    events = load("modules/plan-events.bicep")
    props = events.evaluate(events.config("planCreated")["properties"], {"plansContainerName": "plans"})
    assert props["destination"]["endpointType"] == "AzureFunction"
    assert (
        props["destination"]["properties"]["resourceId"]
        == "${functionAppId}/functions/${eventGridFunctionName}"
    )
    assert props["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert (
        props["filter"]["subjectBeginsWith"]
        == "/blobServices/default/containers/${plansContainerName}/blobs/"
    )
    # Dead letters are written with the system topic's identity, never a storage key.
    assert props["deadLetterWithResourceIdentity"]["identity"] == {"type": "SystemAssigned"}
    main = load("main.bicep")
    assert main.modules["planEvents"]["config"]["condition"] == "eventSubscriptionsEnabled"


# --- role assignments ----------------------------------------------------------------------------------


def _role_permissions(as_action: bool) -> dict[str, Any]:
    role = load("modules/avs-role.bicep")
    permissions = role.evaluate(
        role.config("role")["properties"]["permissions"], {"listAdminCredentialsAsAction": as_action}
    )
    assert len(permissions) == 1
    return dict(permissions[0])


def test_the_custom_role_holds_exactly_the_avs_actions_the_app_calls() -> None:
    permissions = _role_permissions(as_action=False)
    assert set(permissions["actions"]) == EXPECTED_AVS_ACTIONS
    assert len(permissions["actions"]) == len(EXPECTED_AVS_ACTIONS), "an action is listed twice"
    assert permissions["notActions"] == []
    assert permissions["notDataActions"] == []


def test_list_admin_credentials_is_granted_where_its_data_action_classification_takes_effect() -> None:
    # avs-arm.md section 9: the permissions reference lists it as a DataAction, so it is in dataActions;
    # the switch adds it to actions as well, for tenants that authorise it as an action.
    default = _role_permissions(as_action=False)
    assert default["dataActions"] == [LIST_ADMIN_CREDENTIALS]
    assert LIST_ADMIN_CREDENTIALS not in default["actions"]
    switched = _role_permissions(as_action=True)
    assert set(switched["actions"]) == EXPECTED_AVS_ACTIONS | {LIST_ADMIN_CREDENTIALS}
    assert switched["dataActions"] == [LIST_ADMIN_CREDENTIALS]


@pytest.mark.parametrize("as_action", [False, True])
def test_the_custom_role_has_no_wildcard_no_delete_no_rotation_and_no_run_command(as_action: bool) -> None:
    permissions = _role_permissions(as_action)
    for action in permissions["actions"] + permissions["dataActions"]:
        assert "*" not in action, action
        assert action.startswith("Microsoft.AVS/privateClouds/"), action
        assert not action.endswith("/delete"), action
        assert "rotate" not in action.lower(), action
        assert "scriptexecutions" not in action.lower(), action
        assert action != "Microsoft.AVS/privateClouds/write", "the app never changes the private cloud itself"


def test_the_custom_role_is_assignable_only_at_the_two_private_clouds_resource_groups() -> None:
    main = load("main.bicep")
    params = main.modules["avsRole"]["config"]["params"]
    assert main.evaluate(params["assignableScopes"]) == [
        "/subscriptions/${sourceParts[2]}/resourceGroups/${sourceParts[4]}",
        "/subscriptions/${destinationParts[2]}/resourceGroups/${destinationParts[4]}",
    ]
    assert (
        main.variables["sourceParts"]["value"]["function"]["parameters"]["input_string"]
        == "sourcePrivateCloudId"
    )


def test_split_positions_match_a_private_cloud_resource_id() -> None:
    # main.bicep reads subscription, resource group and name at indexes 2, 4 and 8 of split(id, '/').
    resource_id = "/subscriptions/1111/resourceGroups/rg-avs/providers/Microsoft.AVS/privateClouds/pc-east"
    parts = resource_id.split("/")
    assert (parts[2], parts[4], parts[8]) == ("1111", "rg-avs", "pc-east")


@pytest.mark.parametrize(
    ("module", "parts"), [("sourceAccess", "sourceParts"), ("destinationAccess", "destinationParts")]
)
def test_each_private_cloud_gets_the_role_from_a_module_at_its_own_resource_group(
    module: str, parts: str
) -> None:
    config = load("main.bicep").modules[module]["config"]
    scope = config["scope"]["function"]
    assert scope["type"] == "resource_group"
    index = {"type": "index_accessor", "operands": {"operand_1": parts}}
    assert scope["parameters"]["subscription_id"] == {
        "operator": {**index, "operands": {**index["operands"], "operand_2": 2}}
    }
    assert scope["parameters"]["resource_group_name"] == {
        "operator": {**index, "operands": {**index["operands"], "operand_2": 4}}
    }
    assert config["params"]["privateCloudName"] == {
        "operator": {**index, "operands": {**index["operands"], "operand_2": 8}}
    }
    assert config["params"]["scopeLevel"] == "avsRoleScope"


def test_the_private_cloud_assignment_is_scoped_to_the_existing_private_cloud() -> None:
    access = load("modules/avs-access.bicep")
    cloud = access.resources["privateCloud"]
    assert cloud["existing"] is True
    assert cloud["type"] == "Microsoft.AVS/privateClouds"
    assert access.config("onPrivateCloud")["scope"] == "privateCloud"
    assert access.instances("onResourceGroup") == [], "only one of the two assignments is deployed"
    assert load("main.bicep").evaluate("avsRoleScope") == "privateCloud", "the narrowest scope is the default"


def _role_assignments(**params: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(module, resource, evaluated body) for every role assignment each module deploys."""
    found = []
    for module in MODULES:
        template = load(module)
        for name in template.resources_of_type("Microsoft.Authorization/roleAssignments"):
            known = {k: v for k, v in params.items() if k in template.parameters}
            found.extend((module, name, body) for body in template.instances(name, known))
    return found


def _role_of(body: dict[str, Any]) -> str:
    role_id = body["properties"]["roleDefinitionId"]
    if isinstance(role_id, str):
        return role_id
    assert role_id["function"]["type"] == "subscription_resource_id", role_id
    parameters = role_id["function"]["parameters"]
    assert parameters["resource_type"] == "Microsoft.Authorization/roleDefinitions"
    return str(parameters["resource_name_1"])


@pytest.mark.parametrize("operator", ["", "00000000-0000-0000-0000-00000000abcd"])
@pytest.mark.parametrize("scope_level", ["privateCloud", "resourceGroup"])
def test_every_role_assignment_is_a_known_narrow_role_scoped_to_one_resource(
    operator: str, scope_level: str
) -> None:
    assignments = _role_assignments(operatorPrincipalId=operator, scopeLevel=scope_level)
    assert assignments
    for module, name, body in assignments:
        role = _role_of(body)
        assert role not in BROAD_ROLES, f"{module}:{name} assigns {BROAD_ROLES.get(role)}"
        if module == "modules/avs-access.bicep":
            assert role == "roleDefinitionGuid", name  # the custom role, by its GUID in this subscription
            continue
        assert role in BUILT_IN_ROLES, f"{module}:{name} assigns unknown role {role}"
        assert isinstance(body.get("scope"), str), f"{module}:{name} is not scoped to one resource"
    avs = [(name, body) for module, name, body in assignments if module == "modules/avs-access.bicep"]
    assert len(avs) == 1, "exactly one assignment per private cloud"
    if scope_level == "privateCloud":
        assert avs[0][1]["scope"] == "privateCloud"
    else:
        assert "scope" not in avs[0][1], "the resource-group variant is scoped by the module's deployment"


def test_the_operator_gets_nothing_unless_named() -> None:
    roles = [
        (m, n)
        for m, n, body in _role_assignments()
        if body["properties"]["principalId"] == "operatorPrincipalId"
    ]
    assert roles == []
    named = _role_assignments(operatorPrincipalId="00000000-0000-0000-0000-00000000abcd")
    operator = {
        BUILT_IN_ROLES[_role_of(b)]
        for _m, _n, b in named
        if b["properties"]["principalId"] == "00000000-0000-0000-0000-00000000abcd"
    }
    assert operator == {
        "Storage Blob Data Contributor",
        "Storage Queue Data Message Sender",
        "Key Vault Secrets Officer",
    }


def test_the_app_identity_gets_exactly_the_data_roles_issue_7_lists() -> None:
    granted = {
        BUILT_IN_ROLES[_role_of(body)]
        for _module, _name, body in _role_assignments()
        if body["properties"]["principalId"] == "identityPrincipalId"
    }
    assert granted == {
        "Storage Blob Data Owner",
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
        "Monitoring Metrics Publisher",
        "Key Vault Secrets User",
        "EventGrid Data Sender",
    }


def test_no_template_grants_contributor_owner_or_reader_anywhere() -> None:
    for module in MODULES:
        text = (INFRA / module).read_text(encoding="utf-8").lower()
        for guid, role in BROAD_ROLES.items():
            assert guid not in text, f"{module} mentions {role}"
