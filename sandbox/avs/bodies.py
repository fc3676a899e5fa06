"""Request bodies the ARM simulator accepts, validated with pydantic.

Only the writable fields are modelled. Read-only fields and unknown keys are accepted and ignored, the
way ARM ignores them (azure-mgmt-avs never sends read-only fields, but hand-written clients do). A
body that does not fit raises `BadRequest` naming each bad field by its JSON path, e.g.
`properties.linkedCloud: Field required`. This module depends on pydantic and the ARM exceptions.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandbox.avs.exceptions import BadRequest

__all__ = [
    "AddonBody",
    "AuthorizationBody",
    "CloudLinkBody",
    "ClusterBody",
    "ClusterPatch",
    "DatastoreBody",
    "EmptyBody",
    "GlobalReachBody",
    "PrivateCloudPatch",
    "SegmentBody",
    "parse_body",
]

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class EmptyBody(_Body):
    """hcxEnterpriseSites: every property is read-only, so the SDK sends `{}`."""


class AddonProperties(_Body):
    addon_type: Literal["HCX", "SRM", "VR", "Arc"] = Field(alias="addonType")
    offer: str | None = None
    management_network: str | None = Field(None, alias="managementNetwork")
    uplink_network: str | None = Field(None, alias="uplinkNetwork")
    license_key: str | None = Field(None, alias="licenseKey", repr=False)
    vrs_count: int | None = Field(None, alias="vrsCount")
    v_center: str | None = Field(None, alias="vCenter")


class AddonBody(_Body):
    properties: AddonProperties


class AuthorizationProperties(_Body):
    express_route_id: str | None = Field(None, alias="expressRouteId")


class AuthorizationBody(_Body):
    properties: AuthorizationProperties = Field(default_factory=lambda: AuthorizationProperties())


class CloudLinkProperties(_Body):
    linked_cloud: str = Field(alias="linkedCloud")


class CloudLinkBody(_Body):
    properties: CloudLinkProperties


class GlobalReachProperties(_Body):
    peer_express_route_circuit: str | None = Field(None, alias="peerExpressRouteCircuit")
    # A secret: never logged, never put in an event or an error message.
    authorization_key: str | None = Field(None, alias="authorizationKey", repr=False)
    express_route_id: str | None = Field(None, alias="expressRouteId")


class GlobalReachBody(_Body):
    properties: GlobalReachProperties


class SegmentSubnet(_Body):
    gateway_address: str | None = Field(None, alias="gatewayAddress")
    dhcp_ranges: list[str] | None = Field(None, alias="dhcpRanges")

    @field_validator("gateway_address")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is not None:
            iface = ipaddress.ip_interface(value)
            if iface.ip == iface.network.network_address:
                raise ValueError("the gateway address must be a host address in CIDR form, e.g. 10.1.0.1/24")
        return value


class SegmentProperties(_Body):
    display_name: str | None = Field(None, alias="displayName")
    connected_gateway: str | None = Field(None, alias="connectedGateway")
    subnet: SegmentSubnet | None = None
    revision: int | None = None


class SegmentBody(_Body):
    """PUT and PATCH of a workload network segment (PATCH keeps what it omits)."""

    properties: SegmentProperties = Field(default_factory=lambda: SegmentProperties())


class Sku(_Body):
    name: str


class ClusterProperties(_Body):
    cluster_size: Annotated[int, Field(ge=3, le=16)] | None = Field(None, alias="clusterSize")
    hosts: list[str] | None = None


class ClusterBody(_Body):
    sku: Sku
    properties: ClusterProperties = Field(default_factory=lambda: ClusterProperties())


class ClusterPatch(_Body):
    sku: Sku | None = None
    properties: ClusterProperties = Field(default_factory=lambda: ClusterProperties())


class DatastoreProperties(_Body):
    net_app_volume: dict[str, Any] | None = Field(None, alias="netAppVolume")
    disk_pool_volume: dict[str, Any] | None = Field(None, alias="diskPoolVolume")
    elastic_san_volume: dict[str, Any] | None = Field(None, alias="elasticSanVolume")
    pure_storage_volume: dict[str, Any] | None = Field(None, alias="pureStorageVolume")

    def volume(self) -> tuple[str, dict[str, Any]]:
        given = [
            (key, value)
            for key, value in (
                ("netAppVolume", self.net_app_volume),
                ("diskPoolVolume", self.disk_pool_volume),
                ("elasticSanVolume", self.elastic_san_volume),
                ("pureStorageVolume", self.pure_storage_volume),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise BadRequest(
                "properties: exactly one of netAppVolume, diskPoolVolume, elasticSanVolume, "
                f"pureStorageVolume is required (got {len(given)})"
            )
        return given[0]


class DatastoreBody(_Body):
    properties: DatastoreProperties


class ManagementClusterPatch(_Body):
    cluster_size: Annotated[int, Field(ge=3, le=16)] | None = Field(None, alias="clusterSize")


class PrivateCloudPatchProperties(_Body):
    internet: Literal["Enabled", "Disabled"] | None = None
    management_cluster: ManagementClusterPatch | None = Field(None, alias="managementCluster")
    extended_network_blocks: list[str] | None = Field(None, alias="extendedNetworkBlocks")
    dns_zone_type: Literal["Public", "Private"] | None = Field(None, alias="dnsZoneType")

    @field_validator("extended_network_blocks")
    @classmethod
    def _blocks(cls, value: list[str] | None) -> list[str] | None:
        for block in value or []:
            ipaddress.ip_network(block)
        return value


class PrivateCloudPatch(_Body):
    tags: dict[str, str] | None = None
    sku: Sku | None = None
    properties: PrivateCloudPatchProperties = Field(default_factory=lambda: PrivateCloudPatchProperties())


def _dotted(loc: tuple[int | str, ...]) -> str:
    # pydantic reports aliases (the JSON names) because the fields are declared by alias.
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def parse_body(model: type[M], data: Any) -> M:
    """Validate a request body; `BadRequest` names every bad field by its JSON path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{_dotted(err['loc'])}: {err['msg'].removeprefix('Value error, ')}" for err in exc.errors()
        )
        raise BadRequest(reasons) from None
