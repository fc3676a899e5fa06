"""Typed views of HCX answers: jobs, tasks, pairings, meshes, appliances, extensions, inventory.

Every model ignores unknown fields and accepts the variants real managers show (hcx-api.md): both
`resourcecontainer/list` item shapes, `version` or `applianceVersion`, `entity_id` or `entityId`, MON
as `mobilityOptimizedNetworking` or the older `proximityRouting`. Timestamps arrive as epoch
milliseconds (0 = unset) or ISO strings and become aware UTC datetimes or None. States HCX does not
document are kept as strings, and anything unknown counts as "not finished yet".

Migrations (requests, results, query items) live in `shared.hcx.migrations`. This module depends on
pydantic only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, AliasPath, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "NE_NETWORKS_PER_APPLIANCE",
    "Appliance",
    "CloudConfig",
    "CloudEndpoint",
    "Container",
    "Datastore",
    "EpochMs",
    "HcxModel",
    "InterconnectTask",
    "InventoryNetwork",
    "InventoryVm",
    "Job",
    "L2Extension",
    "ResourceContainer",
    "ServiceMesh",
    "SiteRef",
    "extension_request",
    "normalise_url",
    "to_datetime",
]

# One Network Extension appliance carries up to 8 networks (hcx-api.md §8).
NE_NETWORKS_PER_APPLIANCE = 8


def to_datetime(value: Any) -> datetime | None:
    """Epoch milliseconds (0/None = unset) or an ISO 8601 string, as an aware UTC datetime."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return to_datetime(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None  # a format we do not know is "unknown", not an error
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


EpochMs = Annotated[datetime | None, BeforeValidator(to_datetime)]


def normalise_url(url: str | None) -> str:
    """A URL as HCX pairings compare it: no trailing slash, lower-case scheme and host."""
    if not url:
        return ""
    text = url.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text.lower()
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


class HcxModel(BaseModel):
    # Real managers add fields between versions; a client that refused them would break on upgrade.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel, frozen=True)


def _text(value: Any) -> str | None:
    # An error field may be a string or an object with a message; anything else is no text.
    if isinstance(value, dict):
        value = value.get("message") or value.get("text")
    return str(value) if isinstance(value, str | int | float) and str(value).strip() else None


def _names(value: Any) -> Any:
    # Services arrive as [{"name": "BULK_MIGRATION"}] or as plain strings.
    if isinstance(value, list):
        return [v.get("name") if isinstance(v, dict) else v for v in value if v]
    return value


class Job(HcxModel):
    """`GET /hybridity/api/jobs/{id}`: pairing, extension and network-profile jobs."""

    job_id: str
    is_done: bool = False
    did_fail: bool = False
    is_cancelled: bool = False
    is_queued: bool = False
    percent_complete: float | None = None
    create_time_epoch: EpochMs = None
    start_time: EpochMs = None
    end_time: EpochMs = None
    username: str | None = None
    # inferred: hcx-api.md §3.1 — jobType and jobData are probably present; pairing jobs carry
    # jobData.endpoint once the pairing exists.
    job_type: str | None = None
    job_data: dict[str, Any] = Field(default_factory=dict)
    # inferred: failed jobs' text is undocumented; accept the names other HCX bodies use.
    error_message: Annotated[str | None, BeforeValidator(_text)] = Field(
        default=None, validation_alias=AliasChoices("errorMessage", "message", "error")
    )

    @property
    def finished(self) -> bool:
        return self.is_done or self.did_fail or self.is_cancelled

    @property
    def succeeded(self) -> bool:
        return self.is_done and not self.did_fail and not self.is_cancelled

    @property
    def endpoint_id(self) -> str | None:
        endpoint = self.job_data.get("endpoint")
        if isinstance(endpoint, dict):
            value = endpoint.get("endpointId")
            return str(value) if value else None
        return str(endpoint) if endpoint else None


class InterconnectTask(HcxModel):
    """`GET /hybridity/api/interconnect/tasks/{id}`: service mesh and compute profile tasks."""

    interconnect_task_id: str
    status: str = ""
    progress: float | None = None
    message: Annotated[str | None, BeforeValidator(_text)] = None
    error_message: Annotated[str | None, BeforeValidator(_text)] = None
    type: str | None = None
    entity_details: dict[str, Any] = Field(default_factory=dict)
    start_time: EpochMs = None
    end_time: EpochMs = None
    steps: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        # Only SUCCESS and FAILED are documented (hcx-api.md §3.2); other states count as running.
        return self.status.upper() in ("SUCCESS", "FAILED", "CANCELLED", "CANCELED")

    @property
    def succeeded(self) -> bool:
        return self.status.upper() == "SUCCESS"

    @property
    def failure_message(self) -> str | None:
        if self.error_message:
            return self.error_message
        for step in self.steps:
            for error in step.get("errors") or []:
                if isinstance(error, dict) and error.get("message"):
                    return str(error["message"])
        return self.message if self.status.upper() == "FAILED" else None


