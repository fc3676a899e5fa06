"""The wave engine's decisions, driven directly: no Durable Functions, no HCX."""

from __future__ import annotations

from datetime import timedelta

from shared.engine import WaveEngine, WaveState
from shared.engine.observe import COMPLETE, LOST, STOPPED
from shared.engine.spec import HOLD
from shared.engine.state import (
    BLOCKED,
    CANCELLED,
    FAILED,
    MIGRATED,
    PENDING,
    QUEUED,
    READY,
    SKIPPED,
    SWITCHOVER,
    TRANSFER,
    VERIFYING,
    WAITING,
)
from tests.engine import synthetic as syn
from tests.engine.synthetic import NOW, obs


def verify_all(e: WaveEngine, ok: bool = True) -> None:
    batch = e.verify_batch()
    e.on_verified(batch, [[ok, [] if ok else ["not at the destination"]] for _ in batch], NOW)


def test_a_wave_runs_from_validation_to_verified_migrations() -> None:
    plan = syn.plan(3)
    e = syn.engine(plan, syn.prepared(plan))
    e.begin(NOW)
    assert [ev["type"] for ev in e.drain_events()] == ["WaveStarted"]
    batches = e.validation_batches()
    assert batches == [[0, 1, 2]]
    e.on_validated([0, 1, 2], [[True, [], [["CBT_ENABLED", "CBT on"]]], [True, [], []], [True, [], []]], NOW)
    assert e.state.warnings == [["vm-000", "CBT_ENABLED", "CBT on"]]
    [batch] = e.start_batches(NOW)
    assert [item.tag for item in batch] == [
        f"hcx-conductor:unit-plan:run1:0:vm-00{k}:1"
        for k in (2, 1, 0)  # largest first
    ]
    assert all(item.spec.tags == [item.tag] for item in batch)
    e.on_started(batch, [{"migration_id": f"m{k}", "group": "g"} for k in range(3)], NOW)
    assert e.in_flight_ids() == ["m2", "m1", "m0"]
    syn.poll(e, [obs("m2", TRANSFER, 10), obs("m1", WAITING), obs("m0", SWITCHOVER)], NOW)
    assert [vm.state for vm in e.state.vms] == [TRANSFER, WAITING, SWITCHOVER]
    syn.poll(e, [obs("m2", COMPLETE, 100), obs("m1", COMPLETE, 100), obs("m0", COMPLETE, 100)], NOW)
    assert {vm.state for vm in e.state.vms} == {VERIFYING}
    verify_all(e)
    assert {vm.state for vm in e.state.vms} == {MIGRATED}
    assert e.finished()
    result = e.finish(NOW)
    assert result["outcome"] == "completed"
    events = [(ev["type"], ev["vm"]) for ev in e.drain_events()]
    assert events == [
        ("VmMigrated", "vm-000"),
        ("VmMigrated", "vm-001"),
        ("VmMigrated", "vm-002"),
        ("WaveCompleted", None),
    ]


def test_validation_errors_block_their_vm_only() -> None:
    plan = syn.plan(3, limits={"max_failures_per_wave": 1})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e, refuse={"vm-001": "UNKNOWN_ENTITY"})
    assert [vm.state for vm in e.state.vms] == [READY, BLOCKED, READY]
    assert e.state.vms[1].error == "validation: UNKNOWN_ENTITY"
    assert not e.state.halted
    assert [ev["type"] for ev in e.drain_events()] == ["VmFailed"]


def test_a_failed_attempt_is_retried_with_seed_checkpoint_and_a_new_tag() -> None:
    plan = syn.plan(1, {"options": {"seed_checkpoint": False}}, limits={"max_attempts": 3})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    [first] = syn.start_all(e)
    assert e.start_batches(NOW) == []
    syn.poll(e, [obs(first, LOST, done=30, error="disk read error")], NOW)
    assert e.state.vms[0].state == READY
    [[retry]] = e.start_batches(NOW)
    assert retry.tag.endswith(":vm-000:2")
    assert retry.spec.seed_checkpoint is True
    e.on_started([retry], [{"migration_id": "second", "group": "g"}], NOW)
    row = e.state.vms[0]
    assert (row.attempts, row.ids, row.moved) == (2, [first, "second"], 30)


