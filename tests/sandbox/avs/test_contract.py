"""Contract tier: the real azure-mgmt-avs 10.1.0 client against the ARM simulator, TLS verified.

Long-running operations go through the client's own poller: the test starts the operation, moves
the virtual clock past its simulated duration, and the poller (polling every `Retry-After: 1` wall
second) sees it finish.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.avs import AVSClient
from azure.mgmt.avs.models import (
    Addon,
    AddonHcxProperties,
    CloudLink,
    CloudLinkProperties,
    ExpressRouteAuthorization,
    GlobalReachConnection,
    GlobalReachConnectionProperties,
    PrivateCloudUpdate,
    WorkloadNetworkSegment,
    WorkloadNetworkSegmentProperties,
    WorkloadNetworkSegmentSubnet,
)

from runtime.clock import VirtualClock
from sandbox.core.faults import FaultRule
from sandbox.core.scenario import Scenario
from sandbox.sandbox import Sandbox
from tests.sandbox.conftest import avs_client_for

ENTERPRISE = "VMware MaaS Cloud Provider (Enterprise)"
PC_ROUTE = (
    "GET /subscriptions/{subscription}/resourceGroups/{resource_group}"
    "/providers/Microsoft.AVS/privateClouds/{cloud}"
)


def _requests(sb: Sandbox, suffix: str) -> int:
    counts = sb.stats()["requests"].get("arm", {})
    return sum(n for route, n in counts.items() if route.endswith(suffix))


def test_get_returns_the_private_cloud_with_its_hcx_manager_endpoint(
    sandbox: Sandbox, avs: AVSClient
) -> None:
    cloud = avs.private_clouds.get("rg-src", "pc-src")
    assert cloud.id == sandbox.cloud_id("source")
    assert cloud.location == "westeurope"
    assert cloud.properties.provisioning_state == "Succeeded"
    assert cloud.properties.endpoints.hcx_cloud_manager == sandbox.hcx_url("source") + "/"
    assert cloud.properties.circuit.express_route_id.startswith("/subscriptions/")
    assert cloud.properties.management_cluster.cluster_size == 3
    assert cloud.properties.network_block == "10.100.0.0/22"


def test_list_follows_next_links_across_pages(sandbox: Sandbox, avs: AVSClient) -> None:
    for i in range(3):
        sandbox.arm.ensure_segment("source", f"extra-{i}", f"10.9.{i}.1/24", None)
    names = [s.name for s in avs.workload_networks.list_segments("rg-src", "pc-src")]
    assert names == ["seg-web", "extra-0", "extra-1", "extra-2"]
    assert _requests(sandbox, "/workloadNetworks/default/segments") == 2
    assert [c.name for c in avs.private_clouds.list_in_subscription()] == ["pc-src", "pc-dst"]
    assert [c.name for c in avs.private_clouds.list("rg-dst")] == ["pc-dst"]


def test_long_running_hcx_addon_install_completes_through_the_real_poller(
    sandbox: Sandbox, avs: AVSClient, clock: VirtualClock
) -> None:
    assert sandbox.arm.hcx_edition("destination") == "none"
    poller = avs.addons.begin_create_or_update(
        "rg-dst", "pc-dst", "hcx", Addon(properties=AddonHcxProperties(offer=ENTERPRISE))
    )
    assert not poller.done()
    clock.advance(timedelta(minutes=10))
    addon = poller.result(timeout=30)
    assert addon.properties.provisioning_state == "Succeeded"
    assert addon.properties.offer == ENTERPRISE
    assert sandbox.arm.hcx_edition("destination") == "enterprise"
    cloud = avs.private_clouds.get("rg-dst", "pc-dst")
    assert cloud.properties.endpoints.hcx_cloud_manager == sandbox.hcx_url("destination") + "/"
    keys = list(avs.hcx_enterprise_sites.list("rg-dst", "pc-dst"))
    assert len(keys) == 1
    assert keys[0].properties.status == "Available"


def test_list_admin_credentials_returns_what_hcx_accepts(sandbox: Sandbox, avs: AVSClient) -> None:
    creds = avs.private_clouds.list_admin_credentials("rg-dst", "pc-dst")
    assert creds.vcenter_username == "cloudadmin@vsphere.local"
    assert creds.vcenter_password == sandbox.world.credentials["destination"].password
    assert creds.nsxt_username == "admin"
    assert creds.nsxt_password


def test_missing_resources_map_to_resource_not_found(avs: AVSClient) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        avs.private_clouds.get("rg-src", "pc-missing")
    assert caught.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as group:
        avs.clusters.list("rg-missing", "pc-src").next()
    assert group.value.error.code == "ResourceGroupNotFound"


def test_conflicts_map_to_resource_exists(avs: AVSClient) -> None:
    with pytest.raises(ResourceExistsError, match="management cluster"):
        avs.clusters.begin_delete("rg-src", "pc-src", "Cluster-1")
    with pytest.raises(ResourceExistsError, match="install the HCX add-on first"):
        avs.hcx_enterprise_sites.create_or_update("rg-dst", "pc-dst", "key-1", {})


def test_a_request_without_a_bearer_token_is_401_with_an_arm_error_body(sandbox: Sandbox) -> None:
    url = sandbox.arm_url + sandbox.cloud_id("source").lstrip("/") + "?api-version=2026-03-01"
    response = httpx.get(url, verify=ssl.create_default_context(cafile=sandbox.ca_path))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    wrong = avs_client_for(sandbox, token="not-the-token")
    with pytest.raises(ClientAuthenticationError):
        wrong.private_clouds.get("rg-src", "pc-src")


def test_a_request_without_api_version_is_400(sandbox: Sandbox) -> None:
    url = sandbox.arm_url + sandbox.cloud_id("source").lstrip("/")
    response = httpx.get(
        url,
        verify=ssl.create_default_context(cafile=sandbox.ca_path),
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"
    old = avs_client_for(sandbox, api_version="2019-08-09-preview")
    with pytest.raises(HttpResponseError) as caught:
        old.private_clouds.get("rg-src", "pc-src")
    assert caught.value.status_code == 400
    assert caught.value.error.code == "NoRegisteredProviderFound"


def test_throttling_is_429_with_retry_after_and_the_client_retries_through_it(sandbox: Sandbox) -> None:
    sandbox.faults.add(
        FaultRule(server="arm", status=429, times=2, retry_after=1, path_contains="/privateClouds/")
    )
    patient = avs_client_for(sandbox, retry_total=3)
    assert patient.private_clouds.get("rg-src", "pc-src").name == "pc-src"
    stats = sandbox.stats()
    assert stats["faults"]["arm"] == {"429": 2}
    assert stats["requests"]["arm"][PC_ROUTE] == 3


def test_throttling_surfaces_as_429_when_the_client_does_not_retry(sandbox: Sandbox, avs: AVSClient) -> None:
    sandbox.faults.add(FaultRule(server="arm", status=429, times=1, retry_after=1, code="TooManyRequests"))
    with pytest.raises(HttpResponseError) as caught:
        avs.private_clouds.get("rg-src", "pc-src")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.error.code == "TooManyRequests"


def test_a_cloud_link_appears_as_an_external_link_on_the_peer(
    sandbox: Sandbox, avs: AVSClient, clock: VirtualClock
) -> None:
    poller = avs.cloud_links.begin_create_or_update(
        "rg-src",
        "pc-src",
        "to-dst",
        CloudLink(properties=CloudLinkProperties(linked_cloud=sandbox.cloud_id("destination"))),
    )
    clock.advance(timedelta(minutes=5))
    link = poller.result(timeout=30)
    assert link.properties.status == "Active"
    peer = avs.private_clouds.get("rg-dst", "pc-dst")
    assert peer.properties.external_cloud_links == [link.id]
    assert sandbox.arm.clouds_connected()


def test_global_reach_between_regions_connects_over_simulated_time(
    make_scenario: Callable[..., Scenario],
) -> None:
    scenario = make_scenario(destination={"region": "northeurope", "hcx": {"addon": "enterprise"}})
    clock = VirtualClock(scenario.start)
    with Sandbox(scenario, clock=clock) as sb:
        avs = avs_client_for(sb)
        auth_poller = avs.authorizations.begin_create_or_update(
            "rg-dst", "pc-dst", "to-src", ExpressRouteAuthorization()
        )
        clock.advance(timedelta(minutes=1))
        auth = auth_poller.result(timeout=30)
        assert auth.properties.express_route_authorization_key
        circuit = avs.private_clouds.get("rg-dst", "pc-dst").properties.circuit.express_route_id
        assert auth.properties.express_route_id == circuit
        gr_poller = avs.global_reach_connections.begin_create_or_update(
            "rg-src",
            "pc-src",
            "to-dst",
            GlobalReachConnection(
                properties=GlobalReachConnectionProperties(
                    peer_express_route_circuit=circuit,
                    authorization_key=auth.properties.express_route_authorization_key,
                )
            ),
        )
        clock.advance(timedelta(minutes=2))
        connection = gr_poller.result(timeout=30)
        assert connection.properties.circuit_connection_status == "Connecting"
        assert not sb.arm.clouds_connected()
        clock.advance(timedelta(minutes=10))
        connected = avs.global_reach_connections.get("rg-src", "pc-src", "to-dst")
        assert connected.properties.circuit_connection_status == "Connected"
        assert sb.arm.clouds_connected()


def test_a_failed_operation_raises_with_the_monitor_error(
    sandbox: Sandbox, avs: AVSClient, clock: VirtualClock
) -> None:
    circuit = avs.private_clouds.get("rg-dst", "pc-dst").properties.circuit.express_route_id
    poller = avs.global_reach_connections.begin_create_or_update(
        "rg-src",
        "pc-src",
        "to-dst",
        GlobalReachConnection(
            properties=GlobalReachConnectionProperties(
                peer_express_route_circuit=circuit, authorization_key="11111111-2222-3333-4444-555555555555"
            )
        ),
    )
    clock.advance(timedelta(minutes=5))
    with pytest.raises(HttpResponseError, match="InvalidAuthorizationKey"):
        poller.result(timeout=30)


def test_network_cutover_patches_a_segment_through_the_location_monitor(
    sandbox: Sandbox, avs: AVSClient, clock: VirtualClock
) -> None:
    sandbox.arm.ensure_segment("destination", "L2E_web", "10.1.1.1/24", None)
    poller = avs.workload_networks.begin_update_segments(
        "rg-dst",
        "pc-dst",
        "L2E_web",
        WorkloadNetworkSegment(
            properties=WorkloadNetworkSegmentProperties(connected_gateway="/infra/tier-1s/TNT21-T1")
        ),
    )
    clock.advance(timedelta(minutes=1))
    segment = poller.result(timeout=30)
    assert segment.properties.connected_gateway == "/infra/tier-1s/TNT21-T1"
    assert segment.properties.subnet.gateway_address == "10.1.1.1/24"
    assert _requests(sandbox, "/operationResults/{operation}") >= 1


def test_segments_are_created_and_deleted_as_long_running_operations(
    sandbox: Sandbox, avs: AVSClient, clock: VirtualClock
) -> None:
    create = avs.workload_networks.begin_create_segments(
        "rg-dst",
        "pc-dst",
        "seg-app",
        WorkloadNetworkSegment(
            properties=WorkloadNetworkSegmentProperties(
                display_name="seg-app",
                connected_gateway="/infra/tier-1s/TNT21-T1",
                subnet=WorkloadNetworkSegmentSubnet(gateway_address="10.2.0.1/24"),
            )
        ),
    )
    clock.advance(timedelta(minutes=1))
    assert create.result(timeout=30).properties.provisioning_state == "Succeeded"
    delete = avs.workload_networks.begin_delete_segment("rg-dst", "pc-dst", "seg-app")
    clock.advance(timedelta(minutes=1))
    assert delete.result(timeout=30) is None
    with pytest.raises(ResourceNotFoundError):
        avs.workload_networks.get_segment("rg-dst", "pc-dst", "seg-app")


def test_a_bad_body_is_400_naming_the_field(avs: AVSClient) -> None:
    with pytest.raises(HttpResponseError) as caught:
        avs.workload_networks.begin_create_segments(
            "rg-dst",
            "pc-dst",
            "bad",
            WorkloadNetworkSegment(
                properties=WorkloadNetworkSegmentProperties(
                    subnet=WorkloadNetworkSegmentSubnet(gateway_address="nope")
                )
            ),
        )
    assert caught.value.status_code == 400
    assert "properties.subnet.gatewayAddress" in caught.value.error.message


def test_private_cloud_patch_and_password_rotation_complete_through_location(
    sandbox: Sandbox, avs: AVSClient, clock: VirtualClock
) -> None:
    patch = avs.private_clouds.begin_update("rg-src", "pc-src", PrivateCloudUpdate(tags={"wave": "1"}))
    clock.advance(timedelta(minutes=2))
    assert patch.result(timeout=30).tags == {"wave": "1"}
    before = sandbox.world.credentials["source"].password
    rotate = avs.private_clouds.begin_rotate_vcenter_password("rg-src", "pc-src")
    clock.advance(timedelta(minutes=2))
    rotate.result(timeout=30)
    assert avs.private_clouds.list_admin_credentials("rg-src", "pc-src").vcenter_password != before


def test_clusters_datastores_and_gateways_read_like_avs(avs: AVSClient) -> None:
    clusters = list(avs.clusters.list("rg-src", "pc-src"))
    assert [c.name for c in clusters] == ["Cluster-1"]
    assert len(clusters[0].properties.hosts) == 3
    stores = list(avs.datastores.list("rg-src", "pc-src", "Cluster-1"))
    assert [d.name for d in stores] == ["esan-01"]
    assert stores[0].properties.status == "Accessible"
    gateways = list(avs.workload_networks.list_gateways("rg-dst", "pc-dst"))
    assert [(g.name, g.properties.path) for g in gateways] == [("TNT21-T1", "/infra/tier-1s/TNT21-T1")]


def test_a_gen2_cloud_carries_its_virtual_network_and_no_circuit(
    make_scenario: Callable[..., Scenario],
) -> None:
    scenario = make_scenario(
        destination={"generation": 2, "sku": "AV64"}, connectivity={"vnet_peering": True}
    )
    with Sandbox(scenario, clock=VirtualClock(scenario.start)) as sb:
        cloud = avs_client_for(sb).private_clouds.get("rg-dst", "pc-dst")
        assert cloud.properties.virtual_network_id.endswith("/virtualNetworks/pc-dst-vnet")
        assert cloud.properties.circuit is None
        assert cloud.sku.name == "av64"