class CloudConfig(HcxModel):
    """A site pairing (`GET /hybridity/api/cloudConfigs`)."""

    endpoint_id: str
    url: str = ""
    cloud_type: str | None = None
    username: str | None = None
    cloud_name: str | None = None
    version: str | None = None
    build_number: str | None = None

    def matches(self, url: str) -> bool:
        """Whether this pairing points at `url` (compared without trailing slash, host case-blind)."""
        return normalise_url(self.url) == normalise_url(url)


class ServiceMesh(HcxModel):
    """A service mesh (`GET /hybridity/api/interconnect/serviceMesh`)."""

    service_mesh_id: str
    name: str = ""
    # COMMITTED and UPDATE_FAILED are seen; others (DEPLOYING, FAILED) are inferred: hcx-api.md §5.1.
    state: str | None = None
    is_local_mesh: bool = False
    services: Annotated[list[str], BeforeValidator(_names)] = Field(default_factory=list)
    compute_profiles: list[dict[str, Any]] = Field(default_factory=list)
    switch_pair_count: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def endpoint_ids(self) -> set[str]:
        return {str(p["endpointId"]) for p in self.compute_profiles if p.get("endpointId")}

    @property
    def healthy(self) -> bool:
        return self.state is None or self.state.upper() == "COMMITTED"

    def missing_services(self, required: set[str]) -> set[str]:
        return required - {s.upper() for s in self.services}


class Appliance(HcxModel):
    """An interconnect appliance (IX, NE, WO...) from the appliances list or query."""

    appliance_id: str
    appliance_name: str | None = None
    appliance_type: str | None = None
    service_mesh_id: str | None = None
    endpoint_id: str | None = None
    network_extension_count: int = 0
    version: str | None = Field(default=None, validation_alias=AliasChoices("version", "applianceVersion"))
    overall_status: str | None = Field(
        default=None, validation_alias=AliasPath("status", "summary", "overallStatus")
    )

    @property
    def is_network_extension(self) -> bool:
        return (self.appliance_type or "").upper() == "HCX-NET-EXT"

    @property
    def free_extension_slots(self) -> int:
        return max(0, NE_NETWORKS_PER_APPLIANCE - self.network_extension_count)


class L2Extension(HcxModel):
    """A network extension (`GET /hybridity/api/l2Extensions`)."""

    stretch_id: str
    gateway: str | None = None
    netmask: str | None = None
    # inferred: states are not enumerated (hcx-api.md §6.1); the job says when it is done.
    state: str | None = Field(default=None, validation_alias=AliasPath("operationStatus", "state"))
    features: dict[str, Any] = Field(default_factory=dict)
    source_network: dict[str, Any] = Field(default_factory=dict)
    destination_network: dict[str, Any] = Field(default_factory=dict)
    source_appliance: dict[str, Any] = Field(default_factory=dict)
    destination: dict[str, Any] = Field(default_factory=dict)
    # Some scripts read networkName at the top level (hcx-api.md §6.1); accept it as a fallback.
    network_name: str | None = None
    creation_date: EpochMs = None

    @property
    def source_network_name(self) -> str | None:
        return self.source_network.get("networkName") or self.network_name

    @property
    def source_network_id(self) -> str | None:
        return self.source_network.get("networkId")

    @property
    def destination_gateway(self) -> str | None:
        return self.destination_network.get("gatewayId")

    @property
    def mon(self) -> bool:
        # 4.x names MON mobilityOptimizedNetworking; older managers called it proximityRouting.
        return bool(self.features.get("mobilityOptimizedNetworking") or self.features.get("proximityRouting"))

    @property
    def failed(self) -> bool:
        return "FAIL" in (self.state or "").upper()


class ResourceContainer(HcxModel):
    """A vCenter known to the manager (`service/inventory/resourcecontainer/list`), either shape."""

    endpoint_id: str | None = None
    endpoint_name: str | None = None
    endpoint_type: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    name: str | None = None
    url: str | None = None
    vcuuid: str | None = None
    version: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_endpoint(cls, value: Any) -> Any:
        # PS-Lam reads endpoint{name, endpointId}; PY-OSAM reads flat endpointId/endpointName.
        if isinstance(value, dict) and isinstance(value.get("endpoint"), dict):
            endpoint = value["endpoint"]
            value = dict(value)
            value.setdefault("endpointId", endpoint.get("endpointId"))
            value.setdefault("endpointName", endpoint.get("name") or endpoint.get("endpointName"))
        return value


class CloudEndpoint(HcxModel):
    """A local or remote cloud (`service/inventory/cloud/list`)."""

    endpoint_id: str
    name: str | None = None
    url: str | None = None
    endpoint_type: str | None = None