def test_the_last_attempt_fails_for_good_and_the_wave_halts_over_its_limit() -> None:
    plan = syn.plan(4, limits={"max_attempts": 2, "max_failures_per_wave": 0, "max_concurrent_migrations": 2})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    ids = syn.start_all(e)
    assert len(ids) == 2
    for attempt in (1, 2):
        syn.poll(e, [obs(ids[0], LOST, error=f"boom {attempt}")], NOW)
        if attempt == 1:
            [[again]] = e.start_batches(NOW)
            e.on_started([again], [{"migration_id": "retry", "group": "g"}], NOW)
            ids[0] = "retry"
    failed = next(vm for vm in e.state.vms if vm.state == FAILED)
    assert (failed.attempts, failed.error) == (2, "boom 2")
    assert e.state.halted
    assert sorted(vm.state for vm in e.state.vms) == sorted([FAILED, QUEUED, SKIPPED, SKIPPED])
    assert e.start_batches(NOW) == []
    assert e.cancel_ids() == []  # finish_in_flight: the running one goes on


def test_a_halt_with_cancel_in_flight_cancels_what_has_not_switched_over() -> None:
    plan = syn.plan(3, limits={"max_attempts": 1, "on_halt": "cancel_in_flight"})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    a, b, c = syn.start_all(e)
    syn.poll(e, [obs(b, SWITCHOVER), obs(c, TRANSFER)], NOW)
    syn.poll(e, [obs(a, LOST, error="failed")], NOW)
    assert e.state.halted
    assert e.cancel_ids() == [c]
    e.on_cancel_sent([c])
    assert e.cancel_ids() == []
    syn.poll(e, [obs(c, STOPPED), obs(b, COMPLETE)], NOW)
    verify_all(e)
    assert sorted(vm.state for vm in e.state.vms) == sorted([FAILED, CANCELLED, MIGRATED])
    assert e.finished()
    assert e.finish(NOW)["outcome"] == "halted"


def test_cancel_stops_one_vm_or_the_whole_wave_but_not_a_switchover() -> None:
    plan = syn.plan(4, limits={"max_concurrent_migrations": 2})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    a, b = syn.start_all(e)
    syn.poll(e, [obs(a, SWITCHOVER), obs(b, TRANSFER)], NOW)
    assert e.on_event("cancel", {"vm": e.spec.vms[0].name, "request_id": "r1"}, NOW)
    assert e.state.vms[0].state == CANCELLED  # not started yet: cancelled on the spot
    assert e.on_event("cancel", {"request_id": "r2"}, NOW)
    assert e.state.cancel == "migration"
    assert e.cancel_ids() == [b]
    assert e.start_batches(NOW) == []
    syn.poll(e, [obs(a, COMPLETE), obs(b, STOPPED)], NOW)
    verify_all(e)
    states = [vm.state for vm in e.state.vms]
    assert states.count(MIGRATED) == 1
    assert states.count(CANCELLED) == 3
    assert e.finish(NOW)["cancel_scope"] == "migration"


def test_operator_events_are_applied_once_and_only_to_their_wave() -> None:
    plan = syn.plan(2)
    e = syn.engine(plan, syn.prepared(plan))
    assert not e.on_event("cancel", {"wave": "another-wave", "request_id": "x1"}, NOW)
    assert e.on_event("cancel", {"wave": "wave-a", "vm": "vm-000", "request_id": "x2"}, NOW)
    assert not e.on_event("cancel", {"wave": "wave-a", "vm": "vm-000", "request_id": "x2"}, NOW)
    assert not e.on_event("cancel", {"vm": "not-in-this-wave", "request_id": "x3"}, NOW)
    assert [vm.state for vm in e.state.vms] == [CANCELLED, PENDING]


def test_retry_gives_failed_vms_a_fresh_budget() -> None:
    plan = syn.plan(2, limits={"max_attempts": 1, "max_failures_per_wave": 5})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e, refuse={"vm-001": "NAME_EXISTS_AT_DESTINATION"})
    [mid] = syn.start_all(e)
    syn.poll(e, [obs(mid, LOST, error="x")], NOW)
    assert [vm.state for vm in e.state.vms] == [FAILED, BLOCKED]
    assert e.on_event("retry", {"request_id": "again"}, NOW)
    assert [vm.state for vm in e.state.vms] == [READY, PENDING]  # blocked VMs validate again
    [[item]] = e.start_batches(NOW)
    assert item.tag.endswith(":vm-000:2")


def test_approval_holds_switchovers_asks_when_transfers_are_done_and_releases_on_approve() -> None:
    window = {"start": "2026-01-05T20:00:00Z", "end": "2026-01-06T02:00:00Z"}
    plan = syn.plan(2, {"switchover_window": window, "approval": {"required": True, "timeout": "2h"}})
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    [batch] = e.start_batches(NOW)
    assert all(item.held and item.spec.window_start == NOW + HOLD for item in batch)
    e.on_started(batch, [{"migration_id": f"m{k}", "group": "g"} for k in range(2)], NOW)
    e.approval_step(NOW)
    assert not e.state.approval_requested  # still transferring
    syn.poll(e, [obs("m0", WAITING), obs("m1", WAITING)], NOW)
    later = NOW + timedelta(hours=1)
    e.approval_step(later)
    [asked] = [ev for ev in e.drain_events() if ev["type"] == "ApprovalNeeded"]
    assert asked["data"]["deadline"] == (later + timedelta(hours=2)).isoformat()
    assert e.reschedule_groups(later) == {}
    assert e.on_event("approve", {"wave": "wave-a", "by": "alice", "request_id": "a1"}, later)
    assert e.reschedule_groups(later) == {"g": ["m1", "m0"]}  # in VM order
    assert e.release_window() == (int(e.spec.window_start.timestamp()), int(e.spec.window_end.timestamp()))
    e.on_rescheduled({"g": ["m0", "m1"]}, {}, later)
    assert e.reschedule_groups(later) == {}
    assert e.state.approved_by == "alice"


