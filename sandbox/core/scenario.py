"""The sandbox's scenario file: one world of two AVS private clouds, read from YAML or JSON.

A scenario fixes everything the simulators start from (clouds, HCX, connectivity, inventory, meshes)
and everything that goes wrong on purpose (faults). The same scenario and seed always produce the same
world and the same sequence of events on a virtual clock.

Validation errors name the field by its dotted path (`source.vms[3].disk_gb: ...`) so a person can
fix the file without reading this module. This module depends on pydantic and PyYAML only.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "CloudSpec",
    "ConnectivitySpec",
    "DatastoreSpec",
    "ExtensionFailure",
    "FaultSpec",
    "HcxOutage",
    "HcxSpec",
    "NetworkSpec",
    "Scenario",
    "ScenarioError",
    "SegmentSpec",
    "ServiceMeshSpec",
    "VmFailure",
    "VmGenerator",
    "VmSpec",
    "load_scenario",
    "parse_scenario",
]

HCX_SERVICES = (
    "INTERCONNECT",
    "WANOPT",
    "VMOTION",
    "BULK_MIGRATION",
    "RAV",
    "NETWORK_EXTENSION",
    "DISASTER_RECOVERY",
)
MigrationPhase = Literal["validate", "start", "transfer", "switchover"]


class _Spec(BaseModel):
    # A typo in a scenario must fail loudly instead of silently meaning "default".
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkSpec(_Spec):
    """A vSphere port group at a cloud: what HCX Network Extension reads as a source network."""

    name: str
    vlan: Annotated[int, Field(ge=0, le=4094)] = 0
    # The gateway in CIDR form, e.g. 10.1.100.1/24.
    gateway_cidr: str | None = None
    # Source-network restrictions of HCX NE (hcx-api.md §8): these kinds are refused for extension.
    kind: Literal["dvpg", "vss", "vmkernel", "ephemeral", "pvlan"] = "dvpg"

    @field_validator("gateway_cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_interface(value)
        return value


class SegmentSpec(_Spec):
    """An NSX segment that already exists at a cloud (AVS `workloadNetworks/default/segments`)."""

    name: str
    gateway_cidr: str
    connected_gateway: str | None = None  # T1 name; None = disconnected (as an L2E target is)


class DatastoreSpec(_Spec):
    name: str
    capacity_gb: Annotated[float, Field(gt=0)]
    free_gb: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _free_within_capacity(self) -> DatastoreSpec:
        if self.free_gb > self.capacity_gb:
            raise ValueError("free_gb cannot exceed capacity_gb")
        return self


class ClusterSpec(_Spec):
    name: str = "Cluster-1"
    hosts: Annotated[int, Field(ge=3, le=16)] = 3
    sku: str = "AV36P"


class VmSpec(_Spec):
    name: str
    cpus: Annotated[int, Field(ge=1)] = 2
    memory_mb: Annotated[int, Field(ge=128)] = 4096
    # Provisioned and used disk: transfers move used bytes, the datastore check counts provisioned.
    disk_gb: Annotated[float, Field(gt=0)] = 40
    used_gb: Annotated[float, Field(ge=0)] | None = None  # None = 60 % of disk_gb
    power_state: Literal["on", "off"] = "on"
    networks: list[str] = Field(default_factory=list)
    folder: str = "Workloads"
    app: str | None = None  # application group the planner keeps together
    guest_os: str = "ubuntu64Guest"
    hardware_version: Annotated[int, Field(ge=4)] = 19
    snapshots: Annotated[int, Field(ge=0)] = 0
    iso_mounted: bool = False
    cbt_enabled: bool = False
    # Data written per hour; Bulk/RAV delta syncs move it every 2 h until switchover.
    churn_gb_per_hour: Annotated[float, Field(ge=0)] = 0.5

    @property
    def used(self) -> float:
        return self.used_gb if self.used_gb is not None else round(self.disk_gb * 0.6, 3)


class VmGenerator(_Spec):
    """Many similar VMs, expanded deterministically from the scenario seed."""

    count: Annotated[int, Field(ge=1, le=20000)]
    name_prefix: str = "vm"
    start_index: Annotated[int, Field(ge=0)] = 1
    disk_gb: tuple[float, float] = (20, 200)
    used_ratio: tuple[float, float] = (0.3, 0.8)
    networks: list[str] = Field(default_factory=list)  # assigned round-robin
    folders: list[str] = Field(default_factory=lambda: ["Workloads"])
    apps: list[str] = Field(default_factory=list)  # assigned round-robin
    powered_off_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0
    snapshot_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0
    iso_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0
    churn_gb_per_hour: tuple[float, float] = (0.1, 2.0)


class HcxSpec(_Spec):
    # none = add-on not installed; advanced lacks RAV and MON; enterprise has everything.
    addon: Literal["none", "advanced", "enterprise"] = "enterprise"
    version: str = "4.10.2"
    build: str = "24404455"
    # self-signed: the manager's certificate is not signed by the sandbox CA, so site pairing must go
    # through the certificate-trust step. sandbox-ca: signed by the CA the clients already trust.
    certificate: Literal["self-signed", "sandbox-ca"] = "self-signed"


class CloudSpec(_Spec):
    name: str
    resource_group: str
    region: str
    generation: Literal[1, 2] = 1
    sku: str = "AV36P"
    network_block: str = "10.0.0.0/22"
    provisioning_state: Literal["Succeeded", "Failed", "Updating", "Building"] = "Succeeded"
    hcx: HcxSpec = Field(default_factory=HcxSpec)
    clusters: list[ClusterSpec] = Field(default_factory=lambda: [ClusterSpec()])
    datastores: list[DatastoreSpec] = Field(
        default_factory=lambda: [DatastoreSpec(name="vsanDatastore", capacity_gb=40000, free_gb=30000)]
    )
    gateways: list[str] = Field(default_factory=lambda: ["TNT-T1"])  # NSX Tier-1 names
    segments: list[SegmentSpec] = Field(default_factory=list)
    networks: list[NetworkSpec] = Field(default_factory=list)  # vSphere port groups
    folders: list[str] = Field(default_factory=lambda: ["Workloads"])
    resource_pools: list[str] = Field(default_factory=lambda: ["Compute-ResourcePool"])
    vms: list[VmSpec] = Field(default_factory=list)
    vm_generators: list[VmGenerator] = Field(default_factory=list)

    @field_validator("network_block")
    @classmethod
    def _block(cls, value: str) -> str:
        # AVS takes exactly a /22 and carves management, vMotion, HCX and circuit ranges from it.
        block = ipaddress.ip_network(value)
        if block.version != 4 or block.prefixlen != 22:
            raise ValueError("a private cloud's network block must be an IPv4 /22, e.g. 10.0.0.0/22")
        return value


class ConnectivitySpec(_Spec):
    # Interconnect (cloudLinks) is the same-region tool, Global Reach the cross-region one; both are
    # Gen 1 tools. A Gen 2 cloud connects through its VNet (peering or an ExpressRoute gateway
    # connection), a Microsoft.Network operation outside the AVS API, so the scenario states it.
    interconnect: bool = False
    global_reach: Literal["none", "connecting", "connected"] = "none"
    vnet_peering: bool = False
    link_gbps: Annotated[float, Field(gt=0)] = 10.0
    # Share of the link's nominal capacity migration traffic really gets (anchors.md §5: 0.6-0.8).
    efficiency: Annotated[float, Field(gt=0, le=1)] = 0.8


class ServiceMeshSpec(_Spec):
    name: str
    services: list[str] = Field(
        default_factory=lambda: ["INTERCONNECT", "BULK_MIGRATION", "VMOTION", "RAV", "NETWORK_EXTENSION"]
    )
    ix_appliances: Annotated[int, Field(ge=1, le=8)] = 1
    ne_appliances: Annotated[int, Field(ge=0, le=16)] = 1
    state: Literal["COMMITTED", "UPDATE_FAILED", "DEPLOYING"] = "COMMITTED"

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(HCX_SERVICES))
        if unknown:
            raise ValueError(f"unknown HCX services {unknown}; known: {list(HCX_SERVICES)}")
        return value


class VmFailure(_Spec):
    """Make a named VM's migration fail at `phase`, `times` times in a row, then behave."""

    vm: str
    phase: MigrationPhase
    times: Annotated[int, Field(ge=1)] = 1
    message: str = "Injected failure"


