"""Building blocks of the engine's tests: a small two-cloud scenario, plans for it, and a
`PreparedContext` read from the sandbox through the real HCX client (never hand-written ids).

`prepare(sandbox, plan, clock)` does what the preparation phase does for the wave engine: it reads
both sites (resource containers, meshes, inventory, containers, datastores), extends the plan's
networks through HCX and waits for the jobs on the virtual clock, and resolves every wave's VMs,
placement and network targets. Everything is fresh per call; nothing is shared between tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from azure.mgmt.avs import AVSClient

from runtime.clock import VirtualClock
from sandbox import Sandbox
from sandbox.core.scenario import Scenario, parse_scenario
from sandbox.core.world import Side
from shared.avs import avs_client
from shared.credentials import cloudadmin_credentials
from shared.hcx import HcxClient, NetworkTarget, PlacementRef, SiteRef, extension_request
from shared.plan import MigrationPlan, VmRef, parse_plan
from shared.prepared import (
    CloudSide,
    ExtensionRef,
    MeshRef,
    PreparedContext,
    PreparedVm,
    PreparedWave,
    SitePairingRef,
)
from shared.settings import Settings, load_settings
from tests.fixtures import merge

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

VMS: list[dict[str, Any]] = [
    {"name": "web-01", "disk_gb": 40, "used_gb": 20, "networks": ["web"], "churn_gb_per_hour": 0.2},
    {"name": "web-02", "disk_gb": 40, "used_gb": 24, "networks": ["web"], "churn_gb_per_hour": 0.2},
    {"name": "web-03", "disk_gb": 60, "used_gb": 30, "networks": ["web"], "churn_gb_per_hour": 0.2},
    {"name": "web-04", "disk_gb": 60, "used_gb": 28, "networks": ["web"], "churn_gb_per_hour": 0.2},
    {"name": "app-01", "disk_gb": 80, "used_gb": 40, "networks": ["app"], "churn_gb_per_hour": 0.5},
    {"name": "app-02", "disk_gb": 80, "used_gb": 36, "networks": ["app"], "churn_gb_per_hour": 0.5},
    {"name": "db-01", "disk_gb": 120, "used_gb": 60, "networks": ["db"], "churn_gb_per_hour": 1.0},
    {"name": "db-02", "disk_gb": 120, "used_gb": 64, "networks": ["db"], "churn_gb_per_hour": 1.0},
    {"name": "cold-01", "disk_gb": 40, "used_gb": 16, "networks": ["db"], "power_state": "off"},
    {"name": "cold-02", "disk_gb": 40, "used_gb": 18, "networks": ["db"], "power_state": "off"},
]

BASE: dict[str, Any] = {
    "name": "engine-test",
    "seed": 3,
    "start": START.isoformat(),
    "source": {
        "name": "pc-src",
        "resource_group": "rg-src",
        "region": "westeurope",
        "network_block": "10.100.0.0/22",
        "gateways": ["TNT11-T1"],
        "segments": [
            {"name": "web", "gateway_cidr": "10.1.1.1/24", "connected_gateway": "TNT11-T1"},
            {"name": "app", "gateway_cidr": "10.1.2.1/24", "connected_gateway": "TNT11-T1"},
            {"name": "db", "gateway_cidr": "10.1.3.1/24", "connected_gateway": "TNT11-T1"},
        ],
        "networks": [
            {"name": "web", "vlan": 101, "gateway_cidr": "10.1.1.1/24"},
            {"name": "app", "vlan": 102, "gateway_cidr": "10.1.2.1/24"},
            {"name": "db", "vlan": 103, "gateway_cidr": "10.1.3.1/24"},
        ],
        "datastores": [{"name": "vsanDatastore", "capacity_gb": 40000, "free_gb": 30000}],
        "folders": ["Workloads"],
        "vms": VMS,
    },
    "destination": {
        "name": "pc-dst",
        "resource_group": "rg-dst",
        "region": "westeurope",
        "network_block": "10.110.0.0/22",
        "gateways": ["TNT21-T1"],
        "datastores": [{"name": "vsanDatastore", "capacity_gb": 40000, "free_gb": 36000}],
        "folders": ["Workloads"],
        "resource_pools": ["Compute-ResourcePool"],
    },
    "connectivity": {"interconnect": True, "link_gbps": 10, "efficiency": 0.8},
    "paired": True,
    "service_meshes": [{"name": "mesh-1"}],
}

NETWORKS = {"web": "10.1.1.1/24", "app": "10.1.2.1/24", "db": "10.1.3.1/24"}


def scenario(**overrides: Any) -> Scenario:
    return parse_scenario(merge(BASE, overrides))


def plan_for(sandbox: Sandbox, waves: list[dict[str, Any]], **overrides: Any) -> MigrationPlan:
    """A plan for the sandbox's two clouds that extends every source network (one wave per dict)."""
    data: dict[str, Any] = {
        "id": "engine-test",
        "source": sandbox.cloud_id("source"),
        "destination": sandbox.cloud_id("destination"),
        "hcx": {"trusted_fingerprints": [sandbox.hcx_fingerprint(s) for s in ("source", "destination")]},
        "network_extensions": [
            {"source_network": name, "gateway_cidr": cidr, "destination_gateway": "TNT21-T1"}
            for name, cidr in NETWORKS.items()
        ],
        "migration": {"type": "bulk"},
        "waves": waves,
    }
    data = merge(data, overrides)
    return parse_plan(data)


def settings_for(sandbox: Sandbox) -> Settings:
    return load_settings(sandbox.app_settings())


def arm_for(sandbox: Sandbox) -> AVSClient:
    return avs_client(settings_for(sandbox), sandbox.subscription_id, retry_total=0)


