"""The AVS (Microsoft.AVS ARM) client: azure-mgmt-avs built for the app's settings, plus cloud facts.

`avs_client(settings, subscription_id)` returns the real `azure.mgmt.avs.AVSClient`, configured once
here so every activity gets the same behaviour:

* credential: a static token for the sandbox (only for a loopback endpoint), a
  `ManagedIdentityCredential(client_id=AZURE_CLIENT_ID)` when running in Azure (IDENTITY_ENDPOINT set),
  else `DefaultAzureCredential` (a workstation: Azure CLI, VS Code, environment);
* `base_url` = AVS_ARM_ENDPOINT and token scopes to match, so sovereign clouds work;
* `connection_verify` = system CAs + certifi + AVS_CA_BUNDLE in one file (requests trusts only the
  file it is given, so an extra CA must be merged with the usual roots);
* azure-core's RetryPolicy, which honours Retry-After on 429/5xx, with a bounded total and backoff;
* a hook that refuses the rotate-password operations: rotating cloudadmin breaks HCX site pairings
  and can lock the account mid-migration (avs-arm.md §8.2). This module exposes no rotate function.

Beyond that the SDK is used as it is; the only wrapper is `private_cloud_facts`, which condenses a
private cloud and its HCX add-on into `CloudFacts`. ARM errors surface as azure-core's typed
exceptions (ResourceNotFoundError, ClientAuthenticationError, HttpResponseError).

This module depends on azure-identity, azure-mgmt-avs, `shared.settings`, `shared.tls`, `shared.cloud`.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import CustomHookPolicy
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.avs import AVSClient
from pydantic import SecretStr

from shared.cloud import CloudFacts, PrivateCloudRef, parse_private_cloud_id
from shared.errors import ForbiddenOperation, SettingsError
from shared.settings import Settings
from shared.tls import combined_ca_bundle

__all__ = ["StaticTokenCredential", "arm_credential", "avs_client", "private_cloud_facts"]

# Retries for ARM calls inside one activity: enough to ride out throttling, short enough that the
# activity returns and the orchestrator's own retry takes over for longer outages.
RETRY_TOTAL = 5
RETRY_BACKOFF_FACTOR = 0.8
RETRY_BACKOFF_MAX = 30
CONNECTION_TIMEOUT = 10
READ_TIMEOUT = 60

_ROTATIONS = ("/rotatevcenterpassword", "/rotatensxtpassword", "/rotatensxtcloudadminpassword")


class StaticTokenCredential:
    """A fixed bearer token for the sandbox's ARM simulator; its repr never shows the token."""

    def __init__(self, token: SecretStr, lifetime_seconds: int = 3600) -> None:
        self._token = token
        self._lifetime = lifetime_seconds

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self._token.get_secret_value(), int(time.time()) + self._lifetime)

    def __repr__(self) -> str:
        return "StaticTokenCredential(token=**********)"


def arm_credential(settings: Settings) -> TokenCredential:
    """The credential for ARM: static token (sandbox), managed identity (Azure), or the default chain."""
    if settings.static_token is not None:
        # Settings already refuse this; checked again so no other path can send it off this machine.
        if not settings.arm_is_loopback:
            raise SettingsError("AVS_STATIC_TOKEN: is only allowed with a loopback AVS_ARM_ENDPOINT")
        return StaticTokenCredential(settings.static_token)
    if settings.in_azure:
        return ManagedIdentityCredential(client_id=settings.azure_client_id)
    return DefaultAzureCredential()


class _NoPasswordRotation(CustomHookPolicy):
    """Refuse rotate*Password before it leaves the process, whatever the caller does."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        path = request.http_request.url.split("?", 1)[0].lower()
        if path.endswith(_ROTATIONS):
            raise ForbiddenOperation(
                "rotating a private cloud's cloudadmin/NSX password is refused: it breaks HCX site pairings"
            )
        super().on_request(request)


def avs_client(
    settings: Settings,
    subscription_id: str,
    *,
    credential: TokenCredential | None = None,
    **overrides: Any,
) -> AVSClient:
    """An `AVSClient` for `subscription_id` per the settings; `overrides` go to the SDK (e.g. retry_total)."""
    options: dict[str, Any] = {
        "base_url": settings.arm_endpoint,
        "credential_scopes": settings.credential_scopes,
        "connection_verify": combined_ca_bundle(settings.avs_ca_bundle),
        "retry_total": RETRY_TOTAL,
        "retry_backoff_factor": RETRY_BACKOFF_FACTOR,
        "retry_backoff_max": RETRY_BACKOFF_MAX,
        "connection_timeout": CONNECTION_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "custom_hook_policy": _NoPasswordRotation(),
    }
    if settings.arm_api_version:
        options["api_version"] = settings.arm_api_version
    options.update(overrides)
    return AVSClient(credential or arm_credential(settings), subscription_id, **options)


def private_cloud_facts(client: AVSClient, cloud: PrivateCloudRef | str) -> CloudFacts:
    """What preflight needs to know about one private cloud: two ARM reads (the cloud, its add-ons)."""
    ref = cloud if isinstance(cloud, PrivateCloudRef) else parse_private_cloud_id(cloud)
    pc = client.private_clouds.get(ref.resource_group, ref.name)
    props = pc.properties
    endpoints = props.endpoints if props is not None else None
    circuit = props.circuit if props is not None else None
    offer: str | None = None
    addon_state: str | None = None
    for addon in client.addons.list(ref.resource_group, ref.name):
        addon_props = addon.properties
        if addon_props is not None and _text(addon_props.addon_type).upper() == "HCX":
            offer = getattr(addon_props, "offer", None) or "HCX"
            addon_state = _text(addon_props.provisioning_state) or None
            break
    hcx_url = endpoints.hcx_cloud_manager if endpoints is not None else None
    return CloudFacts(
        id=ref.id,
        name=ref.name,
        region=pc.location,
        # inferred: avs-arm.md §7.1 — no generation field; Gen 2 clouds carry virtualNetworkId.
        generation=2 if props is not None and props.virtual_network_id else 1,
        provisioning_state=(_text(props.provisioning_state) if props is not None else "") or "Unknown",
        sku=pc.sku.name if pc.sku is not None else None,
        hcx_url=hcx_url.rstrip("/") if hcx_url else None,
        hcx_ip=endpoints.hcx_cloud_manager_ip if endpoints is not None else None,
        hcx_addon_offer=offer,
        hcx_addon_state=addon_state,
        circuit_id=circuit.express_route_id if circuit is not None else None,
        private_peering_id=circuit.express_route_private_peering_id if circuit is not None else None,
        external_cloud_links=tuple(props.external_cloud_links or ()) if props is not None else (),
        virtual_network_id=props.virtual_network_id if props is not None else None,
    )


def _text(value: object) -> str:
    """An SDK enum or string as its wire text ("Succeeded", not "ProvisioningState.SUCCEEDED")."""
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)
