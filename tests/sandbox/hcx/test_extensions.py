"""Network Extension over TLS: capacity, restrictions, MON, jobs, the destination segment, faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.hcx.ids import endpoint_id

from .conftest import Served

NETWORKS: list[dict[str, Any]] = [
    *({"name": f"net{i}", "vlan": 100 + i, "gateway_cidr": f"10.9.{i}.1/24"} for i in range(1, 10)),
    {"name": "untagged", "vlan": 0, "gateway_cidr": "10.8.0.1/24"},
    {"name": "standard", "vlan": 300, "kind": "vss"},
    {"name": "vmk", "vlan": 301, "kind": "vmkernel"},
    {"name": "private", "vlan": 302, "kind": "pvlan"},
    {"name": "ephem", "vlan": 303, "kind": "ephemeral"},
]
SCENARIO: dict[str, Any] = {"source": {"networks": NETWORKS, "vms": []}}


def ne_appliance(client: httpx.Client) -> dict[str, Any]:
    query = {"filter": {"applianceType": "HCX-NET-EXT"}}
    return dict(client.post("/hybridity/api/interconnect/appliances/query", json=query).json()["items"][0])


def body(served: Served, client: httpx.Client, network: str, **extra: Any) -> dict[str, Any]:
    return {
        "gateway": "",
        "destination": {"endpointId": endpoint_id(served.env.world, "destination"), "resourceType": "VC"},
        "destinationNetwork": {"gatewayId": "TNT-T1"},
        "features": {"egressOptimization": False, "mobilityOptimizedNetworking": False},
        "sourceAppliance": {"applianceId": ne_appliance(client)["applianceId"]},
        "sourceNetwork": {"networkName": network, "networkType": "DistributedVirtualPortgroup"},
        **extra,
    }


def extend(served: Served, client: httpx.Client, network: str, **extra: Any) -> httpx.Response:
    return client.post("/hybridity/api/l2Extensions", json=body(served, client, network, **extra))


def extension(client: httpx.Client, network: str) -> dict[str, Any]:
    items = client.get("/hybridity/api/l2Extensions").json()["items"]
    return next(i for i in items if i["sourceNetwork"]["networkName"] == network)


@pytest.fixture
def ext_served(make_served: Callable[..., Served]) -> Served:
    return make_served(**SCENARIO)


def test_extending_returns_a_job_and_completes_with_a_destination_segment(ext_served: Served) -> None:
    client = ext_served.login()
    response = extend(ext_served, client, "net1")
    assert response.status_code == 200
    job_id = response.json()["id"]
    assert extension(client, "net1")["operationStatus"]["state"] == "EXTENSION_IN_PROGRESS"
    ext_served.env.advance(minutes=5)
    job = client.get(f"/hybridity/api/jobs/{job_id}").json()
    assert (job["isDone"], job["didFail"]) == (True, False)
    item = extension(client, "net1")
    assert item["operationStatus"]["state"] == "EXTENSION_COMPLETE"
    assert item["gateway"] == "10.9.1.1"
    assert item["netmask"] == "255.255.255.0"
    assert item["stretchId"].startswith("stretch-")
    segment = item["destinationNetwork"]["networkName"]
    assert segment.startswith("L2E_net1-101-")
    # The segment exists through ARM (disconnected, as an L2E target is) and in the remote inventory.
    cloud = ext_served.env.world.cloud("destination")
    arm_segment = ext_served.env.arm.get_segment(cloud.resource_group, cloud.name, segment)
    assert arm_segment.gateway_address == "10.9.1.1/24"
    assert not arm_segment.connected_gateway
    remote = client.post(
        "/hybridity/api/service/inventory/networks", json={"filter": {"cloud": {"remote": True}}}
    ).json()["data"]["items"]
    assert segment in {n["name"] for n in remote}


def test_one_ne_appliance_extends_at_most_eight_networks(ext_served: Served) -> None:
    client = ext_served.login()
    for i in range(1, 9):
        assert extend(ext_served, client, f"net{i}").status_code == 200
    assert ne_appliance(client)["networkExtensionCount"] == 8
    ninth = extend(ext_served, client, "net9")
    assert ninth.status_code == 400
    assert ninth.json()["errors"][0]["code"] == "APPLIANCE_CAPACITY_EXCEEDED"


@pytest.mark.parametrize("network", ["untagged", "standard", "vmk", "private", "ephem"])
def test_restricted_source_networks_are_refused(ext_served: Served, network: str) -> None:
    response = extend(ext_served, ext_served.login(), network)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "NETWORK_NOT_SUPPORTED"
    assert network in error["message"]


def test_extending_a_network_twice_is_a_conflict(ext_served: Served) -> None:
    client = ext_served.login()
    assert extend(ext_served, client, "net1").status_code == 200
    again = extend(ext_served, client, "net1")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "ALREADY_EXTENDED"


@pytest.mark.parametrize("flag", ["mobilityOptimizedNetworking", "proximityRouting"])
def test_mon_is_recorded_under_both_spellings(ext_served: Served, flag: str) -> None:
    client = ext_served.login()
    assert extend(ext_served, client, "net2", features={flag: True}).status_code == 200
    features = extension(client, "net2")["features"]
    assert features["mobilityOptimizedNetworking"] is True
    assert features["proximityRouting"] is True


def test_mon_needs_the_enterprise_edition(make_served: Callable[..., Served]) -> None:
    served = make_served(source={"networks": NETWORKS, "vms": [], "hcx": {"addon": "advanced"}})
    client = served.login()
    refused = extend(served, client, "net1", features={"mobilityOptimizedNetworking": True})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "MON_REQUIRES_ENTERPRISE"
    assert extend(served, client, "net1").status_code == 200


def test_an_injected_extension_failure_fails_the_job_once(make_served: Callable[..., Served]) -> None:
    served = make_served(
        **SCENARIO, faults={"extension_failures": [{"network": "net3", "message": "NE boom"}]}
    )
    client = served.login()
    job_id = extend(served, client, "net3").json()["id"]
    served.env.advance(minutes=5)
    job = client.get(f"/hybridity/api/jobs/{job_id}").json()
    assert (job["isDone"], job["didFail"], job["errorMessage"]) == (True, True, "NE boom")
    assert extension(client, "net3")["operationStatus"]["state"] == "EXTENSION_FAILED"
    assert ne_appliance(client)["networkExtensionCount"] == 0
    retry = extend(served, client, "net3").json()["id"]
    served.env.advance(minutes=5)
    assert client.get(f"/hybridity/api/jobs/{retry}").json()["didFail"] is False


def test_unextending_runs_a_job_and_frees_the_appliance_slot(ext_served: Served) -> None:
    client = ext_served.login()
    extend(ext_served, client, "net1")
    stretch = extension(client, "net1")["stretchId"]
    busy = client.delete(f"/hybridity/api/l2Extensions/{stretch}")
    assert busy.status_code == 409
    ext_served.env.advance(minutes=5)
    job_id = client.delete(f"/hybridity/api/l2Extensions/{stretch}").json()["id"]
    assert extension(client, "net1")["operationStatus"]["state"] == "UNEXTENSION_IN_PROGRESS"
    ext_served.env.advance(minutes=3)
    assert client.get(f"/hybridity/api/jobs/{job_id}").json()["isDone"] is True
    assert client.get("/hybridity/api/l2Extensions").json()["items"] == []
    assert ne_appliance(client)["networkExtensionCount"] == 0
    assert client.delete(f"/hybridity/api/l2Extensions/{stretch}").status_code == 404


def test_the_items_wrapped_form_extends_each_item_on_its_own(ext_served: Served) -> None:
    client = ext_served.login()
    items = [body(ext_served, client, "net1"), body(ext_served, client, "untagged")]
    response = client.post("/hybridity/api/l2Extensions", json={"items": items})
    assert response.status_code == 200
    results = response.json()["data"]["items"]
    assert results[0]["stretchId"].startswith("stretch-")
    assert results[0]["errors"] == []
    assert results[1]["errors"][0]["code"] == "NETWORK_NOT_SUPPORTED"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"destinationNetwork": {"gatewayId": "NO-SUCH-T1"}}, "destinationNetwork.gatewayId"),
        ({"destination": {"endpointId": "not-paired"}}, "destination.endpointId"),
        ({"sourceAppliance": {"applianceId": "nope"}}, "sourceAppliance.applianceId"),
        ({"sourceNetwork": {"networkName": "missing"}}, "sourceNetwork.networkId"),
        ({"sourceAppliance": {}}, "sourceAppliance.applianceId"),
    ],
)
def test_bad_extension_requests_name_the_field(
    ext_served: Served, change: dict[str, Any], field: str
) -> None:
    response = extend(ext_served, ext_served.login(), "net1", **change)
    assert response.status_code == 400
    assert field in response.json()["errors"][0]["message"]


def test_a_mesh_without_network_extension_offers_no_ne_appliance(make_served: Callable[..., Served]) -> None:
    served = make_served(
        source={"networks": NETWORKS, "vms": []},
        service_meshes=[{"name": "m", "services": ["INTERCONNECT", "BULK_MIGRATION"]}],
    )
    client = served.login()
    query = {"filter": {"applianceType": "HCX-NET-EXT"}}
    assert client.post("/hybridity/api/interconnect/appliances/query", json=query).json()["items"] == []
