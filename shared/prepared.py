"""`PreparedContext`: what the preparation phase found and built, handed to the wave engine.

Preparation (orchestrators/prepare.py) ends by returning one `PreparedContext` as plain JSON
(`model_dump(mode="json")`); the root orchestrator passes it, or one wave's slice of it
(`for_wave(i)`), to each wave sub-orchestrator. It holds everything a v2 migration item needs that
the plan alone cannot say, already resolved to HCX ids against both managers' inventories:

* `source` / `destination`: the clouds (ARM id, region, generation) and their HCX Managers (URL,
  version) — never credentials; every activity fetches those itself.
* `pairing`: the two sites as the SOURCE manager sees them (`SiteRef`s: endpoint and vCenter ids),
  i.e. the `source` and `destination` objects of every migration item.
* `meshes`: the service meshes between the sites that offer every service the plan needs, with
  their interconnect appliance counts (admission: 200 migrations per mesh; spread across them).
* `waves`: per wave, in plan order, the resolved placement (compute container, datastore, folder),
  the network targets (source network -> destination network, with ids; an extended network maps to
  its L2E segment) and the VMs the selection resolved to, with their sizes and power states.
* `extensions`: the network extensions that exist for the plan (stretch id, destination segment).
* `findings`: the warnings preparation raised (errors stop preparation, so none are here).

`migration_spec(plan, wave, vm)` turns one VM of one wave into a `shared.hcx.MigrationSpec`, merging
the plan's effective settings (type, window, options) with the resolved ids, so the wave engine never
re-derives placement or mappings. The model is versioned (`version`) so a running instance's stored
context stays readable after an upgrade that adds fields (new fields get defaults).

This module depends on pydantic, `shared.hcx.models`/`shared.hcx.migrations` (request types only, no
I/O), `shared.findings` and `shared.plan`; it never talks to HCX or ARM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.findings import Finding
from shared.hcx.migrations import MigrationSpec, NetworkTarget, PlacementRef
from shared.hcx.models import SiteRef
from shared.plan import MigrationPlan, MigrationType

__all__ = [
    "CloudSide",
    "ExtensionRef",
    "MeshRef",
    "PreparedContext",
    "PreparedVm",
    "PreparedWave",
    "SitePairingRef",
]


class _Prepared(BaseModel):
    # extra="ignore": a context stored by a newer release must still load in an older one during a
    # rolling upgrade; frozen: the wave engine reads it, never edits it.
    model_config = ConfigDict(extra="ignore", frozen=True)


class CloudSide(_Prepared):
    """One private cloud and its HCX Manager, as preflight read them (no credentials)."""

    cloud_id: str
    name: str
    region: str
    generation: Literal[1, 2] = 1
    hcx_url: str
    hcx_version: str | None = None
    hcx_build: str | None = None
    # Whether the HCX add-on is the Enterprise offer (RAV and MON need it).
    hcx_enterprise: bool = False


class SitePairingRef(_Prepared):
    """The site pairing, as the source HCX Manager sees it: the two sites of every migration item."""

    source: SiteRef
    """The local site (source endpoint and vCenter)."""
    destination: SiteRef
    """The paired remote site (destination endpoint and vCenter)."""
    destination_type: str | None = None
    """The remote endpoint's type as the pairing reports it (e.g. "VC"/"HCX"); informational."""


class MeshRef(_Prepared):
    """A service mesh between the two sites that offers every service the plan needs."""

    service_mesh_id: str
    name: str
    services: list[str] = Field(default_factory=list)
    ix_count: int = 1
    """Interconnect (IX) appliances: each carries about 1.6 Gbps of migration traffic."""


class PreparedVm(_Prepared):
    """One source VM of a wave, resolved against the source inventory."""

    name: str
    entity_id: str
    disk_bytes: int = 0
    """Provisioned disk: what the destination datastore must hold."""
    used_bytes: int = 0
    """Used disk: what a replicated transfer moves (before delta syncs)."""
    power_state: str | None = None
    """As HCX reports it, e.g. "poweredOn" / "poweredOff" (Cold migrates powered-off VMs only)."""
    folder: str | None = None
    """The source VM folder's name (a destination folder of that name is the default target)."""
    networks: list[str] = Field(default_factory=list)
    """Source network names of the VM's NICs, in adapter order."""

    @property
    def powered_on(self) -> bool:
        return (self.power_state or "").lower() in ("poweredon", "on", "powered_on")


