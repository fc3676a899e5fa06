"""PreparedContext: the contract between preparation and the wave engine, as pure data."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.findings import finding
from shared.hcx.migrations import NetworkTarget, PlacementRef, migration_item
from shared.hcx.models import SiteRef
from shared.plan import parse_plan
from shared.prepared import CloudSide, ExtensionRef, PreparedContext, PreparedVm, PreparedWave, SitePairingRef

SUB = "00000000-0000-4000-8000-000000000001"
SOURCE = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.AVS/privateClouds/pc-a"
DESTINATION = f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.AVS/privateClouds/pc-b"


def plan_data() -> dict[str, object]:
    return {
        "id": "prepared-test",
        "source": SOURCE,
        "destination": DESTINATION,
        "network_extensions": [
            {"source_network": "web", "gateway_cidr": "10.0.1.1/24", "destination_gateway": "T1"}
        ],
        "migration": {
            "type": "bulk",
            "switchover_window": {"start": "2026-01-10T22:00:00Z", "end": "2026-01-11T04:00:00Z"},
            "options": {"upgrade_tools": True, "disk_provisioning": "thin"},
        },
        "waves": [
            {"name": "one", "vms": ["web-01", "web-02"]},
            {
                "name": "two",
                "vms": ["db-01"],
                "migration": {"type": "vmotion", "switchover_window": "immediate"},
            },
        ],
    }


def context() -> PreparedContext:
    web = NetworkTarget(
        source_id="dvportgroup-1",
        source_name="web",
        destination_id="/infra/segments/L2E_web",
        destination_name="L2E_web",
    )
    pool = PlacementRef(id="resgroup-1", name="Compute-ResourcePool", type="ResourcePool")
    datastore = PlacementRef(id="datastore-1", name="vsanDatastore", type="Datastore")
    return PreparedContext(
        plan_id="prepared-test",
        digest="ab" * 32,
        prepared_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        source=CloudSide(
            cloud_id=SOURCE, name="pc-a", region="westeurope", hcx_url="https://a", hcx_version="4.10.2"
        ),
        destination=CloudSide(cloud_id=DESTINATION, name="pc-b", region="westeurope", hcx_url="https://b"),
        pairing=SitePairingRef(
            source=SiteRef(endpoint_id="ep-a", endpoint_name="a", resource_id="vc-a", resource_name="vc a"),
            destination=SiteRef(
                endpoint_id="ep-b", endpoint_name="b", resource_id="vc-b", resource_name="vc b"
            ),
        ),
        waves=[
            PreparedWave(
                index=0,
                name="one",
                type="bulk",
                compute=pool,
                datastore=datastore,
                networks=[web],
                vms=[
                    PreparedVm(
                        name="web-01",
                        entity_id="vm-1",
                        disk_bytes=10,
                        used_bytes=5,
                        folder="Web",
                        networks=["web"],
                    ),
                    PreparedVm(
                        name="web-02",
                        entity_id="vm-2",
                        disk_bytes=20,
                        used_bytes=8,
                        folder="Other",
                        networks=["web"],
                    ),
                ],
            ),
            PreparedWave(
                index=1,
                name="two",
                type="vmotion",
                compute=pool,
                vms=[PreparedVm(name="db-01", entity_id="vm-3", networks=[])],
            ),
        ],
        extensions=[
            ExtensionRef(
                source_network="web",
                stretch_id="stretch-1",
                destination_segment="L2E_web",
                destination_gateway="T1",
                gateway_cidr="10.0.1.1/24",
            )
        ],
        destination_folders={"Web": PlacementRef(id="group-v1", name="Web", type="Folder")},
        findings=[finding("WAVE_EMPTY", "wave x selects no VMs", resource="/waves/2")],
    )


def test_the_context_survives_a_round_trip_through_durable_json() -> None:
    original = context()
    again = PreparedContext.model_validate_json(original.model_dump_json())
    assert again == original
    assert again.wave("one").disk_bytes == 30


def test_a_context_from_a_newer_release_with_unknown_fields_still_loads() -> None:
    data = context().model_dump(mode="json")
    data["added_later"] = {"x": 1}
    data["waves"][0]["vms"][0]["added_later"] = True
    assert PreparedContext.model_validate(data).wave(0).vm("web-01").entity_id == "vm-1"


def test_a_wave_slice_keeps_everything_but_the_other_waves() -> None:
    sliced = context().for_wave("two")
    assert [w.name for w in sliced.waves] == ["two"]
    assert sliced.pairing == context().pairing
    assert sliced.wave(1).vm("db-01").entity_id == "vm-3"


def test_migration_spec_merges_the_plan_settings_with_the_resolved_ids() -> None:
    plan = parse_plan(plan_data())
    spec = context().migration_spec(plan, "one", "web-01", service_mesh_id="mesh-1")
    assert (spec.type, spec.vm_id, spec.disk_provisioning, spec.upgrade_tools) == (
        "bulk",
        "vm-1",
        "thin",
        True,
    )
    assert spec.window_start == datetime(2026, 1, 10, 22, 0, tzinfo=UTC)
    assert [p.type for p in spec.placement] == ["ResourcePool", "Folder"]  # the source folder's namesake
    assert [n.destination_name for n in spec.networks] == ["L2E_web"]
    item = migration_item(spec)
    assert item["destination"]["endpointId"] == "ep-b"
    assert item["storage"]["defaultStorage"]["id"] == "datastore-1"
    assert item["servicemeshId"] == "mesh-1"


def test_a_vm_whose_folder_has_no_namesake_gets_no_folder_and_an_immediate_wave_no_window() -> None:
    plan = parse_plan(plan_data())
    assert [p.type for p in context().migration_spec(plan, "one", "web-02").placement] == ["ResourcePool"]
    spec = context().migration_spec(plan, 1, "db-01")
    assert (spec.type, spec.window_start, spec.window_end) == ("vmotion", None, None)