class InventoryNetwork(HcxModel):
    """A network (source port group or destination segment) from `service/inventory/networks`."""

    id: str = Field(validation_alias=AliasChoices("id", "entity_id", "entityId", "networkId", "value"))
    name: str = Field(default="", validation_alias=AliasChoices("name", "displayName", "networkName"))
    entity_type: str | None = Field(default=None, validation_alias=AliasChoices("entityType", "type"))


def _folder_name(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def _network_names(value: Any) -> Any:
    if isinstance(value, list):
        return [v.get("name") or v.get("displayName") if isinstance(v, dict) else v for v in value]
    return value


class InventoryVm(HcxModel):
    """A VM from `service/inventory/virtualmachines`.

    inferred: hcx-api.md has no example VM item; the field names follow the v2 migration `entity` and
    `summary` (§7.1), and every alias seen in public clients is accepted.
    """

    id: str = Field(validation_alias=AliasChoices("entityId", "id", "entity_id", "vmId"))
    name: str = Field(validation_alias=AliasChoices("name", "entityName", "displayName"))
    power_state: str | None = Field(
        default=None, validation_alias=AliasChoices("powerState", AliasPath("summary", "powerState"))
    )
    folder: Annotated[str | None, BeforeValidator(_folder_name)] = None
    networks: Annotated[list[str], BeforeValidator(_network_names)] = Field(
        default_factory=list, validation_alias=AliasChoices("network", "networks")
    )
    summary: dict[str, Any] = Field(default_factory=dict)
    hardware_version: str | None = None
    snapshot_count: int | None = None
    iso_mounted: bool | None = None

    @property
    def powered_on(self) -> bool:
        return (self.power_state or "").lower() in ("poweredon", "on", "powered_on")

    @property
    def disk_bytes(self) -> int:
        return int(self.summary.get("diskSize") or 0)

    @property
    def used_bytes(self) -> int:
        return int(self.summary.get("usedSpace") or self.disk_bytes)


class Datastore(HcxModel):
    """A datastore from `service/inventory/datastores`."""

    id: str = Field(validation_alias=AliasChoices("id", "entityId", "entity_id", "datastoreId"))
    name: str = ""
    capacity_bytes: int | None = Field(
        default=None, validation_alias=AliasChoices("capacity", AliasPath("summary", "capacity"))
    )
    free_bytes: int | None = Field(
        default=None, validation_alias=AliasChoices("freeSpace", AliasPath("summary", "freeSpace"))
    )


class Container(HcxModel):
    """A placement container (cluster, resource pool, folder, datacenter) from `inventory/containers`."""

    id: str = Field(validation_alias=AliasChoices("id", "entityId", "entity_id"))
    name: str = ""
    type: str | None = Field(default=None, validation_alias=AliasChoices("entityType", "type"))


# --- request bodies ------------------------------------------------------------------------------


class SiteRef(BaseModel):
    """One site in a request: an HCX endpoint and its vCenter, as resourcecontainer/list shows them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_id: str
    endpoint_name: str = ""
    resource_id: str
    resource_name: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "endpointId": self.endpoint_id,
            "endpointName": self.endpoint_name,
            "endpointType": "VC",
            "resourceId": self.resource_id,
            "resourceName": self.resource_name,
            "resourceType": "VC",
            "computeResourceId": self.resource_id,
        }

    @classmethod
    def of(cls, container: ResourceContainer) -> SiteRef:
        if not container.endpoint_id or not container.resource_id:
            raise ValueError("the resource container lacks an endpoint id or a resource id")
        return cls(
            endpoint_id=container.endpoint_id,
            endpoint_name=container.endpoint_name or "",
            resource_id=container.resource_id,
            resource_name=container.resource_name or container.name or "",
        )


def extension_request(
    *,
    vc_guid: str,
    network: InventoryNetwork,
    gateway: str,
    netmask: str,
    destination: SiteRef,
    destination_gateway: str,
    appliance_id: str,
    mon: bool,
    egress_optimization: bool = False,
) -> dict[str, Any]:
    """The 4.x bare-object body of `POST /hybridity/api/l2Extensions` (hcx-api.md §6.2)."""
    return {
        "vcGuid": vc_guid,
        "gateway": gateway,
        "netmask": netmask,
        "dns": [],
        "destination": {k: v for k, v in destination.to_wire().items() if k != "computeResourceId"},
        "destinationNetwork": {"gatewayId": destination_gateway},
        "features": {"egressOptimization": egress_optimization, "mobilityOptimizedNetworking": mon},
        "sourceAppliance": {"applianceId": appliance_id},
        "sourceNetwork": {
            "networkId": network.id,
            "networkName": network.name,
            "networkType": network.entity_type or "DistributedVirtualPortgroup",
        },
    }