def hcx_for(sandbox: Sandbox, side: Side = "source") -> HcxClient:
    settings = settings_for(sandbox)
    credentials = cloudadmin_credentials(side, sandbox.cloud_id(side), settings, arm_for(sandbox))
    pins = [sandbox.hcx_fingerprint(side)]
    return HcxClient.for_settings(settings, sandbox.hcx_url(side), credentials, pins=pins)


def prepare(sandbox: Sandbox, plan: MigrationPlan, clock: VirtualClock) -> PreparedContext:
    """What preparation hands the wave engine, read from the sandbox with the real HCX client."""
    with hcx_for(sandbox) as hcx:
        local = hcx.resource_containers(local=True)[0]
        remote = hcx.resource_containers(local=False, remote=True)[0]
        source, destination = SiteRef.of(local), SiteRef.of(remote)
        meshes = [
            MeshRef(service_mesh_id=m.service_mesh_id, name=m.name, services=m.services, ix_count=1)
            for m in hcx.list_service_meshes()
        ]
        extensions = _extend(hcx, plan, local, destination, clock)
        networks = _portgroups(hcx, source.endpoint_id)
        remote_networks = {n.name: n for n in hcx.networks(destination.endpoint_id)}
        containers = hcx.containers(destination.endpoint_id)
        pool = next(c for c in containers if c.name == "Compute-ResourcePool")
        folder = next(c for c in containers if c.name == "Workloads")
        datastore = hcx.datastores(destination.endpoint_id)[0]
        inventory = {vm.name: vm for vm in hcx.virtual_machines(source.endpoint_id)}
    assignment = plan.assign_vms(VmRef(vm.name, vm.folder) for vm in inventory.values())
    waves = []
    for index, wave in enumerate(plan.waves):
        names = assignment.waves[wave.name]
        used = sorted({n for name in names for n in inventory[name].networks})
        targets = []
        for net in used:
            mapping = plan.mapping_for(index, net)
            assert mapping is not None, f"the plan maps no destination for {net}"
            extended = extensions.get(mapping.destination)
            dest = remote_networks[extended.destination_segment if extended else mapping.destination]
            targets.append(
                NetworkTarget(
                    source_id=networks[net].id,
                    source_name=net,
                    destination_id=dest.id,
                    destination_name=dest.name,
                )
            )
        waves.append(
            PreparedWave(
                index=index,
                name=wave.name,
                type=plan.effective(index).migration.type,
                compute=PlacementRef(id=pool.id, name=pool.name, type="ResourcePool"),
                datastore=PlacementRef(id=datastore.id, name=datastore.name, type="Datastore"),
                folder=PlacementRef(id=folder.id, name=folder.name, type="Folder"),
                networks=targets,
                vms=[
                    PreparedVm(
                        name=name,
                        entity_id=inventory[name].id,
                        disk_bytes=inventory[name].disk_bytes,
                        used_bytes=inventory[name].used_bytes,
                        power_state=inventory[name].power_state,
                        folder=inventory[name].folder,
                        networks=inventory[name].networks,
                    )
                    for name in names
                ],
            )
        )
    return PreparedContext(
        plan_id=plan.id,
        digest=plan.digest(),
        prepared_at=clock.now(),
        source=_side(sandbox, "source"),
        destination=_side(sandbox, "destination"),
        pairing=SitePairingRef(source=source, destination=destination),
        meshes=meshes,
        waves=waves,
        extensions=list(extensions.values()),
    )


def _portgroups(hcx: HcxClient, endpoint_id: str) -> dict[str, Any]:
    """Source networks by name: the vSphere port groups (an NSX segment may share a name)."""
    found = hcx.networks(endpoint_id)
    return {n.name: n for n in sorted(found, key=lambda n: n.entity_type == "DistributedVirtualPortgroup")}


def _side(sandbox: Sandbox, side: Side) -> CloudSide:
    cloud = sandbox.world.cloud(side)
    return CloudSide(
        cloud_id=sandbox.cloud_id(side),
        name=cloud.name,
        region=cloud.region,
        hcx_url=sandbox.hcx_url(side),
        hcx_enterprise=True,
    )


def _extend(
    hcx: HcxClient, plan: MigrationPlan, local: Any, destination: SiteRef, clock: VirtualClock
) -> dict[str, ExtensionRef]:
    existing = {e.source_network_name: e for e in hcx.list_l2_extensions()}
    networks = _portgroups(hcx, local.endpoint_id)
    appliances = hcx.query_appliances(endpoint_id=local.endpoint_id)
    jobs = []
    for k, ext in enumerate(plan.network_extensions):
        if ext.source_network in existing:
            continue
        body = extension_request(
            vc_guid=local.resource_id,
            network=networks[ext.source_network],
            gateway=ext.gateway,
            netmask=ext.netmask,
            destination=destination,
            destination_gateway=ext.destination_gateway,
            appliance_id=appliances[k // 8].appliance_id,
            mon=ext.mon,
        )
        jobs.append(hcx.create_l2_extension(body).job_id)
    if jobs:
        clock.advance(timedelta(hours=1))
        assert all(hcx.get_job(job).succeeded for job in jobs if job)
    out = {}
    for e in hcx.list_l2_extensions():
        spec = plan.extension(e.source_network_name or "")
        if spec is None:
            continue
        out[spec.source_network] = ExtensionRef(
            source_network=spec.source_network,
            stretch_id=e.stretch_id,
            destination_segment=e.destination_network.get("networkName") or "",
            destination_segment_id=e.destination_network.get("networkId") or "",
            destination_gateway=spec.destination_gateway,
            gateway_cidr=spec.gateway_cidr,
            mon=spec.mon,
        )
    return out
