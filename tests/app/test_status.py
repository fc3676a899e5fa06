"""The status view as a pure function of custom statuses and outputs (no histories read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.findings import finding
from shared.status import (
    MAX_STATUS_FINDINGS,
    Snapshot,
    migration_view,
    prepare_status,
    root_status,
    summary_view,
)

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def root(runtime: str = "Running", phase: str = "preflight", output: Any = None, **extra: Any) -> Snapshot:
    custom = root_status(phase=phase, plan_id="weu", digest="d" * 64, updated=NOW, **extra)
    return Snapshot("mig-weu", runtime, custom, output, "2026-01-05T09:00:00Z", "2026-01-05T09:30:00Z")


def prepare(phase: str, runtime: str = "Running", output: Any = None, **extra: Any) -> Snapshot:
    custom = prepare_status(phase=phase, step="doing it", updated=NOW, **extra)
    return Snapshot("mig-weu:prepare", runtime, custom, output)


def test_while_preparing_the_childs_phase_is_the_migrations_phase() -> None:
    view = migration_view(root(), [prepare("pairing", actions=["site pairing: created"])])
    assert (view["phase"], view["step"], view["done"]) == ("pairing", "doing it", False)
    assert view["actions"] == ["site pairing: created"]
    assert "result" not in view


def test_a_blocked_migration_shows_its_findings_errors_first() -> None:
    warning = finding("WAVE_EMPTY", "wave x selects no VMs", resource="/waves/2")
    error = finding("VM_NOT_FOUND_AT_SOURCE", "VM 'ghost' is not there", resource="/waves/0/vms/1")
    view = migration_view(
        root("Completed", "blocked", output={"phase": "blocked"}, findings=[warning, error]),
        [prepare("blocked", "Completed")],
    )
    assert view["phase"] == "blocked"
    assert [f["code"] for f in view["findings"]] == ["VM_NOT_FOUND_AT_SOURCE", "WAVE_EMPTY"]
    assert view["result"] == {"phase": "blocked"}


def test_findings_in_custom_status_are_capped_but_counted() -> None:
    many = [finding("VM_NOT_FOUND_AT_SOURCE", f"VM vm-{i}", resource=f"/waves/0/vms/{i}") for i in range(120)]
    status = root_status(phase="blocked", plan_id="weu", digest="d", updated=NOW, findings=many)
    assert (len(status["findings"]), status["findings_total"]) == (MAX_STATUS_FINDINGS, 120)


def test_terminated_and_failed_roots_read_cancelled_and_failed() -> None:
    assert migration_view(root("Terminated", "pairing"))["phase"] == "cancelled"
    assert migration_view(root("Failed", "pairing"))["phase"] == "failed"


def test_waves_come_from_the_prepared_context_then_the_root_then_the_wave_children() -> None:
    context = {
        "waves": [
            {"name": "pilot", "type": "vmotion", "vms": [{"name": "a", "disk_bytes": 10, "used_bytes": 4}]},
            {
                "name": "web",
                "type": "bulk",
                "vms": [{"name": "b", "disk_bytes": 5}, {"name": "c", "disk_bytes": 5}],
            },
        ]
    }
    child = prepare("prepared", "Completed", output={"state": "prepared", "context": context})
    wave = Snapshot(
        "mig-weu:wave-01",
        "Running",
        {
            "wave": "web",
            "state": "transferring",
            "counts": {"transferring": 2},
            "vms": {"b": ["transferring"]},
        },
    )
    view = migration_view(
        root("Running", "waves", waves=[{"name": "pilot", "state": "completed"}]),
        [child, wave],
    )
    pilot, web = view["waves"]
    assert (pilot["state"], pilot["vm_count"], pilot["disk_bytes"]) == ("completed", 1, 10)
    assert pilot["vms"] == {"a": {"state": "ready"}}
    assert (web["state"], web["instance"], web["counts"]) == (
        "transferring",
        "mig-weu:wave-01",
        {"transferring": 2},
    )
    assert list(web["vms"]) == ["b"]  # the wave's own rows, in one shape: {name: {state, ...}}
    assert web["vms"]["b"]["state"] == "transferring"


def test_the_list_line_needs_only_the_root() -> None:
    line = summary_view(root("Completed", "prepared", waves=[{"name": "a"}, {"name": "b"}]))
    assert line == {
        "id": "weu",
        "instance_id": "mig-weu",
        "runtime_status": "Completed",
        "phase": "prepared",
        "digest": "d" * 64,
        "created": "2026-01-05T09:00:00Z",
        "updated": "2026-01-05T09:30:00Z",
        "findings_total": 0,
        "waves": 2,
    }