class HcxOutage(_Spec):
    """An HCX Manager answering 503 for a while, as during a restart or scale-up (about 6 min)."""

    manager: Literal["source", "destination"]
    at_minute: Annotated[float, Field(ge=0)]
    minutes: Annotated[float, Field(gt=0)] = 6


class ExtensionFailure(_Spec):
    network: str
    message: str = "Network Extension appliance reported an error"


class FaultSpec(_Spec):
    hcx_5xx_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    arm_429_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    token_ttl_minutes: Annotated[float, Field(gt=0)] = 30
    vm_failures: list[VmFailure] = Field(default_factory=list)
    hcx_outages: list[HcxOutage] = Field(default_factory=list)
    extension_failures: list[ExtensionFailure] = Field(default_factory=list)
    pairing_delay_minutes: Annotated[float, Field(ge=0)] = 1.0


class Scenario(_Spec):
    name: str
    description: str = ""
    seed: int = 7
    start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # Simulated seconds per wall second when served standalone on an accelerated clock.
    time_compression: Annotated[float, Field(gt=0)] = 60.0
    subscription_id: str = "00000000-0000-4000-8000-000000000001"
    tenant_id: str = "00000000-0000-4000-8000-0000000000aa"
    source: CloudSpec
    destination: CloudSpec
    connectivity: ConnectivitySpec = Field(default_factory=ConnectivitySpec)
    paired: bool = False  # a site pairing already exists from source to destination
    service_meshes: list[ServiceMeshSpec] = Field(default_factory=list)
    faults: FaultSpec = Field(default_factory=FaultSpec)

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if (self.source.resource_group, self.source.name) == (
            self.destination.resource_group,
            self.destination.name,
        ):
            raise ValueError("source and destination must be different private clouds")
        self._check_connectivity()
        for side in ("source", "destination"):
            cloud: CloudSpec = getattr(self, side)
            _unique(f"{side}.networks", [n.name for n in cloud.networks])
            _unique(f"{side}.segments", [s.name for s in cloud.segments])
            _unique(f"{side}.datastores", [d.name for d in cloud.datastores])
            _unique(f"{side}.clusters", [c.name for c in cloud.clusters])
            for i, seg in enumerate(cloud.segments):
                if seg.connected_gateway is not None and seg.connected_gateway not in cloud.gateways:
                    raise ValueError(
                        f"{side}.segments[{i}].connected_gateway: {seg.connected_gateway!r} is not one of "
                        f"{side}.gateways {cloud.gateways}"
                    )
            names = [vm.name for vm in cloud.vms]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{side}.vms: duplicate VM names {duplicates}")
            known = {n.name for n in cloud.networks}
            for i, vm in enumerate(cloud.vms):
                missing = [n for n in vm.networks if n not in known]
                if missing:
                    raise ValueError(f"{side}.vms[{i}].networks: unknown networks {missing}")
            for i, gen in enumerate(cloud.vm_generators):
                missing = [n for n in gen.networks if n not in known]
                if missing:
                    raise ValueError(f"{side}.vm_generators[{i}].networks: unknown networks {missing}")
        _unique("service_meshes", [m.name for m in self.service_meshes])
        source_vms = {vm.name for vm in self.source.vms} | set(_generated_names(self.source))
        for i, failure in enumerate(self.faults.vm_failures):
            if failure.vm not in source_vms:
                raise ValueError(f"faults.vm_failures[{i}].vm: no source VM is named {failure.vm!r}")
        source_networks = {n.name for n in self.source.networks}
        for i, ext in enumerate(self.faults.extension_failures):
            if ext.network not in source_networks:
                raise ValueError(f"faults.extension_failures[{i}].network: no source network {ext.network!r}")
        return self

    def _check_connectivity(self) -> None:
        conn = self.connectivity
        gen1 = self.source.generation == 1 and self.destination.generation == 1
        if conn.interconnect and not gen1:
            raise ValueError(
                "connectivity.interconnect: AVS Interconnect (cloudLinks) links Gen 1 clouds only"
            )
        if conn.interconnect and self.source.region != self.destination.region:
            raise ValueError(
                "connectivity.interconnect: AVS Interconnect links clouds in the same region only "
                f"({self.source.region} vs {self.destination.region}); use global_reach"
            )
        if conn.global_reach != "none" and not gen1:
            raise ValueError(
                "connectivity.global_reach: Global Reach between private clouds needs Gen 1 circuits"
            )
        if conn.vnet_peering and gen1:
            raise ValueError(
                "connectivity.vnet_peering: only a Gen 2 cloud (generation: 2) has a VNet to connect"
            )


def _unique(field: str, names: list[str]) -> None:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{field}: duplicate names {duplicates}")


def _generated_names(cloud: CloudSpec) -> list[str]:
    """The names `vm_generators` expand to; they depend on the counts only, never on the seed."""
    names: list[str] = []
    for gen in cloud.vm_generators:
        width = max(3, len(str(gen.start_index + gen.count - 1)))
        names.extend(f"{gen.name_prefix}-{gen.start_index + i:0{width}d}" for i in range(gen.count))
    return names


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names each bad field."""


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _line(loc: tuple[int | str, ...], msg: str) -> str:
    # Cross-field checks raise at the model level with the dotted field already in the message.
    msg = msg.removeprefix("Value error, ")
    if not loc and ":" in msg.split(" ", 1)[0]:
        return msg
    return f"{_dotted(loc)}: {msg}"


def parse_scenario(data: Any) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [_line(err["loc"], err["msg"]) for err in exc.errors()]
        raise ScenarioError("invalid scenario:\n  " + "\n  ".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(
            f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    return parse_scenario(data)
