"""Private clouds as the app sees them: parsed ARM resource ids and the facts preflight reads.

`PrivateCloudRef` is a parsed `Microsoft.AVS/privateClouds` ARM id; `parse_private_cloud_id` checks
the shape and names the part that is wrong. `CloudFacts` is the small, JSON-able summary of a private
cloud that `shared.avs.private_cloud_facts` builds from ARM and that `shared.plan.check_against` checks
a plan against, so the plan never needs the SDK. ARM ids compare case-insensitively, as ARM does.

This module depends on pydantic only (not on azure-mgmt-avs), so plans and orchestrators can use it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CloudFacts",
    "PrivateCloudRef",
    "parse_private_cloud_id",
    "same_resource",
]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# ARM's rules for resource group names: 1-90 of letters, digits, _ - . ( ), not ending in a period.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
# AVS private cloud names: letters, digits, '-', '_' and '.', up to 80 (inferred: ARM's general rule).
_CLOUD_NAME = re.compile(r"^[A-Za-z0-9][-\w.]{0,79}$")


class PrivateCloudRef(BaseModel):
    """A parsed private cloud id; `str(ref)` is the canonical id."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.AVS/privateClouds/{self.name}"
        )

    def __str__(self) -> str:
        return self.id


def parse_private_cloud_id(value: str) -> PrivateCloudRef:
    """Parse `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.AVS/privateClouds/{name}`.

    The fixed segments match case-insensitively (ARM ids are case-insensitive) and are returned in
    their canonical spelling; a trailing slash is accepted. Raises ValueError naming the wrong part.
    """
    if not isinstance(value, str):
        raise ValueError("must be an ARM resource id string")
    parts = value.strip().strip("/").split("/")
    expected = [
        "subscriptions",
        None,
        "resourcegroups",
        None,
        "providers",
        "microsoft.avs",
        "privateclouds",
        None,
    ]
    shape = "/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.AVS/privateClouds/{name}"
    if len(parts) != len(expected):
        raise ValueError(f"must be a private cloud ARM id of the form {shape}")
    for part, want in zip(parts, expected, strict=True):
        if want is not None and part.lower() != want:
            raise ValueError(f"must be a private cloud ARM id of the form {shape}; found {part!r}")
    subscription, group, name = parts[1], parts[3], parts[7]
    if not _GUID.match(subscription):
        raise ValueError("the subscription id in the ARM id must be a GUID")
    if not _RESOURCE_GROUP.match(group):
        raise ValueError("the resource group name in the ARM id is not a valid ARM resource group name")
    if not _CLOUD_NAME.match(name):
        raise ValueError("the private cloud name in the ARM id is not valid")
    return PrivateCloudRef(subscription_id=subscription.lower(), resource_group=group, name=name)


def same_resource(a: str, b: str) -> bool:
    """Whether two ARM ids name the same resource (ARM ids are case-insensitive)."""
    return a.strip().strip("/").lower() == b.strip().strip("/").lower()


class CloudFacts(BaseModel):
    """What the app knows about one private cloud from ARM: enough for preflight and plan checks."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    region: str
    # 2 when the cloud is VNet-native. ARM has no generation field: Gen 2 is recognised by
    # properties.virtualNetworkId being set. inferred: avs-arm.md §7.1
    generation: Literal[1, 2]
    provisioning_state: str
    sku: str | None = None
    # The HCX Cloud Manager URL without a trailing slash (HCX pairings match URLs exactly).
    hcx_url: str | None = None
    hcx_ip: str | None = None
    # The HCX add-on's offer, e.g. "VMware MaaS Cloud Provider (Enterprise)"; None = not installed.
    hcx_addon_offer: str | None = None
    hcx_addon_state: str | None = None
    # The cloud's ExpressRoute circuit (Gen 1), used for Global Reach.
    circuit_id: str | None = None
    private_peering_id: str | None = None
    # Cloud-link ids of other clouds that link to this one (AVS Interconnect).
    external_cloud_links: tuple[str, ...] = ()
    virtual_network_id: str | None = None

    @property
    def hcx_installed(self) -> bool:
        return self.hcx_addon_offer is not None

    @property
    def hcx_enterprise(self) -> bool:
        """Whether the HCX add-on is the Enterprise offer (needed for RAV and MON).

        inferred: avs-arm.md §7.3 — the Enterprise offer names itself "(Enterprise)"; the older
        Advanced offer is "VMware MaaS Cloud Provider" without a suffix.
        """
        return self.hcx_addon_offer is not None and "enterprise" in self.hcx_addon_offer.lower()
