"""Preflight and resolution: the plan checked against both HCX inventories, and resolved to HCX ids.

Pure functions over what the HCX client read (no I/O here; `activities/hcx.py` does the reading):

* `inventory_findings(plan, source, destination, gateways)`: every VM exists exactly once at the
  source (via `plan.assign_vms`) and its name is free at the destination; the networks the plan names
  exist; every network a VM uses is extended or mapped; the placements exist; the destination
  datastores hold the VMs' provisioned disks; the extensions' Tier-1 gateways exist.
* `usable_meshes(plan, meshes, appliances, ...)`: the service meshes between the two sites that are
  committed and offer the services the plan's migration types need (RAV also needs Bulk and vMotion),
  with their interconnect appliance counts; findings when none qualifies.
* `ne_capacity(plan, extensions, appliances, mesh_ids)`: free Network Extension slots (8 per
  appliance) against the extensions still to create.
* `resolve_waves(plan, assignment, source, destination, segments)`: the per-wave placement, network
  targets and VMs of the `PreparedContext`.

An extended network maps to its L2E segment at the destination; a mapping to a declared destination
network maps to that segment; a VM on a network that is neither gets NETWORK_MAPPING_MISSING (HCX would
refuse its migration). Placement defaults, when the plan sets none: the destination's first cluster,
its vSAN datastore (else the one with the most free space), and per VM the destination folder named
like its source folder. This module depends on `shared.plan`, `shared.hcx` models, `shared.findings`
and `shared.prepared`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shared.findings import Finding, finding
from shared.hcx.migrations import NetworkTarget, PlacementRef
from shared.hcx.models import (
    Appliance,
    Container,
    Datastore,
    InventoryNetwork,
    InventoryVm,
    L2Extension,
    ServiceMesh,
    SiteRef,
)
from shared.plan import Assignment, MigrationPlan, VmRef
from shared.prepared import MeshRef, PreparedVm, PreparedWave

__all__ = [
    "GIB",
    "SiteInventory",
    "inventory_findings",
    "migration_services",
    "ne_capacity",
    "resolve_waves",
    "usable_meshes",
]

GIB = 2**30
_SEGMENT_TYPES = ("NsxtSegment", "OpaqueNetwork")
_COMPUTE = {"cluster": "ClusterComputeResource", "resource_pool": "ResourcePool"}


@dataclass
class SiteInventory:
    """What one HCX Manager reports about its own site."""

    site: SiteRef
    vms: list[InventoryVm] = field(default_factory=list)
    networks: list[InventoryNetwork] = field(default_factory=list)
    datastores: list[Datastore] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    _vms_by_name: dict[str, InventoryVm] = field(default_factory=dict, init=False, repr=False, compare=False)

    def network(self, name: str) -> InventoryNetwork | None:
        return next((n for n in self.networks if n.name == name), None)

    def vm(self, name: str) -> InventoryVm | None:
        # Looked up once per planned VM: index by name on first use (thousands of VMs, O(n) each).
        if len(self._vms_by_name) != len(self.vms):
            self._vms_by_name = {}
            for v in self.vms:
                self._vms_by_name.setdefault(v.name, v)
        return self._vms_by_name.get(name)

    def container(self, name: str, kind: str) -> Container | None:
        return next((c for c in self.containers if c.name == name and (c.type or "") == kind), None)

    def first(self, kind: str) -> Container | None:
        return next((c for c in self.containers if (c.type or "") == kind), None)

    def datastore(self, name: str) -> Datastore | None:
        return next((d for d in self.datastores if d.name == name), None)

    def default_datastore(self) -> Datastore | None:
        vsan = next((d for d in self.datastores if d.name.lower().startswith("vsan")), None)
        if vsan is not None:
            return vsan
        return max(self.datastores, key=lambda d: d.free_bytes or 0, default=None)


def migration_services(plan: MigrationPlan) -> set[str]:
    """The mesh services every migration of the plan needs (Network Extension is checked apart)."""
    return plan.required_services() - {"NETWORK_EXTENSION"}


# --- preflight -------------------------------------------------------------------------------------


def _placement_findings(
    plan: MigrationPlan, destination: SiteInventory
) -> tuple[list[Finding], dict[int, Datastore | None]]:
    """PLACEMENT_NOT_FOUND per wave field that names a missing object; each wave's datastore."""
    findings: list[Finding] = []
    datastores: dict[int, Datastore | None] = {}
    reported: set[tuple[str, str]] = set()
    for index, wave in enumerate(plan.waves):
        placement = plan.effective(index).migration.placement
        own = wave.migration.placement if wave.migration and wave.migration.placement else None
        base = f"/waves/{index}/migration/placement" if own is not None else "/migration/placement"
        for key, kind in (*_COMPUTE.items(), ("folder", "Folder")):
            name = getattr(placement, key)
            if name is None or destination.container(name, kind) is not None:
                continue
            if (key, name) not in reported:
                reported.add((key, name))
                findings.append(
                    finding(
                        "PLACEMENT_NOT_FOUND",
                        f"the destination has no {key.replace('_', ' ')} named {name!r}",
                        resource=f"{base}/{key}",
                    )
                )
        if placement.datastore is not None:
            store = destination.datastore(placement.datastore)
            if store is None and ("datastore", placement.datastore) not in reported:
                reported.add(("datastore", placement.datastore))
                findings.append(
                    finding(
                        "PLACEMENT_NOT_FOUND",
                        f"the destination has no datastore named {placement.datastore!r}",
                        resource=f"{base}/datastore",
                    )
                )
            datastores[index] = store
        else:
            datastores[index] = destination.default_datastore()
    return findings, datastores


