"""End to end: switchover windows, approvals (given and timing out) and cancels in mid-wave.

Where the test must act at a given moment the clock is manual (`auto_advance=False`) and the test
moves it (`rig.advance`); otherwise virtual time runs on its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.rig import Rig

pytestmark = pytest.mark.slow

WINDOW_START = datetime.fromisoformat("2026-01-05T16:00:00+00:00")
WINDOW = {"start": "2026-01-05T16:00:00Z", "end": "2026-01-05T22:00:00Z"}


def advance_until(rig: Rig, done: Callable[[], bool], step: timedelta, limit: int = 100) -> None:
    for _ in range(limit):
        if done():
            return
        rig.advance(step)
    raise AssertionError("the condition never came true")


def events_logged(caplog: pytest.LogCaptureFixture, kind: str) -> list[dict[str, Any]]:
    found = []
    for record in caplog.records:
        message = record.getMessage()
        if record.name == "hcx_conductor.events" and message.startswith("event "):
            event = json.loads(message[len("event ") :])
            if event["type"] == f"HcxConductor.{kind}":
                found.append(event)
    return found


def test_an_approved_wave_switches_over_inside_its_window(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hcx_conductor.events")
    with Rig.open(tmp_path, auto_advance=False) as rig:
        rig.prepare(
            [{"name": "web", "vms": ["web-01", "web-02", "db-01"]}],
            migration={"switchover_window": WINDOW, "approval": {"required": True, "timeout": "12h"}},
        )
        instance = rig.start_wave()
        rig.run()
        advance_until(
            rig, lambda: rig.custom(instance)["state"] == "awaiting_approval", timedelta(minutes=15)
        )
        custom = rig.custom(instance)
        assert custom["approval"]["requested"] is not None
        assert {m["state"] for m in rig.hcx()["migrations"]} == {"WAITING_FOR_SWITCHOVER"}
        [asked] = events_logged(caplog, "ApprovalNeeded")
        assert asked["subject"] == "migrations/engine-test/waves/web"
        # Time passes without approval: nothing switches over, even inside the window.
        rig.advance(timedelta(hours=1))
        assert {m["state"] for m in rig.hcx()["migrations"]} == {"WAITING_FOR_SWITCHOVER"}
        rig.raise_event(instance, "approve", {"wave": "web", "by": "alice", "request_id": "r-1"})
        advance_until(
            rig, lambda: rig.status(instance)["runtimeStatus"] == "Completed", timedelta(minutes=30)
        )
        assert rig.status(instance)["output"]["outcome"] == "completed"
        for migration in rig.hcx()["migrations"]:
            assert datetime.fromisoformat(migration["switchoverStart"]) >= WINDOW_START
        assert rig.custom(instance)["approval"]["by"] == "alice"
        assert len(events_logged(caplog, "VmMigrated")) == 3


def test_an_approval_that_times_out_skips_the_wave(tmp_path: Path) -> None:
    with Rig.open(tmp_path) as rig:
        rig.prepare(
            [{"name": "web", "vms": ["web-01", "web-02"]}],
            migration={"approval": {"required": True, "timeout": "2h", "on_timeout": "skip_wave"}},
        )
        instance = rig.start_wave()
        rig.run()
        output = rig.status(instance)["output"]
        assert output["outcome"] == "skipped"
        assert {m["state"] for m in rig.hcx()["migrations"]} == {"MIGRATION_CANCELLED"}
        custom = rig.custom(instance)
        assert custom["approval"]["outcome"] == "skipped"
        assert {row[0] for row in custom["vms"].values()} == {"cancelled"}
        assert any(code == "APPROVAL_TIMED_OUT" for _, code, _ in custom["warnings"])


def test_an_approval_that_times_out_may_proceed(tmp_path: Path) -> None:
    with Rig.open(tmp_path) as rig:
        rig.prepare(
            [{"name": "web", "vms": ["web-01"]}],
            migration={"approval": {"required": True, "timeout": "2h", "on_timeout": "proceed"}},
        )
        instance = rig.start_wave()
        rig.run()
        assert rig.status(instance)["output"]["outcome"] == "completed"
        assert rig.custom(instance)["approval"]["outcome"] == "proceeded"
        [migration] = rig.hcx()["migrations"]
        waited = datetime.fromisoformat(migration["switchoverStart"]) - datetime.fromisoformat(
            migration["transferEnd"]
        )
        assert waited >= timedelta(hours=2)


def test_cancel_in_mid_wave_stops_all_but_what_is_switching_over(tmp_path: Path) -> None:
    with Rig.open(tmp_path, auto_advance=False) as rig:
        rig.prepare(
            [{"name": "mixed", "vms": ["web-01", "app-01", "db-01", "db-02"]}],
            limits={"max_concurrent_migrations": 3},
        )
        instance = rig.start_wave()
        rig.run()
        rig.advance(timedelta(minutes=2))
        # One VM first: db-01 is transferring.
        rig.raise_event(instance, "cancel", {"vm": "db-01", "request_id": "c-1"})
        rig.advance(timedelta(minutes=2))
        assert [m["state"] for m in rig.migrations_of("db-01")] == ["MIGRATION_CANCELLED"]

        def switching() -> bool:
            return any(m["state"] == "SWITCHOVER_IN_PROGRESS" for m in rig.hcx()["migrations"])

        advance_until(rig, switching, timedelta(seconds=30))
        [moving] = [m["vm"] for m in rig.hcx()["migrations"] if m["state"] == "SWITCHOVER_IN_PROGRESS"]
        rig.raise_event(instance, "cancel", {"request_id": "c-2"})
        advance_until(rig, lambda: rig.status(instance)["runtimeStatus"] == "Completed", timedelta(minutes=5))
        output = rig.status(instance)["output"]
        assert (output["outcome"], output["cancel_scope"]) == ("cancelled", "migration")
        states = {name: row[0] for name, row in rig.custom(instance)["vms"].items()}
        assert states[moving] == "migrated"  # it had switched over: reported as it ended
        assert all(state == "cancelled" for name, state in states.items() if name != moving)
        for migration in rig.hcx()["migrations"]:
            expected = "MIGRATION_COMPLETE" if migration["vm"] == moving else "MIGRATION_CANCELLED"
            assert migration["state"] == expected


def test_events_that_arrive_together_are_each_applied_once(tmp_path: Path) -> None:
    with Rig.open(tmp_path, auto_advance=False) as rig:
        rig.prepare(
            [{"name": "mixed", "vms": ["web-01", "web-02", "app-01", "db-01"]}],
            limits={"max_concurrent_migrations": 1},
        )
        instance = rig.start_wave()
        rig.run()
        # Three events queued while the wave sleeps: two VMs cancelled, one of them sent twice.
        url = f"{rig.runtime.durable_base_url}/instances/{instance}/raiseEvent/cancel"
        for body in (
            {"vm": "web-01", "request_id": "a"},
            {"vm": "web-02", "request_id": "b"},
            {"vm": "web-01", "request_id": "a"},
        ):
            assert httpx.post(url, json=body, timeout=30).status_code == 202
        rig.run()
        advance_until(
            rig, lambda: rig.status(instance)["runtimeStatus"] == "Completed", timedelta(minutes=10)
        )
        custom = rig.custom(instance)
        output = rig.status(instance)["output"]
    states = {name: row[0] for name, row in custom["vms"].items()}
    assert (states["web-01"], states["web-02"]) == ("cancelled", "cancelled")
    assert (states["app-01"], states["db-01"]) == ("migrated", "migrated")
    timeline = [text for _, text in output["state"]["timeline"]]
    assert timeline.count("cancel requested for web-01") == 1  # the repeated delivery was dropped
    assert timeline.count("cancel requested for web-02") == 1
