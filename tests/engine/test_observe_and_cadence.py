"""Reading HCX's migration states leniently, and choosing when to poll next."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.engine import observe
from shared.engine.observe import COMPLETE, LOST, STOPPED, UNKNOWN, Observation
from shared.engine.state import CANCELLING, HELD, QUEUED, SWITCHOVER, TRANSFER, WAITING
from shared.hcx import Migration
from tests.engine import synthetic as syn
from tests.engine.synthetic import NOW


def item(name: str, **progress: Any) -> Migration:
    totals = {"total": {"value": 200, "bytesTransferred": 50}}
    body = {"migrationId": "m1", "version": 2, "state": name, "progress": {**totals, **progress}}
    return Migration.model_validate(body)


@pytest.mark.parametrize(
    ("state", "phase"),
    [
        ("QUEUED", QUEUED),
        ("TRANSFER_IN_PROGRESS", TRANSFER),
        ("WAITING_FOR_SWITCHOVER", WAITING),
        ("SWITCHOVER_IN_PROGRESS", SWITCHOVER),
        ("CANCEL_IN_PROGRESS", CANCELLING),
        ("MIGRATION_COMPLETE", COMPLETE),
        ("TRANSFER_FAILED", LOST),
        ("MIGRATION_FAILED", LOST),
        ("MIGRATION_CANCELLED", STOPPED),
        ("MIGRATING", TRANSFER),  # a v1 name
        ("SOMETHING_NEW", UNKNOWN),
    ],
)
def test_hcx_states_map_to_phases(state: str, phase: str) -> None:
    assert observe(item(state)).phase == phase


def test_flags_decide_when_the_state_name_does_not() -> None:
    assert observe(item("", state={"isWaitingForMaintWindow": 1})).phase == WAITING
    assert observe(item("", state={"isSwitchoverStarted": 1})).phase == SWITCHOVER
    assert observe(item("ODD", didFail=True, isDone=True)).phase == LOST


def test_an_observation_carries_bytes_times_and_errors_and_round_trips() -> None:
    seen = observe(
        item(
            "TRANSFER_FAILED",
            startTime=1_767_603_600_000,
            endTime=1_767_607_200_000,
            state={"errorMessage": "disk read error"},
            transfer={"endTime": 0},
        )
    )
    assert (seen.done, seen.total, seen.pct, seen.error) == (50, 200, 25.0, "disk read error")
    assert (seen.t_start, seen.t_end) == (1_767_603_600, 1_767_607_200)
    assert Observation.from_row(seen.migration_id, seen.row()) == seen


def test_polls_follow_the_smallest_vm_in_flight() -> None:
    plan = syn.plan(2)
    e = syn.engine(plan, syn.prepared(plan, sizes=[30, 600]))
    syn.validate_all(e)
    syn.start_all(e)
    assert e.wait(NOW) == timedelta(seconds=90)
    e.state.vms[0].state = "m"
    assert e.wait(NOW) == timedelta(minutes=5)
    big = syn.plan(1)
    e2 = syn.engine(big, syn.prepared(big, sizes=[2000]))
    syn.validate_all(e2)
    syn.start_all(e2)
    assert e2.wait(NOW) == timedelta(minutes=15)


def test_work_to_do_means_no_wait_and_replicas_waiting_for_a_window_sleep_until_it_opens() -> None:
    window = {"start": "2026-01-05T21:00:00Z", "end": "2026-01-06T03:00:00Z"}
    plan = syn.plan(2, {"switchover_window": window})
    e = syn.engine(plan, syn.prepared(plan))
    assert e.wait(NOW) == timedelta(0)  # VMs to validate
    syn.validate_all(e)
    assert e.wait(NOW) == timedelta(0)  # VMs to start
    ids = syn.start_all(e)
    syn.poll(e, [syn.obs(mid, WAITING) for mid in ids], NOW)
    assert e.wait(NOW) == timedelta(hours=12)


def test_a_held_wave_waiting_for_approval_wakes_at_the_deadline() -> None:
    plan = syn.plan(1, {"approval": {"required": True, "timeout": "3h"}})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    ids = syn.start_all(e)
    syn.poll(e, [syn.obs(mid, WAITING) for mid in ids], NOW)
    assert e.state.vms[0].has(HELD)
    e.approval_step(NOW)
    assert e.wait(NOW) == timedelta(hours=3)
    assert e.wait(NOW + timedelta(hours=3)) == e.tuning.min_poll


def test_a_spec_batch_sends_what_the_specs_share_once_and_rebuilds_them_exactly() -> None:
    from shared.engine import SpecBatch

    plan = syn.plan(3, {"options": {"upgrade_tools": True}})
    context = syn.prepared(plan, meshes=2)
    e = syn.engine(plan, context)
    syn.validate_all(e)
    specs = [item.spec for batch in e.start_batches(NOW) for item in batch]
    batch = SpecBatch.pack(specs)
    assert batch.specs() == specs
    assert "source" in batch.base  # shared: sent once
    assert len(batch.networks) == 1
    assert all("vm_id" in own and "source" not in own for own in batch.vms)
    assert SpecBatch.model_validate_json(batch.model_dump_json()).specs() == specs
