"""The HTTP API end to end: idempotency, conflicts, validation, bad input, listing, cancel, keys.

Bad input never starts an instance and never reaches ARM or HCX: the sandbox's request counters
stay empty. Validation reads but changes nothing: no mutating route is ever counted.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.app.conftest import Factory, Stack, mutating, plan, scenario

SAME = "weu-consolidation"


def count(stack: Stack) -> int:
    return int(stack.get("migrations").json()["count"])


# --- idempotency and conflicts --------------------------------------------------------------------


def test_the_same_plan_resubmitted_returns_the_running_instance_and_a_changed_plan_gets_409(
    stack_factory: Factory,
) -> None:
    with stack_factory(scenario("same-region"), auto_advance=False) as stack:
        first = stack.post("migrations", plan("same-region"))
        stack.settle()
        again = stack.post("migrations", plan("same-region"), content_type="application/yaml")
        changed = stack.post("migrations", plan("same-region", description="another plan"))
        assert (first.status_code, again.status_code, changed.status_code) == (202, 202, 409)
        assert (first.json()["decision"], again.json()["decision"]) == ("start", "existing")
        assert again.json()["started"] is False
        assert again.headers["Location"] == first.headers["Location"]
        assert changed.json()["running_digest"] == first.json()["digest"] != changed.json()["digest"]
        assert count(stack) == 1
        assert stack.drive(SAME)["digest"] == first.json()["digest"]
        # Once it ended, the same plan returns it; a changed plan replaces it.
        assert stack.post("migrations", plan("same-region")).json()["decision"] == "existing"
        replaced = stack.post("migrations", plan("same-region", description="another plan"))
        assert (replaced.status_code, replaced.json()["decision"]) == (202, "start")
        assert stack.drive(SAME)["digest"] == replaced.json()["digest"]


def test_a_resubmission_after_preparation_changes_nothing_in_the_clouds(stack: Stack) -> None:
    assert stack.post("migrations", plan("same-region")).status_code == 202
    stack.finished(SAME)
    before = stack.all_requests()
    again = stack.post("migrations", plan("same-region"))
    stack.settle()
    assert (again.status_code, again.json()["decision"]) == (202, "existing")
    assert stack.all_requests() == before


# --- validate -------------------------------------------------------------------------------------


def test_validate_runs_preflight_only_and_changes_nothing(stack: Stack) -> None:
    response = stack.post("migrations/validate", plan("same-region"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["valid"], [f for f in body["findings"] if f["severity"] == "error"]) == (True, [])
    assert stack.all_requests()  # it did read both clouds
    assert mutating(stack) == []
    assert count(stack) == 0  # no migration was started


def test_validate_reports_findings_and_the_fixes_it_would_make_without_making_them(
    stack_factory: Factory,
) -> None:
    with stack_factory(scenario("same-region", connectivity={"interconnect": False})) as stack:
        data = plan("same-region", connectivity={"allow_create": True})
        data["waves"][0]["vms"].append("ghost-01")
        body = stack.post("migrations/validate", data).json()
        assert mutating(stack) == []
    assert body["valid"] is False
    assert [(f["code"], f["resource"]) for f in body["findings"] if f["severity"] == "error"] == [
        ("VM_NOT_FOUND_AT_SOURCE", "/waves/0/vms/3")
    ]
    assert body["actions"] == ["create AVS Interconnect from pc-weu-prod to pc-weu-new"]


def test_validate_with_an_add_on_to_install_says_so_and_installs_nothing(stack_factory: Factory) -> None:
    with stack_factory(scenario("cross-region", destination={"hcx": {"addon": "none"}})) as stack:
        body = stack.post("migrations/validate", plan("cross-region", hcx={"install_addon": True})).json()
        assert mutating(stack) == []
    assert body["valid"] is True
    assert body["actions"] == [
        "install the HCX add-on (Enterprise) on the destination private cloud pc-neu-prod"
    ]


# --- bad input ------------------------------------------------------------------------------------


def _bad_plans() -> list[tuple[str, str, str, str]]:
    good = plan("same-region")
    import json

    def text(data: dict[str, Any]) -> str:
        return json.dumps(data, default=str)

    two_waves = plan("same-region")
    two_waves["waves"][1]["vms"] = ["ops-jump-01"]
    typo = plan("same-region")
    typo["waves"][0]["vmz"] = typo["waves"][0].pop("vms")
    bad_cloud = {
        **good,
        "source": "/subscriptions/nope/resourceGroups/rg/providers/Microsoft.AVS/privateClouds/pc",
    }
    window = plan("same-region")
    window["waves"][2]["migration"]["type"] = "cold"
    return [
        ("malformed JSON", '{"id": "x",', "application/json", ""),
        ("duplicate YAML key", "id: a\nid: b\n", "application/yaml", ""),
        ("empty body", "", "application/json", ""),
        ("a VM in two waves", text(two_waves), "application/json", "/waves/1/vms/0"),
        ("an unknown field", text(typo), "application/json", "/waves/0/vmz"),
        ("a malformed cloud id", text(bad_cloud), "application/json", "/source"),
        ("a window on a cold wave", text(window), "application/json", "/waves/2/migration/switchover_window"),
    ]


@pytest.mark.parametrize(("case", "body", "media", "path"), _bad_plans(), ids=[c[0] for c in _bad_plans()])
@pytest.mark.parametrize("endpoint", ["migrations", "migrations/validate"])
def test_a_bad_plan_gets_400_naming_the_field_and_reaches_nothing(
    stack: Stack, endpoint: str, case: str, body: str, media: str, path: str
) -> None:
    response = stack.post(endpoint, body, content_type=media)
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert path in [e["path"] for e in errors], errors
    assert all(e["message"] for e in errors)
    assert {f["code"] for f in response.json()["findings"]} == {"PLAN_INVALID"}
    stack.settle()
    assert count(stack) == 0
    assert stack.all_requests() == {}


# --- list, status, cancel -------------------------------------------------------------------------


def test_migrations_are_listed_with_filters(stack: Stack) -> None:
    assert stack.post("migrations", plan("same-region")).status_code == 202
    assert (
        stack.post(
            "migrations", plan("same-region", id="weu-blocked", waves=[{"name": "w", "vms": ["ghost"]}])
        ).status_code
        == 202
    )
    stack.finished(SAME)
    stack.finished("weu-blocked")
    every = stack.get("migrations").json()
    assert sorted((m["id"], m["phase"]) for m in every["migrations"]) == [
        ("weu-blocked", "blocked"),
        (SAME, "completed"),
    ]
    assert [m["id"] for m in stack.get("migrations", phase="blocked").json()["migrations"]] == ["weu-blocked"]
    assert stack.get("migrations", status="Completed").json()["count"] == 2
    assert stack.get("migrations", status="Running").json()["count"] == 0
    assert [m["id"] for m in stack.get("migrations", prefix="weu-c").json()["migrations"]] == [SAME]
    assert stack.get("migrations", status="Sleeping").status_code == 400
    assert stack.get("migrations", created_from="yesterday").status_code == 400


def test_unknown_and_malformed_migration_ids_are_404_and_400(stack: Stack) -> None:
    assert stack.get("migrations/no-such-plan").status_code == 404
    assert stack.get("migrations/Not_A_Plan").status_code == 400
    assert stack.post("migrations/no-such-plan/cancel", "").status_code == 404


def test_cancel_stops_the_preparation_and_its_child(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region"), auto_advance=False) as stack:
        assert stack.post("migrations", plan("same-region")).status_code == 202
        stack.settle()
        cancelled = stack.post(f"migrations/{SAME}/cancel", "")
        assert cancelled.status_code == 202, cancelled.text
        assert cancelled.json()["terminated"] == [f"mig-{SAME}:prepare"]
        view = stack.drive(SAME)
        child = stack.runtime.get_status(f"mig-{SAME}:prepare")
        assert (view["phase"], child["runtimeStatus"]) == ("cancelled", "Terminated")
        assert stack.post(f"migrations/{SAME}/cancel", "").status_code == 409
        # A cancelled plan sent again runs again.
        assert stack.post("migrations", plan("same-region")).json()["decision"] == "restart"


def test_with_function_keys_the_location_carries_the_callers_key(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region"), settings={"LOCAL_FUNCTION_KEYS": "key-1"}) as stack:
        body = plan("same-region")
        import json

        url = f"{stack.api}/migrations"
        refused = httpx.post(url, content=json.dumps(body, default=str), timeout=30)
        accepted = httpx.post(
            url, content=json.dumps(body, default=str), headers={"x-functions-key": "key-1"}, timeout=30
        )
        assert (refused.status_code, accepted.status_code) == (401, 202)
        location = accepted.headers["Location"]
        assert location == f"{url}/{SAME}?code=key-1"
        stack.settle()
        assert httpx.get(location, timeout=30).status_code == 200