def test_approval_timeouts_proceed_skip_or_cancel() -> None:
    outcomes = {}
    for policy in ("proceed", "skip_wave", "cancel"):
        plan = syn.plan(2, {"approval": {"required": True, "timeout": "1h", "on_timeout": policy}})
        e = syn.engine(plan, syn.prepared(plan))
        syn.validate_all(e)
        ids = syn.start_all(e)
        syn.poll(e, [obs(mid, WAITING) for mid in ids], NOW)
        e.approval_step(NOW)
        e.approval_step(NOW + timedelta(hours=1))
        outcomes[policy] = (
            e.state.approval_outcome,
            e.state.approved,
            e.state.cancel,
            sorted(e.cancel_ids()),
        )
    assert outcomes["proceed"] == ("proceeded", True, "", [])
    assert outcomes["skip_wave"] == ("skipped", False, "skip", ["vm-000#1", "vm-001#1"])
    assert outcomes["cancel"] == ("cancelled", False, "migration", ["vm-000#1", "vm-001#1"])


def test_an_approval_given_by_the_migration_applies_from_the_start() -> None:
    plan = syn.plan(1, {"approval": {"required": True}})
    e = syn.engine(plan, syn.prepared(plan), approved=True)
    syn.validate_all(e)
    [[item]] = e.start_batches(NOW)
    assert not item.held
    assert item.spec.window_start is None


def test_a_closed_window_skips_what_did_not_start_and_stops_retries() -> None:
    window = {"start": "2026-01-05T10:00:00Z", "end": "2026-01-05T12:00:00Z"}
    plan = syn.plan(
        3, {"switchover_window": window}, limits={"max_concurrent_migrations": 1, "max_failures_per_wave": 5}
    )
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    [mid] = syn.start_all(e)
    after = NOW + timedelta(hours=4)
    syn.poll(e, [obs(mid, LOST, error="The switchover window expired")], after)
    assert e.start_batches(after) == []
    assert sorted(vm.state for vm in e.state.vms) == [FAILED, SKIPPED, SKIPPED]


def test_cold_waves_block_powered_on_vms() -> None:
    plan = syn.plan(2, {"type": "cold"})
    e = syn.engine(plan, syn.prepared(plan, powered_off={"vm-001"}))
    e.begin(NOW)
    assert [vm.state for vm in e.state.vms] == [BLOCKED, PENDING]
    assert "powered off" in e.state.vms[0].error


def test_the_state_survives_continue_as_new() -> None:
    plan = syn.plan(3)
    context = syn.prepared(plan)
    e = syn.engine(plan, context)
    syn.validate_all(e)
    syn.start_all(e)
    data = e.dump(
        {
            "plan": plan.model_dump(mode="json"),
            "prepared": context.model_dump(mode="json"),
            "wave": 0,
            "run": "run1",
        }
    )
    again = WaveEngine.load(data)
    assert again.state == e.state
    assert WaveState.load(again.state.dump()) == e.state
    assert again.in_flight_ids() == e.in_flight_ids()


def test_a_wave_run_again_for_a_retry_resets_only_the_vms_it_names() -> None:
    plan = syn.plan(3, limits={"max_attempts": 1, "max_failures_per_wave": 5})
    context = syn.prepared(plan)
    e = syn.engine(plan, context)
    syn.validate_all(e)
    ids = syn.start_all(e)
    syn.poll(e, [obs(mid, LOST, error="x") for mid in ids])
    assert {vm.state for vm in e.state.vms} == {FAILED}
    base = {"plan": plan.model_dump(mode="json"), "prepared": context.model_dump(mode="json"), "wave": 0}
    again = WaveEngine.load({**base, "run": "run1", "state": e.state.dump(), "retry": ["vm-001"]})
    assert [vm.state for vm in again.state.vms] == [FAILED, READY, FAILED]
    everything = WaveEngine.load({**base, "run": "run1", "state": e.state.dump(), "retry": True})
    assert {vm.state for vm in everything.state.vms} == {READY}
