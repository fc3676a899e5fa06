"""End to end: the wave sub-orchestrator on the local runtime against the sandbox, on virtual time.

Each test starts `migrate_wave` directly, as the root orchestrator does, with a `PreparedContext`
read from the sandbox by the real HCX client, and checks the outcome against the sandbox's own
records (`introspect()`: migrations, starts per VM, concurrency peaks, inventories).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.engine import world
from tests.engine.rig import Rig

pytestmark = pytest.mark.slow


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_all_four_migration_types_complete_and_are_verified(tmp_path: Path) -> None:
    waves = [
        {"name": "bulk", "vms": ["web-01", "web-02"]},
        {"name": "rav", "vms": ["app-01", "app-02"], "migration": {"type": "rav"}},
        {"name": "vmotion", "vms": ["web-03", "web-04"], "migration": {"type": "vmotion"}},
        {"name": "cold", "vms": ["cold-01", "cold-02"], "migration": {"type": "cold"}},
    ]
    with Rig.open(tmp_path) as rig:
        rig.prepare(waves)
        for index in range(4):
            instance = rig.start_wave(index)
            rig.run()
            result = rig.status(instance)["output"]
            assert result["outcome"] == "completed", rig.custom(instance)
        kinds = {m["vm"]: (m["type"], m["state"]) for m in rig.hcx()["migrations"]}
        assert kinds == {
            "web-01": ("Bulk", "MIGRATION_COMPLETE"),
            "web-02": ("Bulk", "MIGRATION_COMPLETE"),
            "app-01": ("RAV", "MIGRATION_COMPLETE"),
            "app-02": ("RAV", "MIGRATION_COMPLETE"),
            "web-03": ("vMotion", "MIGRATION_COMPLETE"),
            "web-04": ("vMotion", "MIGRATION_COMPLETE"),
            "cold-01": ("Cold", "MIGRATION_COMPLETE"),
            "cold-02": ("Cold", "MIGRATION_COMPLETE"),
        }
        assert rig.sandbox.stats()["migration_starts"] == dict.fromkeys(kinds, 1)
        vmotions = sorted(
            (m for m in rig.hcx()["migrations"] if m["type"] == "vMotion"), key=lambda m: m["created"]
        )
        assert at(vmotions[1]["created"]) >= at(vmotions[0]["completed"])  # one vMotion at a time
        with world.hcx_for(rig.sandbox) as hcx:
            dest = {vm.name: vm for vm in hcx.virtual_machines(rig.prepared.pairing.destination.endpoint_id)}
            source = {vm.name for vm in hcx.virtual_machines(rig.prepared.pairing.source.endpoint_id)}
        assert set(dest) >= set(kinds)
        assert not dest["cold-01"].powered_on
        assert dest["web-01"].powered_on
        assert "web-01" not in source  # Bulk leaves it renamed
        assert any(name.startswith("web-01-") for name in source)


def test_a_vm_that_fails_twice_succeeds_on_its_third_attempt_with_seed_checkpoint(tmp_path: Path) -> None:
    scenario = world.scenario(faults={"vm_failures": [{"vm": "db-01", "phase": "transfer", "times": 2}]})
    with Rig.open(tmp_path, scenario) as rig:
        rig.prepare([{"name": "db", "vms": ["db-01", "db-02"]}], limits={"max_attempts": 3})
        instance = rig.start_wave()
        rig.run()
        output = rig.status(instance)["output"]
        assert output["outcome"] == "completed"
        attempts = sorted(rig.migrations_of("db-01"), key=lambda m: m["attempt"])
        assert [(m["attempt"], m["state"]) for m in attempts] == [
            (1, "TRANSFER_FAILED"),
            (2, "TRANSFER_FAILED"),
            (3, "MIGRATION_COMPLETE"),
        ]
        assert attempts[1]["seededBytes"] > 0  # the retry resumed from the seed checkpoint
        assert attempts[2]["seededBytes"] > 0
        row = next(r for r in rig.custom(instance)["vms"].items() if r[0] == "db-01")[1]
        assert row[:2] == ["migrated", 3]
        names = [vm["name"] for vm in rig.prepared.for_wave(0).waves[0].model_dump()["vms"]]
        state = output["state"]["vms"][names.index("db-01")]
        assert state[3] == [m["id"] for m in attempts]  # every HCX migration id, oldest first
        assert rig.sandbox.stats()["migration_starts"]["db-01"] == 3


def test_a_wave_halts_when_failures_exceed_its_limit(tmp_path: Path) -> None:
    # The two largest VMs start first (admission order) and both fail: two failures, limit one.
    failures = [{"vm": vm, "phase": "transfer", "times": 5} for vm in ("db-01", "db-02")]
    scenario = world.scenario(faults={"vm_failures": failures})
    with Rig.open(tmp_path, scenario) as rig:
        rig.prepare(
            [{"name": "mixed", "vms": ["db-01", "db-02", "app-01", "web-01", "web-02"]}],
            limits={"max_attempts": 1, "max_failures_per_wave": 1, "max_concurrent_migrations": 2},
        )
        instance = rig.start_wave()
        rig.run()
        output = rig.status(instance)["output"]
        assert output["outcome"] == "halted"
        custom = rig.custom(instance)
        assert custom["halted"] is True
        states = {name: row[0] for name, row in custom["vms"].items()}
        assert states["db-01"] == states["db-02"] == "failed"
        assert states["web-01"] == states["web-02"] == "skipped"  # never started after the halt
        started = rig.sandbox.stats()["migration_starts"]
        assert set(started) <= {"db-01", "db-02", "app-01"}
        assert all(count == 1 for count in started.values())
        if "app-01" in started:  # it started between the two failures and finished in flight
            assert states["app-01"] == "migrated"


def test_admission_never_exceeds_the_plans_limit(tmp_path: Path) -> None:
    vms = ["web-01", "web-02", "web-03", "web-04", "app-01", "app-02", "db-01", "db-02"]
    with Rig.open(tmp_path) as rig:
        rig.prepare([{"name": "all", "vms": vms}], limits={"max_concurrent_migrations": 3})
        instance = rig.start_wave()
        rig.run()
        assert rig.status(instance)["output"]["outcome"] == "completed"
        peaks = rig.hcx()["concurrency"]["peaks"]
        assert peaks["concurrent_migrations"] == 3
        assert max(v for k, v in peaks.items() if k.startswith("mesh:")) == 3
        assert rig.hcx()["queued"] == []
        assert rig.sandbox.stats()["migration_starts"] == dict.fromkeys(vms, 1)


def test_a_powered_off_vm_moved_by_bulk_stays_off_and_verifies(tmp_path: Path) -> None:
    with Rig.open(tmp_path) as rig:
        rig.prepare([{"name": "bulk", "vms": ["cold-01", "web-01"]}])
        instance = rig.start_wave()
        rig.run()
        assert rig.status(instance)["output"]["outcome"] == "completed", rig.custom(instance)
        with world.hcx_for(rig.sandbox) as hcx:
            dest = {vm.name: vm for vm in hcx.virtual_machines(rig.prepared.pairing.destination.endpoint_id)}
        assert (dest["cold-01"].powered_on, dest["web-01"].powered_on) == (False, True)