class PreparedWave(_Prepared):
    """One wave with its destination placement and network targets resolved to HCX ids."""

    index: int
    name: str
    type: MigrationType
    compute: PlacementRef
    """The destination compute container: a ResourcePool or a ClusterComputeResource."""
    datastore: PlacementRef | None = None
    folder: PlacementRef | None = None
    """The wave's destination folder; None: each VM goes to its source folder's namesake, if any."""
    datacenter: PlacementRef | None = None
    networks: list[NetworkTarget] = Field(default_factory=list)
    """One target per source network any of the wave's VMs uses."""
    vms: list[PreparedVm] = Field(default_factory=list)

    def vm(self, name: str) -> PreparedVm:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise KeyError(f"wave {self.name!r} has no VM named {name!r}")

    def network(self, source_name: str) -> NetworkTarget | None:
        return next((n for n in self.networks if n.source_name == source_name), None)

    @property
    def disk_bytes(self) -> int:
        return sum(vm.disk_bytes for vm in self.vms)

    @property
    def used_bytes(self) -> int:
        return sum(vm.used_bytes for vm in self.vms)


class ExtensionRef(_Prepared):
    """A network extension the plan asked for, as it exists in HCX."""

    source_network: str
    stretch_id: str
    destination_segment: str
    """The L2E segment's name at the destination (what VMs on the network land on)."""
    destination_segment_id: str = ""
    destination_gateway: str
    """The destination Tier-1 the segment connects to at cutover."""
    gateway_cidr: str
    mon: bool = False


class PreparedContext(_Prepared):
    """The preparation phase's result and the wave engine's input (see the module docstring)."""

    version: Literal[1] = 1
    plan_id: str
    digest: str
    prepared_at: datetime
    source: CloudSide
    destination: CloudSide
    pairing: SitePairingRef
    meshes: list[MeshRef] = Field(default_factory=list)
    waves: list[PreparedWave] = Field(default_factory=list)
    extensions: list[ExtensionRef] = Field(default_factory=list)
    destination_folders: dict[str, PlacementRef] = Field(default_factory=dict)
    """Destination VM folders by name, for VMs whose wave names no folder."""
    findings: list[Finding] = Field(default_factory=list)
    """Warnings raised during preparation (errors stop it before a context exists)."""

    def wave(self, wave: str | int) -> PreparedWave:
        """A wave by plan index or name."""
        for candidate in self.waves:
            if candidate.index == wave or candidate.name == wave:
                return candidate
        raise KeyError(f"the prepared context has no wave {wave!r}")

    def for_wave(self, wave: str | int) -> PreparedContext:
        """This context with only one wave: a wave sub-orchestrator's input, kept small."""
        return self.model_copy(update={"waves": [self.wave(wave)]})

    def extension(self, source_network: str) -> ExtensionRef | None:
        return next((e for e in self.extensions if e.source_network == source_network), None)

    def migration_spec(
        self, plan: MigrationPlan, wave: str | int, vm: str, *, service_mesh_id: str | None = None
    ) -> MigrationSpec:
        """The HCX migration of `vm` in `wave`: the plan's effective settings with the resolved ids."""
        prepared = self.wave(wave)
        settings = plan.effective(prepared.index).migration
        entry = prepared.vm(vm)
        folder = prepared.folder or (self.destination_folders.get(entry.folder) if entry.folder else None)
        placement = [ref for ref in (prepared.compute, folder, prepared.datacenter) if ref is not None]
        networks: list[NetworkTarget] = []
        for name in entry.networks:
            target = prepared.network(name)
            if target is not None and target not in networks:
                networks.append(target)
        window = settings.switchover_window
        options = settings.options
        return MigrationSpec(
            type=settings.type,
            vm_id=entry.entity_id,
            vm_name=entry.name,
            source=self.pairing.source,
            destination=self.pairing.destination,
            placement=placement,
            datastore=prepared.datastore,
            disk_provisioning=options.disk_provisioning,
            networks=networks,
            window_start=window.start if window is not None else None,
            window_end=window.end if window is not None else None,
            retain_mac=options.retain_mac,
            remove_snapshots=options.remove_snapshots,
            remove_isos=options.remove_isos,
            force_power_off=options.force_power_off,
            upgrade_hardware=options.upgrade_hardware,
            upgrade_tools=options.upgrade_tools,
            seed_checkpoint=options.seed_checkpoint,
            service_mesh_id=service_mesh_id,
        )