def _network_findings(
    plan: MigrationPlan, assignment: Assignment, source: SiteInventory, destination: SiteInventory
) -> list[Finding]:
    findings: list[Finding] = []
    for e, ext in enumerate(plan.network_extensions):
        if source.network(ext.source_network) is None:
            findings.append(
                finding(
                    "SOURCE_NETWORK_MISSING",
                    f"the source has no network {ext.source_network!r} to extend",
                    resource=f"/network_extensions/{e}/source_network",
                )
            )
    for d, name in enumerate(plan.destination_networks):
        if destination.network(name) is None:
            findings.append(
                finding(
                    "DESTINATION_NETWORK_MISSING",
                    f"the destination has no network {name!r}",
                    resource=f"/destination_networks/{d}",
                )
            )
    for index, wave in enumerate(plan.waves):
        unmapped: dict[str, list[str]] = defaultdict(list)
        mapped: dict[str, bool] = {}
        for name in assignment.waves.get(wave.name, []):
            vm = source.vm(name)
            for network in vm.networks if vm is not None else []:
                if network not in mapped:
                    mapped[network] = plan.mapping_for(index, network) is not None
                if not mapped[network]:
                    unmapped[network].append(name)
        for network, vms in sorted(unmapped.items()):
            shown = ", ".join(vms[:5]) + (f" and {len(vms) - 5} more" if len(vms) > 5 else "")
            findings.append(
                finding(
                    "NETWORK_MAPPING_MISSING",
                    f"{len(vms)} VM(s) of wave {wave.name!r} use network {network!r}, which is neither "
                    f"extended nor mapped ({shown})",
                    resource=f"/waves/{index}",
                    details={"network": network, "vms": len(vms)},
                )
            )
    return findings


def inventory_findings(
    plan: MigrationPlan,
    source: SiteInventory,
    destination: SiteInventory,
    gateways: Sequence[str] | None = None,
) -> tuple[list[Finding], Assignment]:
    """Everything preflight finds by reading both inventories (see the module docstring)."""
    assignment = plan.assign_vms(VmRef(vm.name, vm.folder) for vm in source.vms)
    findings = list(assignment.findings)
    taken = {vm.name for vm in destination.vms}
    for wave in plan.waves:
        for name in assignment.waves.get(wave.name, []):
            if name in taken:
                findings.append(
                    finding(
                        "VM_NAME_TAKEN_AT_DESTINATION",
                        f"VM {name!r} of wave {wave.name!r}: a VM with this name already exists at the "
                        "destination",
                        resource=name,
                    )
                )
    findings += _network_findings(plan, assignment, source, destination)
    placement, datastores = _placement_findings(plan, destination)
    findings += placement
    needed: dict[str, int] = defaultdict(int)
    by_id: dict[str, Datastore] = {}
    for index, wave in enumerate(plan.waves):
        store = datastores.get(index)
        if store is None:
            continue
        by_id[store.id] = store
        for name in assignment.waves.get(wave.name, []):
            vm = source.vm(name)
            needed[store.id] += vm.disk_bytes if vm is not None else 0
    for store_id, need in sorted(needed.items()):
        store = by_id[store_id]
        free = store.free_bytes
        if free is not None and need > free:
            findings.append(
                finding(
                    "DATASTORE_CAPACITY",
                    f"datastore {store.name!r} has {free / GIB:,.0f} GiB free; the VMs placed on it need "
                    f"{need / GIB:,.0f} GiB (provisioned)",
                    resource=store.name,
                    details={"free_bytes": free, "needed_bytes": need},
                )
            )
    if gateways is not None:
        known = {g.lower() for g in gateways}
        for e, ext in enumerate(plan.network_extensions):
            if ext.destination_gateway.lower() not in known:
                findings.append(
                    finding(
                        "DESTINATION_GATEWAY_MISSING",
                        f"the destination has no Tier-1 gateway {ext.destination_gateway!r} "
                        f"(it has {', '.join(sorted(gateways)) or 'none'})",
                        resource=f"/network_extensions/{e}/destination_gateway",
                    )
                )
    return findings, assignment


