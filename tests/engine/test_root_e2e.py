"""End to end over HTTP: a plan POSTed to the app runs preparation, the waves, the cutover and the
report; approve, retry and cancel reach it through their endpoints; the status document shows it all.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.report import MigrationReport
from tests.engine import world
from tests.engine.rig import Rig

pytestmark = pytest.mark.slow

PLAN_ID = "engine-test"


def api(rig: Rig, method: str, path: str, body: Any = None) -> httpx.Response:
    url = f"{rig.runtime.base_url}/api/{path}"
    content = json.dumps(body, default=str) if body is not None else None
    return httpx.request(
        method, url, content=content, headers={"Content-Type": "application/json"}, timeout=60
    )


def submit(rig: Rig, waves: list[dict[str, Any]], **plan: Any) -> None:
    rig.plan = world.plan_for(rig.sandbox, waves, **plan)
    assert api(rig, "POST", "migrations", rig.plan.model_dump(mode="json")).status_code == 202


def finished(rig: Rig, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rig.run(timeout)
        answer = api(rig, "GET", f"migrations/{PLAN_ID}")
        if answer.status_code == 200:
            return dict(answer.json())
        assert time.monotonic() < deadline, answer.text[:2000]
        time.sleep(0.05)


def drive(rig: Rig, until: Any, step: timedelta = timedelta(minutes=10), limit: int = 300) -> dict[str, Any]:
    """A manual clock: move time until `until(view)` holds; the view."""
    for _ in range(limit):
        rig.run()
        view = dict(api(rig, "GET", f"migrations/{PLAN_ID}").json())
        if until(view):
            return view
        rig.advance(step)
    raise AssertionError("the condition never came true")


def wave_of(view: dict[str, Any], name: str) -> dict[str, Any]:
    """The wave's line in the status document ({} before preparation lists it)."""
    return next((w for w in view.get("waves") or [] if w["name"] == name), {})


def test_a_plan_runs_its_waves_cutover_and_report_over_http(tmp_path: Path) -> None:
    with Rig.open(tmp_path) as rig:
        submit(
            rig,
            [
                {"name": "web", "vms": ["web-01", "web-02", "web-03"]},
                {"name": "live", "vms": ["web-04"], "migration": {"type": "vmotion"}},
            ],
            network_cutover={"networks": ["web", "db"]},
        )
        view = finished(rig)
        records = rig.hcx()["migrations"]
    assert (view["phase"], view["result"]["status"]) == ("completed", "completed")
    web, live = wave_of(view, "web"), wave_of(view, "live")
    assert (web["state"], web["instance"], web["counts"]) == (
        "completed",
        f"mig-{PLAN_ID}:wave-01",
        {"migrated": 3},
    )
    assert live["vms"]["web-04"]["state"] == "migrated"
    assert web["vms"]["web-01"]["migration_id"] in {r["id"] for r in records}
    networks = {n["name"]: n for n in view["networks"]}
    assert networks["web"]["state"] == "cut_over"
    assert networks["db"]["state"] == "skipped"
    assert any(f["code"] == "CUTOVER_SKIPPED" for f in view["findings"])
    [location] = [p for p in view["result"]["report"]["locations"] if p.endswith("report.json")]
    report = MigrationReport.model_validate_json(Path(location).read_text())
    assert report.status == "completed"
    assert report.totals.bytes_transferred == sum(r["bytesTransferred"] for r in records)
    assert {vm.name: vm.hcx_migration_ids for vm in report.vms} == {r["vm"]: [r["id"]] for r in records}


def test_approve_releases_a_wave_held_for_approval(tmp_path: Path) -> None:
    with Rig.open(tmp_path, auto_advance=False) as rig:
        submit(
            rig,
            [{"name": "web", "vms": ["web-01", "web-02"]}],
            migration={"type": "bulk", "approval": {"required": True, "timeout": "24h"}},
        )
        view = drive(rig, lambda v: wave_of(v, "web").get("state") == "awaiting_approval")
        assert wave_of(view, "web")["approval"]["requested"] is not None
        assert api(rig, "POST", f"migrations/{PLAN_ID}/approve", {"wave": "nope"}).status_code == 400
        answer = api(rig, "POST", f"migrations/{PLAN_ID}/approve", {"wave": "web", "by": "alice"})
        assert answer.status_code == 202
        assert f"mig-{PLAN_ID}:wave-01" in answer.json()["delivered_to"]
        view = drive(rig, lambda v: v["done"], step=timedelta(minutes=5))
    assert view["phase"] == "completed"
    assert wave_of(view, "web")["approval"]["by"] == "alice"


def test_retry_runs_a_halted_wave_again(tmp_path: Path) -> None:
    scenario = world.scenario(faults={"vm_failures": [{"vm": "web-01", "phase": "transfer", "times": 1}]})
    with Rig.open(tmp_path, scenario) as rig:
        submit(
            rig,
            [{"name": "web", "vms": ["web-01", "web-02"]}, {"name": "db", "vms": ["db-01"]}],
            limits={"max_attempts": 1, "max_failures_per_wave": 0},
        )
        rig.run()
        view = api(rig, "GET", f"migrations/{PLAN_ID}").json()
        assert view["done"] is False
        assert wave_of(view, "web")["state"] == "halted"
        assert "halted" in view.get("detail", "")
        assert wave_of(view, "db")["state"] == "prepared"  # nothing more starts
        assert api(rig, "POST", f"migrations/{PLAN_ID}/retry", {"bogus": 1}).status_code == 400
        assert api(rig, "POST", f"migrations/{PLAN_ID}/retry", {}).status_code == 202
        view = finished(rig)
    assert view["phase"] == "completed"
    assert wave_of(view, "web")["vms"]["web-01"]["state"] == "migrated"
    assert wave_of(view, "web")["vms"]["web-01"]["attempts"] == 2
    assert wave_of(view, "db")["state"] == "completed"


def test_cancel_over_http_ends_the_migration_cancelled_with_a_report(tmp_path: Path) -> None:
    with Rig.open(tmp_path, auto_advance=False) as rig:
        submit(rig, [{"name": "web", "vms": ["web-01", "web-02"]}, {"name": "db", "vms": ["db-01"]}])
        drive(rig, lambda v: wave_of(v, "web").get("state") == "transferring", step=timedelta(minutes=1))
        answer = api(rig, "POST", f"migrations/{PLAN_ID}/cancel", {})
        assert answer.status_code == 202
        assert answer.json()["terminated"] == []  # the wave is told, never terminated
        view = drive(rig, lambda v: v["done"], step=timedelta(minutes=1))
        records = rig.hcx()["migrations"]
    assert view["phase"] == "cancelled"
    assert {r["state"] for r in records} == {"MIGRATION_CANCELLED"}
    assert wave_of(view, "db")["state"] == "prepared"  # never started
    [location] = [p for p in view["result"]["report"]["locations"] if p.endswith("report.json")]
    report = MigrationReport.model_validate_json(Path(location).read_text())
    assert report.status == "cancelled"
    assert {vm.name: vm.state for vm in report.vms} == {
        "web-01": "cancelled",
        "web-02": "cancelled",
        "db-01": "skipped",
    }
