"""Service meshes, appliances, interconnect tasks and the inventory routes, over TLS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.hcx.ids import endpoint_id

from .conftest import Served

TWO_MESHES: dict[str, Any] = {
    "service_meshes": [
        {"name": "mesh-a", "ix_appliances": 2, "ne_appliances": 2},
        {"name": "mesh-b", "services": ["INTERCONNECT", "BULK_MIGRATION"], "ne_appliances": 0},
    ]
}


def test_both_managers_list_the_scenarios_meshes_with_one_id_each(make_served: Callable[..., Served]) -> None:
    served = make_served(**TWO_MESHES)
    source = served.login().get("/hybridity/api/interconnect/serviceMesh").json()["items"]
    destination = served.login("destination").get("/hybridity/api/interconnect/serviceMesh").json()["items"]
    assert [m["name"] for m in source] == ["mesh-a", "mesh-b"]
    assert [m["serviceMeshId"] for m in source] == [m["serviceMeshId"] for m in destination]
    assert all(m["serviceMeshId"].startswith("servicemesh-") for m in source)
    assert {s["name"] for s in source[1]["services"]} == {"INTERCONNECT", "BULK_MIGRATION"}
    assert source[0]["state"] == "COMMITTED"
    initiators = {p["endpointId"]: p["isInitiator"] for p in source[0]["computeProfiles"]}
    assert initiators == {
        endpoint_id(served.env.world, "source"): True,
        endpoint_id(served.env.world, "destination"): False,
    }


def test_a_scenario_without_meshes_lists_none(make_served: Callable[..., Served]) -> None:
    served = make_served(service_meshes=[])
    client = served.login()
    assert client.get("/hybridity/api/interconnect/serviceMesh").json() == {"items": []}
    assert client.get("/hybridity/api/interconnect/appliances").json() == {"items": []}


def test_appliances_are_ix_and_ne_per_mesh_named_by_site(make_served: Callable[..., Served]) -> None:
    served = make_served(**TWO_MESHES)
    source = served.login().get("/hybridity/api/interconnect/appliances").json()["items"]
    names = sorted((a["applianceName"], a["applianceType"]) for a in source)
    assert names == [
        ("mesh-a-IX-I1", "HCX-WAN-IX"),
        ("mesh-a-IX-I2", "HCX-WAN-IX"),
        ("mesh-a-NE-I1", "HCX-NET-EXT"),
        ("mesh-a-NE-I2", "HCX-NET-EXT"),
        ("mesh-b-IX-I1", "HCX-WAN-IX"),
    ]
    assert all(a["networkExtensionCount"] == 0 for a in source if a["applianceType"] == "HCX-NET-EXT")
    remote = served.login("destination").get("/hybridity/api/interconnect/appliances").json()["items"]
    assert {a["applianceName"] for a in remote} >= {"mesh-a-NE-R1", "mesh-a-IX-R2"}


def test_appliances_query_filters_by_type_endpoint_and_mesh(make_served: Callable[..., Served]) -> None:
    served = make_served(**TWO_MESHES)
    client = served.login()
    mesh_a = client.get("/hybridity/api/interconnect/serviceMesh").json()["items"][0]["serviceMeshId"]
    body = {
        "filter": {
            "applianceType": "HCX-NET-EXT",
            "endpointId": served.env.source.endpoint_id,
            "serviceMeshId": mesh_a,
        }
    }
    items = client.post("/hybridity/api/interconnect/appliances/query", json=body).json()["items"]
    assert sorted(a["applianceName"] for a in items) == ["mesh-a-NE-I1", "mesh-a-NE-I2"]
    assert all(a["serviceMeshId"] == mesh_a for a in items)
    remote_only = {"filter": {"endpointId": endpoint_id(served.env.world, "destination")}}
    assert client.post("/hybridity/api/interconnect/appliances/query", json=remote_only).json()["items"] == []


def test_a_committed_meshs_deploy_task_succeeded(served: Served) -> None:
    client = served.login()
    mesh = client.get("/hybridity/api/interconnect/serviceMesh").json()["items"][0]
    task = client.get(
        f"/hybridity/api/interconnect/tasks/{mesh['lastTaskDetails']['interconnectTaskId']}"
    ).json()
    assert task["status"] == "SUCCESS"
    assert task["progress"] == 100
    assert task["entityDetails"] == {"id": mesh["serviceMeshId"], "type": "ServiceMesh", "name": mesh["name"]}


def test_a_deploying_mesh_commits_when_its_task_finishes(make_served: Callable[..., Served]) -> None:
    served = make_served(service_meshes=[{"name": "late", "state": "DEPLOYING"}])
    client = served.login()
    mesh = client.get("/hybridity/api/interconnect/serviceMesh").json()["items"][0]
    task_url = f"/hybridity/api/interconnect/tasks/{mesh['lastTaskDetails']['interconnectTaskId']}"
    assert (mesh["state"], client.get(task_url).json()["status"]) == ("DEPLOYING", "RUNNING")
    served.env.advance(minutes=15)
    assert client.get(task_url).json()["progress"] == 50
    served.env.advance(minutes=15)
    client = served.login()  # the session outlived its 30-minute token
    assert client.get(task_url).json()["status"] == "SUCCESS"
    assert (
        client.get(f"/hybridity/api/interconnect/serviceMesh/{mesh['serviceMeshId']}").json()["state"]
        == "COMMITTED"
    )


def test_a_failed_mesh_has_a_failed_task_with_its_error(make_served: Callable[..., Served]) -> None:
    served = make_served(service_meshes=[{"name": "broken", "state": "UPDATE_FAILED"}])
    client = served.login()
    tasks = client.get("/hybridity/api/interconnect/tasks").json()["items"]
    assert [t["status"] for t in tasks] == ["FAILED"]
    assert tasks[0]["errorMessage"]
    assert tasks[0]["steps"][0]["errors"][0]["message"] == tasks[0]["errorMessage"]


def test_unknown_mesh_and_task_are_404(served: Served) -> None:
    client = served.login()
    assert client.get("/hybridity/api/interconnect/serviceMesh/servicemesh-nope").status_code == 404
    assert client.get("/hybridity/api/interconnect/tasks/nope").status_code == 404


# -- inventory --------------------------------------------------------------------------------------


def post(served: Served, path: str, body: Any, side: str = "source") -> Any:
    response = served.login(side).post(f"/hybridity/api/service/inventory/{path}", json=body)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    return payload["data"]


def test_resource_containers_carry_both_the_flat_and_the_nested_endpoint_fields(served: Served) -> None:
    items = post(served, "resourcecontainer/list", {"filter": {"cloud": {"local": True, "remote": False}}})[
        "items"
    ]
    assert len(items) == 1
    item = items[0]
    assert item["endpointId"] == item["endpoint"]["endpointId"] == served.env.source.endpoint_id
    assert item["endpointName"] == item["endpoint"]["name"]
    assert item["resourceId"] == item["vcuuid"] == served.env.source.vcenter_uuid
    assert item["resourceType"] == "VC"


def test_resource_containers_accept_the_unwrapped_string_filter(served: Served) -> None:
    items = post(served, "resourcecontainer/list", {"cloud": {"local": "true", "remote": "true"}})["items"]
    assert [i["endpointId"] for i in items] == [
        served.env.source.endpoint_id,
        endpoint_id(served.env.world, "destination"),
    ]


def test_remote_inventory_needs_a_pairing(make_served: Callable[..., Served]) -> None:
    served = make_served(paired=False)
    assert post(served, "resourcecontainer/list", {"filter": {"cloud": {"remote": True}}})["items"] == []
    assert post(served, "cloud/list", {"filter": {"remote": True}})["items"] == []


def test_cloud_list_names_the_local_and_the_paired_endpoint(served: Served) -> None:
    local = post(served, "cloud/list", {"filter": {"local": True}})["items"]
    remote = post(served, "cloud/list", {"filter": {"cloud": {"remote": True}}})["items"]
    assert [c["endpointId"] for c in local] == [served.env.source.endpoint_id]
    assert [(c["endpointId"], c["url"]) for c in remote] == [
        (endpoint_id(served.env.world, "destination"), served.urls["destination"])
    ]


def test_networks_list_source_port_groups_and_remote_segments(served: Served) -> None:
    local = post(served, "networks", {"filter": {"cloud": {"local": True}}})["items"]
    assert [(n["name"], n["type"], n["vlanId"]) for n in local] == [
        ("web", "DistributedVirtualPortgroup", 100),
        ("db", "DistributedVirtualPortgroup", 200),
    ]
    assert all(n["entity_id"] == n["id"] == n["href"] for n in local)
    remote_id = endpoint_id(served.env.world, "destination")
    remote = post(served, "networks", {"filter": {"cloud": {"endpointId": remote_id}}})["items"]
    assert [(n["name"], n["type"], n["entity_id"]) for n in remote] == [
        ("seg-web", "NsxtSegment", "/infra/segments/seg-web")
    ]


def test_virtual_machines_are_paged_with_skip_count_and_page_size(make_served: Callable[..., Served]) -> None:
    served = make_served(source={"vm_generators": [{"count": 25, "name_prefix": "gen"}]})
    body: dict[str, Any] = {"filter": {"cloud": {"endpointId": served.env.source.endpoint_id}}}
    first = post(served, "virtualmachines", {**body, "paging": {"skipCount": 0, "pageSize": 10}})
    last = post(served, "virtualmachines", {**body, "paging": {"skipCount": 20, "pageSize": 10}})
    assert first["paging"]["totalCount"] == 28
    assert [v["name"] for v in first["items"]][:4] == ["app01", "app02", "db01", "gen-001"]
    assert [v["name"] for v in last["items"]] == [f"gen-{i:03d}" for i in range(18, 26)]


def test_a_vm_item_has_what_clients_read(served: Served) -> None:
    path = f"virtualmachines?hcspUUID={served.env.source.endpoint_id}"
    vm = post(served, path, {"filter": {"name": "db01"}})["items"][0]
    assert vm["entity_id"] == vm["id"] == "vm-1003"
    assert vm["entityType"] == "VirtualMachine"
    assert vm["summary"]["diskSize"] == 200 * 2**30
    assert vm["powerState"] == "poweredOn"
    assert [(n["name"], n["type"]) for n in vm["network"]] == [("db", "DistributedVirtualPortgroup")]
    assert vm["networkDevices"][0]["network"] == vm["network"][0]["id"]


def test_datastores_report_capacity_and_free_space_in_bytes(served: Served) -> None:
    remote = post(served, "datastores", {"filter": {"cloud": {"remote": True}}})["items"]
    assert [(d["name"], d["entityType"]) for d in remote] == [("vsanDatastore", "Datastore")]
    assert remote[0]["capacity"] == 40000 * 2**30
    assert remote[0]["freeSpace"] == 30000 * 2**30


def test_containers_filter_by_entity_type_and_name_their_origin(served: Served) -> None:
    remote_id = endpoint_id(served.env.world, "destination")
    body = {"filter": {"cloud": {"remote": True}, "entityType": ["resourcePool"], "endpointId": remote_id}}
    pools = post(served, "containers", body)["items"]
    assert [(p["name"], p["entityType"], p["_origin"]["endpointId"]) for p in pools] == [
        ("Compute-ResourcePool", "ResourcePool", remote_id)
    ]
    kinds = {c["entityType"] for c in post(served, "containers", {"filter": {}})["items"]}
    assert kinds == {"Datacenter", "ClusterComputeResource", "ResourcePool", "Folder"}


def test_storage_profiles_list_the_vsan_default_policy(served: Served) -> None:
    items = post(served, "storageProfiles", {"filter": {"entityType": "storageProfile"}})["items"]
    assert [p["name"] for p in items] == ["vSAN Default Storage Policy"]


def test_an_endpoint_that_is_neither_local_nor_paired_is_404(served: Served) -> None:
    response = served.login().post(
        "/hybridity/api/service/inventory/networks", json={"filter": {"cloud": {"endpointId": "nope"}}}
    )
    assert response.status_code == 404


def test_bad_paging_is_a_400_naming_the_field(served: Served) -> None:
    response = served.login().post(
        "/hybridity/api/service/inventory/virtualmachines", json={"paging": {"pageSize": 0}}
    )
    assert response.status_code == 400
    assert "paging.pageSize" in response.json()["errors"][0]["message"]
