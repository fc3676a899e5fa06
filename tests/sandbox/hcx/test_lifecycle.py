"""The migration state machines on a virtual clock: Bulk, RAV, vMotion, Cold, windows and cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from sandbox.hcx.exceptions import Conflict
from sandbox.hcx.models.lifecycle import RPO_SECONDS

from .conftest import Env

GIB = 2**30
GBPS = 1e9 / 8


def seconds_at(rate_gbps: float, gib: float) -> float:
    return gib * GIB / (rate_gbps * GBPS)


def at(m: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(m[key])


def test_bulk_base_sync_runs_at_one_gbps_then_switches_over_and_renames_the_source(env: Env) -> None:
    [mid] = env.start(env.item("app01"))
    assert env.state(mid) == "TRANSFER_IN_PROGRESS"
    env.advance(hours=1)
    m = env.migration(mid)
    assert m["state"] == "MIGRATION_COMPLETE"
    base = (at(m, "transferEnd") - at(m, "transferStart")).total_seconds()
    assert base == pytest.approx(seconds_at(1.0, 50))
    # Switchover: power off (60 s), final sync of everything written since the base sync began, power
    # on (120 s).
    churn = 0.5 * GIB * (base + 60) / 3600
    switchover = (at(m, "switchoverEnd") - at(m, "switchoverStart")).total_seconds()
    assert switchover == pytest.approx(180 + churn / GBPS)
    assert m["bytesTransferred"] == m["bytesTotal"] == pytest.approx(50 * GIB + churn, abs=2)
    renamed = [v for v in env.source.vms.values() if v.name.startswith("app01-")]
    assert len(renamed) == 1
    assert renamed[0].name == f"app01-{int(at(m, 'completed').timestamp())}"
    assert renamed[0].power_state == "off"
    arrived = env.destination.vm_by_name("app01")
    assert arrived is not None
    assert (arrived.power_state, arrived.networks, arrived.arrived_by) == ("on", ["seg-web"], mid)
    assert env.destination.datastores["datastore-11"].free_gb == 30000 - 100


def test_bulk_waits_for_its_window_with_delta_syncs_every_two_hours(env: Env) -> None:
    window = {"schedule": {"startTime": env.ms(hours=7), "expiryTime": env.ms(hours=9)}}
    [mid] = env.start(env.item("app01", switchoverParams=window))
    env.advance(hours=1)
    m = env.migration(mid)
    assert m["state"] == "WAITING_FOR_SWITCHOVER"
    assert m["deltaSyncs"] == 0
    env.advance(hours=5, minutes=59)
    m = env.migration(mid)
    assert m["state"] == "WAITING_FOR_SWITCHOVER"
    # Base sync started at 0; deltas at 2 h, 4 h and 6 h, each moving ~2 h of churn (1 GiB).
    assert m["deltaSyncs"] == 3
    deltas = [e for e in env.world.events if e.kind == "delta_sync"]
    assert [round((e.at - env.world.scenario.start).total_seconds() / 60) for e in deltas] == [120, 240, 360]
    assert dict(deltas[1].detail)["bytes"] == pytest.approx(GIB, rel=0.01)
    env.advance(minutes=1)
    assert env.state(mid) == "SWITCHOVER_IN_PROGRESS"
    env.advance(minutes=10)
    m = env.migration(mid)
    assert m["state"] == "MIGRATION_COMPLETE"
    assert at(m, "switchoverStart") == at(m, "created").replace(hour=16)


def test_a_window_that_expires_before_the_switchover_fails_the_migration(env: Env) -> None:
    # db01 needs ~14 min of base sync; the window closes after 10.
    window = {"schedule": {"startTime": env.ms(minutes=5), "expiryTime": env.ms(minutes=10)}}
    [mid] = env.start(env.item("db01", switchoverParams=window))
    env.advance(minutes=30)
    m = env.migration(mid)
    assert m["state"] == "MIGRATION_FAILED"
    assert "window expired" in m["errors"][0]
    assert env.source.vm_by_name("db01").power_state == "on"  # type: ignore[union-attr]
    assert env.destination.vm_by_name("db01") is None


def test_rav_replicates_in_parallel_and_switches_over_one_at_a_time(env: Env) -> None:
    a, b = env.start(env.item("app01", "RAV"), env.item("app02", "RAV"))
    env.advance(minutes=1)
    assert (env.state(a), env.state(b)) == ("TRANSFER_IN_PROGRESS", "TRANSFER_IN_PROGRESS")
    env.advance(hours=2)
    first, second = env.migration(a), env.migration(b)
    assert (first["state"], second["state"]) == ("MIGRATION_COMPLETE", "MIGRATION_COMPLETE")
    # Both base syncs shared one appliance (0.8 Gbps each) and ended together...
    assert at(first, "transferEnd") == at(second, "transferEnd")
    assert (at(first, "transferEnd") - at(first, "transferStart")).total_seconds() == pytest.approx(
        seconds_at(0.8, 50)
    )
    # ...but the second cutover began only when the first had finished.
    assert at(second, "switchoverStart") >= at(first, "switchoverEnd")
    assert env.source.vm_by_name("app01") is None  # RAV moves the VM
    assert env.destination.vm_by_name("app01") is not None


def test_rav_cutovers_on_different_appliances_overlap(make_env: Callable[..., Env]) -> None:
    env = make_env(service_meshes=[{"name": "mesh-1", "ix_appliances": 2}])
    a, b = env.start(env.item("app01", "RAV"), env.item("app02", "RAV"))
    env.advance(hours=1)
    first, second = env.migration(a), env.migration(b)
    assert first["appliance"] != second["appliance"]
    assert at(second, "switchoverStart") < at(first, "switchoverEnd")


def test_vmotion_runs_one_at_a_time(env: Env) -> None:
    a, b = env.start(env.item("app01", "vMotion"), env.item("app02", "vMotion"))
    env.advance(minutes=1)
    assert (env.state(a), env.state(b)) == ("TRANSFER_IN_PROGRESS", "QUEUED")
    env.advance(hours=1)
    first, second = env.migration(a), env.migration(b)
    assert at(second, "transferStart") == at(first, "completed")
    # vMotion copies used disk and memory (4 GiB) at 1 Gbps, then switches in 30 s.
    assert (at(first, "completed") - at(first, "transferStart")).total_seconds() == pytest.approx(
        seconds_at(1.0, 54) + 30
    )
    assert env.destination.vm_by_name("app02").power_state == "on"  # type: ignore[union-attr]


def test_cold_copies_a_powered_off_vm_which_arrives_powered_off(make_env: Callable[..., Env]) -> None:
    env = make_env(
        source={"vms": [{"name": "off01", "power_state": "off", "networks": ["web"], "used_gb": 10}]}
    )
    [mid] = env.start(env.item("off01", "ColdMigration"))
    env.advance(minutes=5)
    assert env.state(mid) == "MIGRATION_COMPLETE"
    assert env.source.vm_by_name("off01") is None
    assert env.destination.vm_by_name("off01").power_state == "off"  # type: ignore[union-attr]


def test_a_transfer_schedule_holds_the_migration_queued(env: Env) -> None:
    [mid] = env.start(env.item("app01", transferParams={"schedule": {"startTime": env.ms(hours=3)}}))
    env.advance(hours=2, minutes=59)
    assert env.state(mid) == "QUEUED"
    env.advance(minutes=1)
    assert env.state(mid) == "TRANSFER_IN_PROGRESS"


def test_cancel_during_transfer_keeps_a_seed_and_frees_the_datastore(env: Env) -> None:
    [mid] = env.start(env.item("app01"))
    env.advance(minutes=3)
    [result] = env.source.cancel_migrations({"migrationIds": [mid]})
    assert result["state"] == "CANCEL_IN_PROGRESS"
    env.advance(minutes=1)
    assert env.state(mid) == "MIGRATION_CANCELLED"
    assert env.destination.datastores["datastore-11"].reserved_gb == 0
    # A retry that asks for the seed checkpoint resumes from the 3 minutes already copied.
    [retry] = env.start(env.item("app01", transferParams={"longRecovery": True}))
    assert env.migration(retry)["seededBytes"] == pytest.approx(180 * GBPS, rel=1e-6)
    assert env.migration(retry)["attempt"] == 2


def test_a_plain_cancel_is_refused_during_switchover_but_force_cancel_is_not(env: Env) -> None:
    [mid] = env.start(env.item("app01"))
    env.advance(seconds=seconds_at(1.0, 50) + 90)  # powered off, final sync running
    assert env.state(mid) == "SWITCHOVER_IN_PROGRESS"
    assert env.source.vm_by_name("app01").power_state == "off"  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="switching over"):
        env.source.cancel_migrations({"migrationIds": [mid]})
    env.source.force_cancel_migrations({"items": [{"migrationId": mid}], "removeLongRecoveryData": True})
    env.advance(minutes=1)
    assert env.state(mid) == "MIGRATION_CANCELLED"
    assert env.source.vm_by_name("app01").power_state == "on"  # type: ignore[union-attr]
    [retry] = env.start(env.item("app01", transferParams={"longRecovery": True}))
    assert env.migration(retry)["seededBytes"] == 0


def test_a_finished_migration_cannot_be_cancelled(env: Env) -> None:
    [mid] = env.start(env.item("app01"))
    env.advance(hours=1)
    with pytest.raises(Conflict, match="MIGRATION_COMPLETE"):
        env.source.cancel_migrations({"migrationIds": [mid]})


def test_delta_syncs_follow_the_rpo_constant() -> None:
    assert RPO_SECONDS == 7200
