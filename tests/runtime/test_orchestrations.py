"""Scenario tests: every Durable action type, run by the real SDK on the local runtime, on a virtual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from runtime import LocalRuntime, NotFound, VirtualClock
from tests.apps.durable_app import Journal, build_app


def finished(rt: LocalRuntime, instance_id: str) -> dict:
    assert rt.wait_for_idle(timeout=30.0)
    return rt.get_status(instance_id)


def test_http_starter_returns_202_with_working_status_urls(runtime: LocalRuntime) -> None:
    response = httpx.post(f"{runtime.base_url}/api/orchestrators/sequence", json=["Tokyo", "Seattle"])
    assert response.status_code == 202
    payload = response.json()
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(
        f"{runtime.base_url}/runtime/webhooks/durabletask/instances/"
    )
    assert runtime.wait_for_idle(timeout=30.0)
    status = httpx.get(payload["statusQueryGetUri"])
    assert status.status_code == 200
    body = status.json()
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == ["Hello Tokyo!", "Hello Seattle!"]
    # The Python client double-encodes its input: the status shows the JSON string (durable.md §8.3).
    assert json.loads(body["input"]) == ["Tokyo", "Seattle"]


def test_fan_out_runs_every_activity_once_and_fans_in(runtime: LocalRuntime, journal: Journal) -> None:
    instance_id = runtime.start_new("fan_out", {"count": 40})
    status = finished(runtime, instance_id)
    assert status["output"] == sum(2 * n for n in range(40))
    assert sorted(value for name, value in journal.calls if name == "double") == list(range(40))


def test_retry_succeeds_on_the_third_attempt_after_two_retry_intervals(
    runtime: LocalRuntime, journal: Journal, clock: VirtualClock
) -> None:
    journal.failures["k1"] = 2
    started = clock.now()
    instance_id = runtime.start_new("with_retry", {"key": "k1"})
    status = finished(runtime, instance_id)
    assert status["output"]["value"] == "ok:k1"
    assert journal.count("flaky") == 3
    assert datetime.fromisoformat(status["output"]["at"]) - started == timedelta(minutes=2)


def test_retry_exhaustion_surfaces_after_the_final_immediate_timer(
    runtime: LocalRuntime, journal: Journal, clock: VirtualClock
) -> None:
    journal.failures["k2"] = 5
    started = clock.now()
    instance_id = runtime.start_new("with_retry", {"key": "k2"})
    status = finished(runtime, instance_id)
    assert journal.count("flaky") == 3
    assert (
        "Activity function 'flaky' failed: RuntimeError: transient failure for k2"
        in status["output"]["failed"]
    )
    # Two 60 s retry delays, then the "dummy" timer fires at once (durable.md §6.2).
    assert datetime.fromisoformat(status["output"]["at"]) - started == timedelta(minutes=2)
    history = runtime.get_status(instance_id, show_history=True)["historyEvents"]
    assert [e["EventType"] for e in history].count("TimerFired") == 3


def test_durable_timer_fires_on_the_virtual_clock(runtime: LocalRuntime, clock: VirtualClock) -> None:
    started = clock.now()
    instance_id = runtime.start_new("timer_then_activity", {})
    status = finished(runtime, instance_id)
    assert status["output"] == {"greeting": "Hello after the timer!", "waited": 6 * 3600.0}
    assert clock.now() - started == timedelta(hours=6)


def test_timer_waits_for_advance_when_the_clock_does_not_auto_advance(
    tmp_path: Path, journal: Journal
) -> None:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with LocalRuntime(build_app(journal), tmp_path / "s.sqlite", clock=clock, workers=2) as rt:
        instance_id = rt.start_new("timer_then_activity", {})
        assert rt.wait_for_idle(timeout=10.0)
        assert rt.get_status(instance_id)["runtimeStatus"] == "Running"
        clock.advance(timedelta(hours=5, minutes=59))
        assert rt.wait_for_idle(timeout=10.0)
        assert rt.get_status(instance_id)["runtimeStatus"] == "Running"
        clock.advance(timedelta(minutes=1))
        assert rt.wait_for_idle(timeout=10.0)
        assert rt.get_status(instance_id)["runtimeStatus"] == "Completed"


def test_long_timer_is_split_into_three_day_segments_on_azure_storage(
    runtime: LocalRuntime, clock: VirtualClock
) -> None:
    started = clock.now()
    instance_id = runtime.start_new("long_timer", {})
    status = finished(runtime, instance_id)
    assert datetime.fromisoformat(status["output"]) - started == timedelta(days=10)
    history = runtime.get_status(instance_id, show_history=True)["historyEvents"]
    fire_times = [e["FireAt"] for e in history if e["EventType"] == "TimerCreated"]
    assert [t[:10] for t in fire_times] == ["2026-01-08", "2026-01-11", "2026-01-15"]


def test_long_timer_is_one_timer_for_providers_other_than_azure_storage(
    tmp_path: Path, journal: Journal
) -> None:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), auto_advance=True)
    host_json = {"extensions": {"durableTask": {"storageProvider": {"type": "mssql"}}}}
    with LocalRuntime(build_app(journal), tmp_path / "s.sqlite", clock=clock, host_json=host_json) as rt:
        instance_id = rt.start_new("long_timer", {})
        finished(rt, instance_id)
        history = rt.get_status(instance_id, show_history=True)["historyEvents"]
        assert [e["EventType"] for e in history].count("TimerCreated") == 1


def test_event_wins_the_race_against_the_timer_and_the_timer_is_cancelled(
    tmp_path: Path, journal: Journal
) -> None:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with LocalRuntime(build_app(journal), tmp_path / "s.sqlite", clock=clock) as rt:
        instance_id = rt.start_new("approval", {})
        assert rt.wait_for_idle(timeout=10.0)
        assert rt.get_status(instance_id)["customStatus"] == {"phase": "waiting for approval"}
        response = httpx.post(
            f"{rt.durable_base_url}/instances/{instance_id}/raiseEvent/Approve", json={"by": "carol"}
        )
        assert response.status_code == 202
        status = finished(rt, instance_id)
        assert status["runtimeStatus"] == "Completed"
        # A raw JSON body arrives as the object itself (durable.md §6.4).
        assert status["output"] == {"approved": {"by": "carol"}}
        assert status["customStatus"] == {"phase": "approved"}
        assert rt.engine._next_timer() is None  # the cancelled 24 h timer is gone


def test_timer_wins_the_race_when_no_event_comes(runtime: LocalRuntime, clock: VirtualClock) -> None:
    started = clock.now()
    instance_id = runtime.start_new("approval", {})
    status = finished(runtime, instance_id)
    assert status["output"] == {"approved": None}
    assert status["customStatus"] == {"phase": "timed out"}
    assert clock.now() - started == timedelta(hours=24)


def test_events_raised_before_the_orchestrator_waits_are_buffered_in_order(
    tmp_path: Path, journal: Journal
) -> None:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with LocalRuntime(build_app(journal), tmp_path / "s.sqlite", clock=clock) as rt:
        instance_id = rt.start_new("events_in_order", {})
        rt.raise_event(instance_id, "Second", 2)
        rt.raise_event(instance_id, "First", 1)
        assert finished(rt, instance_id)["output"] == [1, 2]


def test_sub_orchestrations_get_host_ids_and_report_back(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("parent", {}, instance_id="wave-1")
    status = finished(runtime, instance_id)
    first, second = status["output"]
    assert first["parent"] == "wave-1"
    assert second["me"] == "wave-1:child-2"
    # An anonymous child is named "{parent ExecutionId}:{sequence id}" (durable.md §6.5).
    execution_id, _, seq = first["me"].rpartition(":")
    assert seq == "0"
    assert len(execution_id) == 32
    assert runtime.get_status(first["me"])["runtimeStatus"] == "Completed"


def test_failed_sub_orchestration_is_retried_with_the_same_child_id(
    runtime: LocalRuntime, journal: Journal
) -> None:
    journal.failures["sub"] = 1
    instance_id = runtime.start_new("retrying_parent", {"key": "sub"}, instance_id="p1")
    status = finished(runtime, instance_id)
    assert status["output"] == "ok:sub"
    assert journal.count("flaky") == 2
    assert runtime.get_status("p1:child")["runtimeStatus"] == "Completed"


def test_sub_orchestration_failure_reaches_the_parent_after_the_last_attempt(
    runtime: LocalRuntime, journal: Journal
) -> None:
    journal.failures["sub2"] = 5
    status = finished(runtime, runtime.start_new("retrying_parent", {"key": "sub2"}, instance_id="p2"))
    assert "Orchestrator function 'flaky_child' failed" in status["output"]["failed"]
    assert journal.count("flaky") == 2


def test_continue_as_new_restarts_with_a_fresh_history(runtime: LocalRuntime, clock: VirtualClock) -> None:
    started = clock.now()
    instance_id = runtime.start_new("counter", {"n": 0})
    status = finished(runtime, instance_id)
    assert status["output"] == {"n": 3}
    assert clock.now() - started == timedelta(minutes=90)
    history = runtime.get_status(instance_id, show_history=True)["historyEvents"]
    assert [e["EventType"] for e in history] == ["ExecutionStarted", "ExecutionCompleted"]


def test_orchestrator_exception_fails_the_instance_with_the_hosts_message(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("failing", {})
    status = finished(runtime, instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == "Orchestrator function 'failing' failed: invalid plan: bad"


def test_calling_an_unknown_activity_fails_the_orchestration(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("calls_missing_activity", {})
    status = finished(runtime, instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'no_such_activity' doesn't exist" in status["output"]


def test_async_activity_runs_on_the_functions_loop(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("async_activity", {"a": 1})
    assert finished(runtime, instance_id)["output"] == {"echo": {"a": 1}}


def test_changed_code_at_a_known_sequence_id_is_detected_as_non_deterministic(
    runtime: LocalRuntime, journal: Journal
) -> None:
    instance_id = runtime.start_new("evolving", {})
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status(instance_id)["runtimeStatus"] == "Running"
    journal.version = 2  # "deploy" code that calls another activity first
    runtime.raise_event(instance_id, "Continue", None)
    status = finished(runtime, instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "Non-Deterministic workflow detected" in status["output"]
    assert "'hello'" in status["output"]
    assert "'double'" in status["output"]


def test_terminate_stops_a_waiting_instance_and_later_events_are_gone(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("events_in_order", {})
    assert runtime.wait_for_idle(timeout=10.0)
    runtime.terminate(instance_id, "operator said stop")
    status = finished(runtime, instance_id)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "operator said stop"
    response = httpx.post(f"{runtime.durable_base_url}/instances/{instance_id}/raiseEvent/First", json=1)
    assert response.status_code == 410


def test_purge_removes_the_instance(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("sequence", ["x"])
    finished(runtime, instance_id)
    response = httpx.delete(f"{runtime.durable_base_url}/instances/{instance_id}")
    assert response.status_code == 200
    assert response.json() == {"instancesDeleted": 1}
    with pytest.raises(NotFound):
        runtime.get_status(instance_id)
    assert httpx.get(f"{runtime.durable_base_url}/instances/{instance_id}").status_code == 404


def test_restarting_a_finished_instance_id_replaces_it(runtime: LocalRuntime, journal: Journal) -> None:
    runtime.start_new("sequence", ["first"], instance_id="same")
    assert finished(runtime, "same")["output"] == ["Hello first!"]
    runtime.start_new("sequence", ["second"], instance_id="same")
    assert finished(runtime, "same")["output"] == ["Hello second!"]
    history = runtime.get_status("same", show_history=True)["historyEvents"]
    assert [e.get("Result") for e in history if e["EventType"] == "TaskCompleted"] == ["Hello second!"]


def test_state_survives_a_restart_of_the_runtime(tmp_path: Path, journal: Journal) -> None:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    state = tmp_path / "state.sqlite"
    with LocalRuntime(build_app(journal), state, clock=clock) as rt:
        instance_id = rt.start_new("timer_then_activity", {})
        assert rt.wait_for_idle(timeout=10.0)
    clock.advance(timedelta(hours=7))
    with LocalRuntime(build_app(journal), state, clock=clock) as rt:
        status = finished(rt, instance_id)
        assert status["runtimeStatus"] == "Completed"
        assert journal.count("hello") == 1


def test_the_project_function_app_is_served(tmp_path: Path) -> None:
    import function_app

    with LocalRuntime(function_app.app, tmp_path / "s.sqlite") as rt:
        assert httpx.get(f"{rt.base_url}/admin/host/ping").status_code == 200
        assert rt.describe()[0] == "Functions:"
