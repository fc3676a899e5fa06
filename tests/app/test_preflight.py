"""Preflight's pure checks and resolution, on hand-built inventories (milliseconds, no sandbox)."""

from __future__ import annotations

from typing import Any

import pytest

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
from shared.plan import MigrationPlan, parse_plan
from shared.preflight import GIB, SiteInventory, inventory_findings, ne_capacity, resolve_waves, usable_meshes

SUB = "00000000-0000-4000-8000-000000000001"
SOURCE = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.AVS/privateClouds/pc-a"
DESTINATION = f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.AVS/privateClouds/pc-b"


def the_plan(**changes: Any) -> MigrationPlan:
    data: dict[str, Any] = {
        "id": "preflight-test",
        "source": SOURCE,
        "destination": DESTINATION,
        "network_extensions": [
            {"source_network": "web", "gateway_cidr": "10.0.1.1/24", "destination_gateway": "T1"}
        ],
        "destination_networks": ["seg-reip"],
        "migration": {"network_mappings": [{"source": "legacy", "destination": "seg-reip"}]},
        "waves": [
            {"name": "one", "vms": ["web-01", "old-01"]},
            {"name": "two", "selection": {"folders": ["Db"]}},
        ],
    }
    data.update(changes)
    return parse_plan(data)


def vm(name: str, networks: list[str], folder: str = "Web", disk_gb: int = 100) -> InventoryVm:
    return InventoryVm.model_validate(
        {
            "entityId": f"vm-{name}",
            "name": name,
            "folder": {"name": folder},
            "network": [{"name": n} for n in networks],
            "summary": {"diskSize": disk_gb * GIB, "usedSpace": disk_gb * GIB // 2},
            "powerState": "poweredOn",
        }
    )


def site(endpoint: str, **parts: Any) -> SiteInventory:
    return SiteInventory(site=SiteRef(endpoint_id=endpoint, resource_id=f"vc-{endpoint}"), **parts)


def source() -> SiteInventory:
    return site(
        "ep-a",
        vms=[vm("web-01", ["web"]), vm("old-01", ["legacy"]), vm("db-01", ["db"], folder="Db", disk_gb=300)],
        networks=[InventoryNetwork(id=f"dvpg-{n}", name=n) for n in ("web", "legacy", "db")],
    )


def destination(free_gb: int = 10_000, **extra: Any) -> SiteInventory:
    return site(
        "ep-b",
        networks=[
            InventoryNetwork(id="/infra/segments/seg-reip", name="seg-reip", entity_type="NsxtSegment")
        ],
        datastores=[Datastore(id="ds-1", name="vsanDatastore", free_bytes=free_gb * GIB)],
        containers=[
            Container(id="domain-c8", name="Cluster-1", type="ClusterComputeResource"),
            Container(id="group-v1", name="Web", type="Folder"),
            Container(id="datacenter-3", name="SDDC-Datacenter", type="Datacenter"),
        ],
        **extra,
    )


def codes(findings: list[Any]) -> dict[str, str | None]:
    return {f.code: f.resource for f in findings if f.severity == "error"}


def test_a_vm_on_a_network_that_is_neither_extended_nor_mapped_is_found() -> None:
    found, assignment = inventory_findings(the_plan(), source(), destination(), gateways=["T1"])
    assert assignment.waves == {"one": ["web-01", "old-01"], "two": ["db-01"]}
    assert codes(found) == {"NETWORK_MAPPING_MISSING": "/waves/1"}
    [unmapped] = [f for f in found if f.code == "NETWORK_MAPPING_MISSING"]
    assert unmapped.details == {"network": "db", "vms": 1}


def test_placement_names_and_gateways_must_exist_at_the_destination() -> None:
    plan = the_plan(
        migration={
            "placement": {"resource_pool": "RP-Nope", "datastore": "nope-ds", "folder": "Web"},
            "network_mappings": [
                {"source": "legacy", "destination": "seg-reip"},
                {"source": "db", "destination": "seg-reip"},
            ],
        }
    )
    found, _ = inventory_findings(plan, source(), destination(), gateways=["OTHER-T1"])
    assert codes(found) == {
        "PLACEMENT_NOT_FOUND": "/migration/placement/datastore",
        "DESTINATION_GATEWAY_MISSING": "/network_extensions/0/destination_gateway",
    }
    assert {f.message for f in found if f.code == "PLACEMENT_NOT_FOUND"} >= {
        "the destination has no resource pool named 'RP-Nope'"
    }


def test_datastore_capacity_counts_provisioned_disks_against_free_space() -> None:
    plan = the_plan(
        migration={
            "network_mappings": [
                {"source": "legacy", "destination": "seg-reip"},
                {"source": "db", "destination": "seg-reip"},
            ]
        }
    )
    assert "DATASTORE_CAPACITY" not in codes(inventory_findings(plan, source(), destination(free_gb=500))[0])
    found, _ = inventory_findings(plan, source(), destination(free_gb=499))
    assert codes(found) == {"DATASTORE_CAPACITY": "vsanDatastore"}


def mesh(name: str, services: list[str], state: str = "COMMITTED") -> ServiceMesh:
    return ServiceMesh.model_validate(
        {
            "serviceMeshId": f"id-{name}",
            "name": name,
            "state": state,
            "services": [{"name": s} for s in services],
            "computeProfiles": [{"endpointId": "ep-a"}, {"endpointId": "ep-b"}],
        }
    )


def ix(mesh_name: str) -> Appliance:
    return Appliance.model_validate(
        {"applianceId": f"ix-{mesh_name}", "applianceType": "HCX-WAN-IX", "serviceMeshId": f"id-{mesh_name}"}
    )


def test_meshes_that_lack_a_service_are_left_out_and_reported_only_when_none_is_usable() -> None:
    full = ["INTERCONNECT", "BULK_MIGRATION", "VMOTION", "NETWORK_EXTENSION"]
    usable, found = usable_meshes(
        the_plan(), [mesh("a", full), mesh("b", ["INTERCONNECT"])], [ix("a"), ix("a")], "ep-a", "ep-b"
    )
    assert [(m.name, m.ix_count) for m in usable] == [("a", 2)]
    assert [(f.code, f.severity) for f in found] == [("SERVICE_MESH_SERVICES_MISSING", "warning")]
    usable, found = usable_meshes(
        the_plan(), [mesh("b", ["INTERCONNECT"]), mesh("c", full, "UPDATE_FAILED")], [], "ep-a", "ep-b"
    )
    assert usable == []
    assert {f.code for f in found} == {"SERVICE_MESH_SERVICES_MISSING", "SERVICE_MESH_MISSING"}
    assert {f.severity for f in found} == {"error"}


@pytest.mark.parametrize(("extended", "slots", "blocked"), [(0, 1, False), (0, 0, True), (1, 0, False)])
def test_ne_capacity_counts_only_the_extensions_still_to_create(
    extended: int, slots: int, blocked: bool
) -> None:
    live = [L2Extension.model_validate({"stretchId": "s1", "sourceNetwork": {"networkName": "web"}})][
        :extended
    ]
    appliances = [
        Appliance.model_validate(
            {"applianceId": "ne", "applianceType": "HCX-NET-EXT", "networkExtensionCount": 8 - slots}
        )
    ]
    assert bool(ne_capacity(the_plan(), live, appliances)) is blocked


def test_resolution_maps_extended_networks_to_their_segment_and_mapped_ones_to_the_declared_network() -> None:
    plan = the_plan(waves=[{"name": "one", "vms": ["web-01", "old-01"]}])
    found, assignment = inventory_findings(plan, source(), destination())
    assert codes(found) == {}
    segment = InventoryNetwork(id="/infra/segments/L2E_web-1", name="L2E_web-1", entity_type="NsxtSegment")
    waves, folders = resolve_waves(plan, assignment, source(), destination(), {"web": segment})
    [one] = waves
    assert (
        one.compute.name,
        one.datastore and one.datastore.name,
        one.datacenter and one.datacenter.type,
    ) == (
        "Cluster-1",
        "vsanDatastore",
        "Datacenter",
    )
    assert {n.source_name: (n.source_id, n.destination_id) for n in one.networks} == {
        "web": ("dvpg-web", "/infra/segments/L2E_web-1"),
        "legacy": ("dvpg-legacy", "/infra/segments/seg-reip"),
    }
    assert [(v.name, v.disk_bytes, v.folder) for v in one.vms] == [
        ("web-01", 100 * GIB, "Web"),
        ("old-01", 100 * GIB, "Web"),
    ]
    assert folders["Web"].id == "group-v1"
