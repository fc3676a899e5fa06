"""The root's side of the engine: operator controls, what a wave's outcome means, the final status."""

from __future__ import annotations

import json

from shared.engine.root import Controls, after_wave, final_status, moved_entities, wave_input
from shared.engine.state import FAILED, MIGRATED, WaveState
from tests.engine import synthetic as syn


def result(states: list[str], outcome: str = "completed", scope: str = "") -> dict:  # type: ignore[type-arg]
    state = WaveState.fresh(len(states))
    for vm, letter in zip(state.vms, states, strict=True):
        vm.state = letter
    return {"index": 0, "wave": "wave-a", "outcome": outcome, "cancel_scope": scope, "state": state.dump()}


def test_approvals_cancels_and_retries_are_recorded_once() -> None:
    controls = Controls()
    assert controls.on_event("approve", {"wave": "web", "request_id": "1"})
    assert controls.approved("web")
    assert not controls.approved("db")
    assert not controls.on_event("approve", {"request_id": "1"})  # the same request again
    assert controls.on_event("approve", json.dumps({"by": "alice", "request_id": "2"}))  # double-encoded
    assert (controls.approved("db"), controls.by) == (True, "alice")
    assert not controls.on_event("cancel", {"vm": "web-01", "request_id": "3"})  # a wave's business
    assert controls.on_event("cancel", {"request_id": "4"})
    assert controls.cancelled
    assert controls.on_event("retry", {"wave": "db", "vm": "db-01", "request_id": "6"})
    assert controls.retry_for("db", 0) == ["db-01"]
    assert controls.retry_for("web", 0) is False
    assert controls.on_event("retry", {"request_id": "7"})
    assert controls.retry_for("web", 0) is True
    assert controls.retry_for("web", 2) is False  # nothing sent since
    assert not controls.on_event("approve", {"network": "web", "request_id": "5"})  # the cutover's


def test_a_wave_outcome_decides_what_the_migration_does_next() -> None:
    assert after_wave(result([MIGRATED])) == "next"
    assert after_wave(result([FAILED], "halted")) == "halted"
    assert after_wave(result([MIGRATED], "cancelled", "wave")) == "next"
    assert after_wave(result([MIGRATED], "cancelled", "migration")) == "cancelled"
    assert final_status([result([MIGRATED])], cancelled=False) == "completed"
    assert final_status([result([MIGRATED, FAILED], "completed_with_failures")], cancelled=False) == (
        "completed_with_failures"
    )
    assert final_status([result([MIGRATED])], cancelled=True) == "cancelled"


def test_the_cutover_knows_which_vms_moved_and_waves_get_their_slice() -> None:
    plan = syn.plan(3)
    context = syn.prepared(plan)
    assert moved_entities(context, [result([MIGRATED, FAILED, MIGRATED])]) == ["vm-id-0", "vm-id-2"]
    data = wave_input(plan.model_dump(mode="json"), context, 0, "run1", approved=True, retry=True)
    assert (data["wave"], data["run"], data["approved"], data["retry"]) == (0, "run1", True, True)
    assert [w["name"] for w in data["prepared"]["waves"]] == ["wave-a"]
