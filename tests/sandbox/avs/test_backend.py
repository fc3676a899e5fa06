"""The ARM backend on a virtual clock: transitions, cross-resource effects, and what HCX asks it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from runtime.clock import VirtualClock
from sandbox.avs import DURATIONS, ArmBackend
from sandbox.avs.bodies import (
    AddonBody,
    AuthorizationBody,
    CloudLinkBody,
    GlobalReachBody,
    SegmentBody,
    parse_body,
)
from sandbox.avs.exceptions import BadRequest, Conflict, ResourceGroupNotFound, ResourceNotFound
from sandbox.core.scenario import Scenario
from sandbox.core.world import World

HCX = {"properties": {"addonType": "HCX", "offer": "VMware MaaS Cloud Provider (Enterprise)"}}


def _backend(scenario: Scenario) -> tuple[ArmBackend, VirtualClock]:
    clock = VirtualClock(scenario.start)
    world = World(scenario, clock)
    arm = ArmBackend(world)
    world.arm = arm
    return arm, clock


def test_installing_the_hcx_addon_makes_hcx_usable_only_when_it_completes(
    arm: ArmBackend, clock: VirtualClock
) -> None:
    assert arm.hcx_edition("destination") == "none"
    addon, op, created = arm.create_or_update_addon("rg-dst", "pc-dst", "hcx", parse_body(AddonBody, HCX))
    assert created
    assert addon.provisioning_state == "Building"
    assert "hcxCloudManager" not in arm.get_private_cloud("rg-dst", "pc-dst").endpoints()
    clock.advance(DURATIONS["addon.HCX"] - timedelta(seconds=1))
    assert arm.hcx_edition("destination") == "none"
    assert arm.get_operation(op.id).status == "InProgress"
    clock.advance(timedelta(seconds=1))
    assert arm.hcx_edition("destination") == "enterprise"
    assert arm.get_operation(op.id).status == "Succeeded"
    endpoints = arm.get_private_cloud("rg-dst", "pc-dst").endpoints()
    assert endpoints["hcxCloudManager"] == f"https://{arm.world.hcx_host('destination')}/"
    assert endpoints["hcxCloudManagerIp"] == "10.110.2.9"
    keys = arm.list_hcx_enterprise_sites("rg-dst", "pc-dst")
    assert len(keys) == 1
    assert len(keys[0].activation_key) == 32


def test_the_hcx_endpoint_points_at_the_served_manager(arm: ArmBackend) -> None:
    arm.world.hcx_urls["source"] = "https://127.0.0.1:4443"
    assert (
        arm.get_private_cloud("rg-src", "pc-src").endpoints()["hcxCloudManager"] == "https://127.0.0.1:4443/"
    )


def test_an_advanced_offer_lacks_enterprise_and_cannot_be_downgraded_to(
    arm: ArmBackend, clock: VirtualClock
) -> None:
    body = {"properties": {"addonType": "HCX", "offer": "VMware MaaS Cloud Provider"}}
    arm.create_or_update_addon("rg-dst", "pc-dst", "hcx", parse_body(AddonBody, body))
    clock.advance(timedelta(hours=1))
    assert arm.hcx_edition("destination") == "advanced"
    with pytest.raises(BadRequest, match="downgraded"):
        arm.create_or_update_addon("rg-src", "pc-src", "hcx", parse_body(AddonBody, body))


def test_an_addon_must_be_named_after_its_type_and_hcx_needs_an_offer(arm: ArmBackend) -> None:
    with pytest.raises(BadRequest, match="must be named 'hcx'"):
        arm.create_or_update_addon("rg-dst", "pc-dst", "hcx-addon", parse_body(AddonBody, HCX))
    with pytest.raises(BadRequest, match=r"properties\.offer: required"):
        arm.create_or_update_addon(
            "rg-dst", "pc-dst", "hcx", parse_body(AddonBody, {"properties": {"addonType": "HCX"}})
        )


def test_removing_the_hcx_addon_takes_hcx_away_at_once(arm: ArmBackend, clock: VirtualClock) -> None:
    assert arm.hcx_edition("source") == "enterprise"
    op = arm.delete_addon("rg-src", "pc-src", "hcx")
    assert op is not None
    assert arm.hcx_edition("source") == "none"
    clock.advance(timedelta(hours=1))
    assert arm.list_addons("rg-src", "pc-src") == []
    assert "hcxCloudManager" not in arm.get_private_cloud("rg-src", "pc-src").endpoints()
    assert arm.delete_addon("rg-src", "pc-src", "hcx") is None


def test_a_cloud_link_connects_the_clouds_and_appears_on_the_peer(
    arm: ArmBackend, clock: VirtualClock
) -> None:
    assert not arm.clouds_connected()
    body = parse_body(CloudLinkBody, {"properties": {"linkedCloud": arm.world.cloud_id("destination")}})
    link, _, _ = arm.create_or_update_cloud_link("rg-src", "pc-src", "to-dst", body)
    assert link.status == "Building"
    assert not arm.clouds_connected()
    clock.advance(DURATIONS["cloudLink"])
    assert arm.clouds_connected()
    assert arm.get_private_cloud("rg-dst", "pc-dst").external_cloud_links == [link.id]
    arm.delete_cloud_link("rg-src", "pc-src", "to-dst")
    clock.advance(DURATIONS["delete"])
    assert not arm.clouds_connected()
    assert arm.get_private_cloud("rg-dst", "pc-dst").external_cloud_links == []


def test_a_cloud_link_refuses_another_region_and_unknown_clouds(
    make_scenario: Callable[..., Scenario],
) -> None:
    arm, _ = _backend(make_scenario(destination={"region": "northeurope"}))
    other = parse_body(CloudLinkBody, {"properties": {"linkedCloud": arm.world.cloud_id("destination")}})
    with pytest.raises(BadRequest, match="same region only") as caught:
        arm.create_or_update_cloud_link("rg-src", "pc-src", "l", other)
    assert caught.value.code == "CrossRegionCloudLinkNotSupported"
    itself = parse_body(CloudLinkBody, {"properties": {"linkedCloud": arm.world.cloud_id("source")}})
    with pytest.raises(BadRequest, match=r"properties\.linkedCloud"):
        arm.create_or_update_cloud_link("rg-src", "pc-src", "l", itself)


def _global_reach(arm: ArmBackend, clock: VirtualClock, key: str | None = None) -> str:
    """Authorization on the destination, connection on the source (avs-arm.md §8.2); returns op id."""
    auth, _, _ = arm.create_or_update_authorization(
        "rg-dst", "pc-dst", "to-src", parse_body(AuthorizationBody, {})
    )
    assert auth.key is None  # the key appears only when provisioning is done
    clock.advance(DURATIONS["authorization"])
    auth = arm.get_authorization("rg-dst", "pc-dst", "to-src")
    assert auth.key is not None
    circuit = arm.get_private_cloud("rg-dst", "pc-dst").express_route_id
    body = {"properties": {"peerExpressRouteCircuit": circuit, "authorizationKey": key or auth.key}}
    _, op, _ = arm.create_or_update_global_reach_connection(
        "rg-src", "pc-src", "to-dst", parse_body(GlobalReachBody, body)
    )
    return op.id


def test_global_reach_goes_connecting_then_connected_over_simulated_time(
    make_scenario: Callable[..., Scenario],
) -> None:
    arm, clock = _backend(make_scenario(destination={"region": "northeurope"}))
    _global_reach(arm, clock)
    clock.advance(DURATIONS["globalReach"])
    gr = arm.get_global_reach_connection("rg-src", "pc-src", "to-dst")
    assert (gr.provisioning_state, gr.status) == ("Succeeded", "Connecting")
    assert not arm.clouds_connected()
    clock.advance(DURATIONS["globalReach.connect"])
    assert gr.status == "Connected"
    assert arm.clouds_connected()
    assert gr.address_prefix.endswith("/29")
    kinds = [e.kind for e in arm.world.events]
    assert kinds.index("global_reach.provisioned") < kinds.index("global_reach.connected")


def test_global_reach_with_a_wrong_key_fails_the_operation_without_naming_the_key(arm: ArmBackend) -> None:
    clock = arm.world.clock
    assert isinstance(clock, VirtualClock)
    op_id = _global_reach(arm, clock, key="00000000-0000-0000-0000-000000000000")
    clock.advance(timedelta(hours=1))
    op = arm.get_operation(op_id)
    assert op.status == "Failed"
    assert op.error is not None
    assert op.error.code == "InvalidAuthorizationKey"
    assert "0000" not in op.error.message
    assert arm.get_global_reach_connection("rg-src", "pc-src", "to-dst").status == "Disconnected"
    assert not arm.clouds_connected()


def test_an_authorization_serves_one_connection(arm: ArmBackend) -> None:
    clock = arm.world.clock
    assert isinstance(clock, VirtualClock)
    _global_reach(arm, clock)
    clock.advance(timedelta(minutes=10))
    auth = arm.get_authorization("rg-dst", "pc-dst", "to-src")
    circuit = arm.get_private_cloud("rg-dst", "pc-dst").express_route_id
    body = {"properties": {"peerExpressRouteCircuit": circuit, "authorizationKey": auth.key}}
    _, op, _ = arm.create_or_update_global_reach_connection(
        "rg-src", "pc-src", "second", parse_body(GlobalReachBody, body)
    )
    clock.advance(timedelta(minutes=10))
    failed = arm.get_operation(op.id)
    assert failed.error is not None
    assert failed.error.code == "AuthorizationKeyUsed"


def test_gen2_clouds_have_a_vnet_and_no_circuit_and_connect_outside_the_api(
    make_scenario: Callable[..., Scenario],
) -> None:
    arm, _ = _backend(
        make_scenario(destination={"generation": 2, "sku": "AV64"}, connectivity={"vnet_peering": True})
    )
    wire = arm.get_private_cloud("rg-dst", "pc-dst").to_wire()
    assert "circuit" not in wire["properties"]
    assert wire["properties"]["virtualNetworkId"].endswith(
        "/providers/Microsoft.Network/virtualNetworks/pc-dst-vnet"
    )
    assert wire["sku"] == {"name": "av64"}
    assert arm.clouds_connected()
    with pytest.raises(BadRequest) as caught:
        arm.create_or_update_authorization("rg-dst", "pc-dst", "a", parse_body(AuthorizationBody, {}))
    assert caught.value.code == "NotSupportedOnGen2"


def test_scenario_connectivity_is_there_from_the_start(make_scenario: Callable[..., Scenario]) -> None:
    linked, _ = _backend(make_scenario(connectivity={"interconnect": True}))
    assert linked.clouds_connected()
    assert len(linked.get_private_cloud("rg-dst", "pc-dst").external_cloud_links) == 1
    reach, clock = _backend(
        make_scenario(destination={"region": "northeurope"}, connectivity={"global_reach": "connecting"})
    )
    assert not reach.clouds_connected()
    clock.advance(DURATIONS["globalReach.connect"])
    assert reach.clouds_connected()


def test_hcx_network_extension_segments_are_visible_and_cutover_connects_them(
    arm: ArmBackend, clock: VirtualClock
) -> None:
    arm.ensure_segment("destination", "L2E_web-101", "10.1.1.1/24", None)
    segment = arm.get_segment("rg-dst", "pc-dst", "L2E_web-101")
    assert segment.connected_gateway is None
    patch = parse_body(SegmentBody, {"properties": {"connectedGateway": "/infra/tier-1s/TNT21-T1"}})
    op = arm.update_segment("rg-dst", "pc-dst", "L2E_web-101", patch)
    clock.advance(DURATIONS["segment"])
    assert arm.get_operation(op.id).status == "Succeeded"
    assert segment.connected_gateway == "/infra/tier-1s/TNT21-T1"
    assert segment.gateway_address == "10.1.1.1/24"
    assert segment.revision == 2


def test_connected_segments_may_not_overlap_and_gateways_must_exist(arm: ArmBackend) -> None:
    body = {"properties": {"connectedGateway": "TNT11-T1", "subnet": {"gatewayAddress": "10.1.1.129/25"}}}
    with pytest.raises(BadRequest, match="overlaps segment 'seg-web'") as caught:
        arm.create_segment("rg-src", "pc-src", "seg-new", parse_body(SegmentBody, body))
    assert caught.value.code == "SegmentSubnetOverlap"
    unknown = {
        "properties": {"connectedGateway": "/infra/tier-1s/NOPE", "subnet": {"gatewayAddress": "10.9.0.1/24"}}
    }
    with pytest.raises(BadRequest, match=r"properties\.connectedGateway"):
        arm.create_segment("rg-src", "pc-src", "seg-new", parse_body(SegmentBody, unknown))
    disconnected = {"properties": {"subnet": {"gatewayAddress": "10.1.1.1/24"}}}
    segment, _, created = arm.create_segment(
        "rg-src", "pc-src", "seg-copy", parse_body(SegmentBody, disconnected)
    )
    assert created
    assert segment.provisioning_state == "Building"


def test_rotating_the_vcenter_password_changes_what_hcx_accepts(arm: ArmBackend, clock: VirtualClock) -> None:
    before = arm.list_admin_credentials("rg-src", "pc-src")
    assert before["vcenterPassword"] == arm.world.credentials["source"].password
    arm.rotate_vcenter_password("rg-src", "pc-src")
    clock.advance(DURATIONS["rotate"])
    after = arm.list_admin_credentials("rg-src", "pc-src")
    assert after["vcenterPassword"] != before["vcenterPassword"]
    assert arm.world.credentials["source"].password == after["vcenterPassword"]
    assert all(before["vcenterPassword"] not in repr(e) for e in arm.world.events)


def test_the_management_cluster_cannot_be_deleted(arm: ArmBackend) -> None:
    with pytest.raises(Conflict, match="management cluster"):
        arm.delete_cluster("rg-src", "pc-src", "Cluster-1")


def test_scenario_datastores_besides_vsan_are_arm_datastores(arm: ArmBackend) -> None:
    cluster = arm.get_cluster("rg-src", "pc-src", "Cluster-1")
    assert cluster.vsan_datastore == "vsanDatastore"
    assert [d.name for d in arm.list_datastores("rg-src", "pc-src", "Cluster-1")] == ["esan-01"]


def test_missing_things_are_404s_named_like_arm(arm: ArmBackend) -> None:
    with pytest.raises(ResourceGroupNotFound):
        arm.get_private_cloud("rg-nope", "pc-src")
    with pytest.raises(ResourceNotFound):
        arm.get_private_cloud("rg-src", "pc-nope")
    with pytest.raises(ResourceNotFound):
        arm.get_addon("rg-dst", "pc-dst", "hcx")
    assert arm.delete_segment("rg-src", "pc-src", "never-existed") is None


def test_transitions_are_backdated_to_their_due_time(arm: ArmBackend, clock: VirtualClock) -> None:
    start = clock.now()
    arm.create_or_update_addon("rg-dst", "pc-dst", "hcx", parse_body(AddonBody, HCX))
    clock.advance(timedelta(days=2))
    arm.hcx_edition("destination")
    installed = next(e for e in arm.world.events if e.kind == "addon.installed")
    assert installed.at == start + DURATIONS["addon.HCX"]


def test_operations_never_report_cancelled(arm: ArmBackend, clock: VirtualClock) -> None:
    _, op, _ = arm.create_or_update_addon("rg-dst", "pc-dst", "hcx", parse_body(AddonBody, HCX))
    statuses = {op.to_status()["status"]}
    clock.advance(timedelta(hours=1))
    statuses.add(arm.get_operation(op.id).to_status()["status"])
    assert statuses == {"InProgress", "Succeeded"}
