"""Mobility migration routes over TLS: validate, start, query (v2 and v1), cancel, exactly-once labels."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Served

MOBILITY = "/hybridity/api/mobility/migrations"


def query(
    client: httpx.Client,
    flt: dict[str, Any] | None = None,
    path: str = "/hybridity/api/migrations",
    **extra: Any,
) -> Any:
    body = {"filter": flt or {}, "options": {"resultLevel": "MOBILITYGROUP_ITEMS", "compat": 2.1}, **extra}
    response = client.post(path, params={"action": "query"}, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_validate_answers_202_for_good_items_and_400_listing_errors(served: Served) -> None:
    env, client = served.env, served.login()
    ok = client.post(f"{MOBILITY}/validate", json={"items": [env.item("app01")]})
    assert ok.status_code == 202
    assert ok.json()["items"][0]["errors"] is None
    bad = client.post(f"{MOBILITY}/validate", json={"items": [env.item("app01", networkParams={})]})
    assert bad.status_code == 400
    assert bad.json()["items"][0]["errors"][0]["code"] == "MISSING_NETWORK_MAPPING"


def test_start_answers_202_with_migration_and_group_ids(served: Served) -> None:
    env, client = served.env, served.login()
    response = client.post(f"{MOBILITY}/start", json={"items": [env.item("app01"), env.item("app02")]})
    assert response.status_code == 202
    items = response.json()["items"]
    assert [i["entityId"] for i in items] == ["vm-1001", "vm-1002"]
    assert items[0]["migrationGroupId"] == items[1]["migrationGroupId"]
    assert items[0]["migrationId"] != items[1]["migrationId"]
    assert env.world.stats.snapshot()["counters"]["migration_starts"] == {"app01": 1, "app02": 1}


def test_start_with_nothing_startable_is_400(served: Served) -> None:
    env, client = served.env, served.login()
    response = client.post(f"{MOBILITY}/start", json={"items": [env.item("app01", migrationType="Teleport")]})
    assert response.status_code == 400
    assert response.json()["items"][0]["errors"][0]["code"] == "MIGRATION_TYPE_NOT_SUPPORTED"


@pytest.mark.parametrize("path", ["/hybridity/api/migrations", "/hybridity/api/migrations/"])
def test_query_v2_shows_state_and_byte_progress(served: Served, path: str) -> None:
    env, client = served.env, served.login()
    mid = client.post(f"{MOBILITY}/start", json={"items": [env.item("app01")]}).json()["items"][0][
        "migrationId"
    ]
    env.advance(minutes=3)
    [item] = query(client, {"migrationId": [mid]}, path=path)["data"]["items"]
    assert item["version"] == 2
    assert item["migrationId"] == mid
    assert item["state"] == "TRANSFER_IN_PROGRESS"
    assert item["migrationType"] == "vSphereReplication"
    assert item["entity"]["entityName"] == "app01"
    total = item["progress"]["total"]
    assert total["value"] == 50 * 2**30
    assert total["bytesTransferred"] == pytest.approx(180 * 1e9 / 8, rel=1e-6)
    assert item["progress"]["percentComplete"] == int(100 * total["bytesTransferred"] / total["value"])
    assert item["progress"]["isDone"] is False
    env.advance(hours=1)
    client = served.login()  # the token from before the hour has expired
    [done] = query(client, {"migrationId": [mid]})["data"]["items"]
    assert (done["state"], done["progress"]["isDone"], done["progress"]["percentComplete"]) == (
        "MIGRATION_COMPLETE",
        True,
        100,
    )


def test_query_filters_and_pages(served: Served) -> None:
    env, client = served.env, served.login()
    started = client.post(
        f"{MOBILITY}/start", json={"items": [env.item(n) for n in ("app01", "app02", "db01")]}
    ).json()
    ids = [i["migrationId"] for i in started["items"]]
    by_entity = query(client, {"entityId": ["vm-1003"]})["data"]["items"]
    assert [i["migrationId"] for i in by_entity] == [ids[2]]
    by_state = query(client, {"state": ["TRANSFER_IN_PROGRESS"]})["data"]["items"]
    assert len(by_state) == 3
    by_group = query(client, {"migrationGroupId": [started["items"][0]["migrationGroupId"]]})["data"]
    assert by_group["paging"]["totalSize"] == 3
    page = query(client, {}, paging={"pageSize": 2, "offset": 2})["data"]
    assert [i["migrationId"] for i in page["items"]] == [ids[2]]
    assert query(client, {"state": ["MIGRATION_COMPLETE"]})["data"]["items"] == []


def test_tags_and_group_name_let_a_client_find_the_migration_it_started(served: Served) -> None:
    env, client = served.env, served.login()
    label = "conductor:plan-7/wave-1/app01"
    item = env.item("app01", tags=[label])
    client.post(f"{MOBILITY}/start", json={"items": [item], "migrationGroupName": "wave-1"})
    [found] = query(client, {"tags": [label]})["data"]["items"]
    assert found["tags"] == [label]
    assert found["migrationGroupName"] == "wave-1"
    assert [i["tags"] for i in query(client, {"migrationGroupName": "wave-1"})["data"]["items"]] == [[label]]
    assert query(client, {"tags": ["conductor:other"]})["data"]["items"] == []
    # Starting the same VM again is refused, so a retried start cannot double-migrate.
    again = client.post(f"{MOBILITY}/start", json={"items": [item]})
    assert again.status_code == 400
    assert again.json()["items"][0]["errors"][0]["code"] == "DUPLICATE_MIGRATION"
    assert env.world.stats.snapshot()["counters"]["migration_starts"]["app01"] == 1


def test_query_without_compat_answers_the_legacy_rows(served: Served) -> None:
    env, client = served.env, served.login()
    mid = client.post(f"{MOBILITY}/start", json={"items": [env.item("app01")]}).json()["items"][0][
        "migrationId"
    ]
    rows = client.post("/hybridity/api/migrations", params={"action": "query"}, json={}).json()["rows"]
    assert rows[0]["migrationId"] == mid
    assert rows[0]["jobInfo"]["state"] == "MIGRATING"
    assert rows[0]["migrationInfo"]["entityDetails"]["entityName"] == "app01"
    by_id = client.post(
        "/hybridity/api/migrations", params={"action": "query"}, json={"filter": {"migrationId": [mid]}}
    )
    assert by_id.json()["items"][0]["migrationId"] == mid


def test_cancel_by_action_and_force_cancel_by_group(served: Served) -> None:
    env, client = served.env, served.login()
    started = client.post(f"{MOBILITY}/start", json={"items": [env.item("app01"), env.item("app02")]}).json()[
        "items"
    ]
    cancel = client.post(
        "/hybridity/api/migrations",
        params={"action": "cancel"},
        json={"migrationIds": [started[0]["migrationId"]]},
    )
    assert cancel.status_code == 200
    assert cancel.json()["items"][0]["state"] == "CANCEL_IN_PROGRESS"
    forced = client.post(
        f"{MOBILITY}/forceCancel", json={"items": [{"migrationGroupId": started[0]["migrationGroupId"]}]}
    )
    assert forced.status_code == 200
    assert [i["migrationId"] for i in forced.json()["items"]] == [i["migrationId"] for i in started]
    env.advance(minutes=1)
    states = {i["state"] for i in query(client)["data"]["items"]}
    assert states == {"MIGRATION_CANCELLED"}


def test_cancelling_an_unknown_migration_is_404(served: Served) -> None:
    response = served.login().post(
        "/hybridity/api/migrations", params={"action": "cancel"}, json={"migrationIds": ["nope"]}
    )
    assert response.status_code == 404


def test_the_legacy_start_action_points_to_the_mobility_api(served: Served) -> None:
    response = served.login().post(
        "/hybridity/api/migrations", params={"action": "start"}, json={"migrations": []}
    )
    assert response.status_code == 400
    assert "/mobility/migrations/start" in response.json()["errors"][0]["message"]


def test_a_body_that_is_not_json_is_a_400(served: Served) -> None:
    response = served.login().post(
        f"{MOBILITY}/start", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "body: not valid JSON"


def test_after_a_bulk_migration_both_inventories_show_it(served: Served) -> None:
    env, client = served.env, served.login()
    client.post(f"{MOBILITY}/start", json={"items": [env.item("app01")]})
    env.advance(hours=1)
    client = served.login()
    inventory = "/hybridity/api/service/inventory/virtualmachines"
    local = client.post(inventory, json={"filter": {"cloud": {"local": True}}}).json()["data"]["items"]
    left = next(v for v in local if v["entity_id"] == "vm-1001")
    assert left["name"].startswith("app01-")
    assert left["name"].removeprefix("app01-").isdigit()
    assert left["powerState"] == "poweredOff"
    remote = client.post(inventory, json={"filter": {"cloud": {"remote": True}}}).json()["data"]["items"]
    arrived = next(v for v in remote if v["name"] == "app01")
    assert arrived["powerState"] == "poweredOn"
    assert [(n["name"], n["type"]) for n in arrived["network"]] == [("seg-web", "NsxtSegment")]
    remote_view = served.login("destination").post(inventory, json={"filter": {"name": "app01"}}).json()
    assert remote_view["data"]["items"][0]["entity_id"] == arrived["entity_id"]