# --- service mesh and Network Extension capacity ---------------------------------------------------


def usable_meshes(
    plan: MigrationPlan,
    meshes: Sequence[ServiceMesh],
    appliances: Sequence[Appliance],
    source_endpoint: str,
    destination_endpoint: str,
) -> tuple[list[MeshRef], list[Finding]]:
    """Meshes that pair the two sites, are committed and offer the plan's migration services."""
    pairs = [
        m
        for m in meshes
        # Lenient: a mesh that lists no compute profiles is not ruled out by them.
        if not m.endpoint_ids or {source_endpoint, destination_endpoint} <= m.endpoint_ids
    ]
    wanted = plan.hcx.service_mesh
    if wanted != "auto":
        pairs = [m for m in pairs if m.name == wanted]
        if not pairs:
            return [], [
                finding(
                    "SERVICE_MESH_MISSING",
                    f"no service mesh named {wanted!r} pairs the two sites",
                    resource="/hcx/service_mesh",
                )
            ]
    if not pairs:
        return [], [finding("SERVICE_MESH_MISSING", "no service mesh pairs the two sites", resource="/hcx")]
    services = migration_services(plan)
    usable: list[MeshRef] = []
    findings: list[Finding] = []
    for mesh in pairs:
        missing = mesh.missing_services(services)
        if not mesh.healthy:
            findings.append(
                finding(
                    "SERVICE_MESH_MISSING",
                    f"service mesh {mesh.name!r} is {mesh.state}, not COMMITTED",
                    resource=mesh.service_mesh_id,
                    severity="warning",
                )
            )
            continue
        if missing:
            findings.append(
                finding(
                    "SERVICE_MESH_SERVICES_MISSING",
                    f"service mesh {mesh.name!r} lacks {', '.join(sorted(missing))}, which the plan's "
                    f"migration types need",
                    resource=mesh.service_mesh_id,
                    details={"missing": ", ".join(sorted(missing))},
                )
            )
            continue
        ix = sum(
            1
            for a in appliances
            if a.service_mesh_id == mesh.service_mesh_id and "IX" in (a.appliance_type or "").upper()
        )
        usable.append(
            MeshRef(
                service_mesh_id=mesh.service_mesh_id,
                name=mesh.name,
                services=sorted(s.upper() for s in mesh.services),
                ix_count=max(1, ix),
            )
        )
    if usable and plan.network_extensions and not any("NETWORK_EXTENSION" in m.services for m in usable):
        usable_names = ", ".join(m.name for m in usable)
        return usable, [
            finding(
                "SERVICE_MESH_SERVICES_MISSING",
                f"no usable service mesh ({usable_names}) offers NETWORK_EXTENSION, which the plan's "
                "network extensions need",
                resource="/network_extensions",
                details={"missing": "NETWORK_EXTENSION"},
            )
        ]
    if usable:
        # Meshes left out are worth a word, but do not block: the usable ones carry the plan.
        return usable, [f.model_copy(update={"severity": "warning"}) for f in findings]
    return [], [f.model_copy(update={"severity": "error"}) for f in findings]


def ne_capacity(
    plan: MigrationPlan,
    extensions: Iterable[L2Extension],
    appliances: Sequence[Appliance],
    mesh_ids: set[str] | None = None,
) -> list[Finding]:
    """NE_CAPACITY when the plan's missing extensions outnumber the free NE slots (8 per appliance)."""
    live = {e.source_network_name for e in extensions if not e.failed}
    missing = [e for e in plan.network_extensions if e.source_network not in live]
    if not missing:
        return []
    ne = [
        a
        for a in appliances
        if a.is_network_extension and (mesh_ids is None or a.service_mesh_id in mesh_ids)
    ]
    free = sum(a.free_extension_slots for a in ne)
    if free >= len(missing):
        return []
    return [
        finding(
            "NE_CAPACITY",
            f"{len(missing)} network(s) still to extend, but the Network Extension appliances "
            f"({len(ne)}) have {free} free slot(s)",
            resource="/network_extensions",
            details={"needed": len(missing), "free": free, "appliances": len(ne)},
        )
    ]


# --- resolution into the prepared context ----------------------------------------------------------


def _ref(container: Container | None) -> PlacementRef | None:
    if container is None:
        return None
    return PlacementRef(id=container.id, name=container.name, type=container.type or "")


def resolve_waves(
    plan: MigrationPlan,
    assignment: Assignment,
    source: SiteInventory,
    destination: SiteInventory,
    segments: dict[str, InventoryNetwork],
) -> tuple[list[PreparedWave], dict[str, PlacementRef]]:
    """Per-wave placement, network targets and VMs; and the destination folders by name.

    `segments` maps an extended source network's name to its L2E segment at the destination.
    Raises ValueError when something preflight should have caught is missing (a defect, not input).
    """
    folders = {
        c.name: PlacementRef(id=c.id, name=c.name, type="Folder")
        for c in destination.containers
        if (c.type or "") == "Folder"
    }
    datacenter = _ref(destination.first("Datacenter"))
    waves: list[PreparedWave] = []
    for index, wave in enumerate(plan.waves):
        settings = plan.effective(index).migration
        placement = settings.placement
        if placement.resource_pool is not None:
            compute = _ref(destination.container(placement.resource_pool, "ResourcePool"))
        elif placement.cluster is not None:
            compute = _ref(destination.container(placement.cluster, "ClusterComputeResource"))
        else:
            compute = _ref(destination.first("ClusterComputeResource") or destination.first("ResourcePool"))
        if compute is None:
            raise ValueError(f"wave {wave.name!r}: no destination compute container")
        store = (
            destination.datastore(placement.datastore)
            if placement.datastore
            else destination.default_datastore()
        )
        folder = _ref(destination.container(placement.folder, "Folder")) if placement.folder else None
        vms: list[PreparedVm] = []
        targets: dict[str, NetworkTarget] = {}
        for name in assignment.waves.get(wave.name, []):
            vm = source.vm(name)
            if vm is None:
                continue
            vms.append(
                PreparedVm(
                    name=vm.name,
                    entity_id=vm.id,
                    disk_bytes=vm.disk_bytes,
                    used_bytes=vm.used_bytes,
                    power_state=vm.power_state,
                    folder=vm.folder,
                    networks=list(vm.networks),
                )
            )
            for network in vm.networks:
                if network not in targets:
                    targets[network] = _target(plan, index, network, source, destination, segments)
        waves.append(
            PreparedWave(
                index=index,
                name=wave.name,
                type=settings.type,
                compute=compute,
                datastore=PlacementRef(id=store.id, name=store.name, type="Datastore") if store else None,
                folder=folder,
                datacenter=datacenter,
                networks=list(targets.values()),
                vms=vms,
            )
        )
    return waves, folders


def _target(
    plan: MigrationPlan,
    wave: int,
    network: str,
    source: SiteInventory,
    destination: SiteInventory,
    segments: dict[str, InventoryNetwork],
) -> NetworkTarget:
    mapping = plan.mapping_for(wave, network)
    if mapping is None:
        raise ValueError(f"network {network!r} of wave #{wave} is not mapped")
    origin = source.network(network)
    if origin is None:
        raise ValueError(f"the source has no network {network!r}")
    if plan.extension(mapping.destination) is not None:
        target = segments.get(mapping.destination)
        if target is None:
            raise ValueError(f"extended network {mapping.destination!r} has no segment at the destination")
    else:
        found = destination.network(mapping.destination)
        if found is None:
            raise ValueError(f"the destination has no network {mapping.destination!r}")
        target = found
    return NetworkTarget(
        source_id=origin.id,
        source_name=origin.name,
        source_type=origin.entity_type or "DistributedVirtualPortgroup",
        destination_id=target.id,
        destination_name=target.name,
        destination_type=target.entity_type if target.entity_type in _SEGMENT_TYPES else "NsxtSegment",
    )
