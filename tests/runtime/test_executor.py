"""The executor and decider as pure functions of history: event factories in, decisions out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from runtime.decider import Decision, Outcome, decide
from runtime.executor import ACTIVITY, SUB_ORCHESTRATION, TIMER, TimerSettings, build_context, run_episode
from runtime.history import EventType, HistoryIndex, dumps, new_event

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def orchestrator(fn: Any) -> Any:
    """The decorator-produced handler for one generator function, from a fresh app."""
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.orchestration_trigger(context_name="context")(fn)
    app.activity_trigger(input_name="x")(lambda x: x)
    (function,) = [f for f in app.get_functions() if f.get_function_name() == fn.__name__]
    return function.get_user_function()


class Replay:
    """Drives one instance episode by episode, as the engine does, without threads or SQLite."""

    def __init__(
        self, handler: Any, input_text: str | None = '"{}"', timers: TimerSettings | None = None
    ) -> None:
        self.handler = handler
        self.input_text = input_text
        self.timers = timers or TimerSettings()
        self.past: list[str] = []
        self.index = HistoryIndex()
        self.now = T0
        self.started = False

    def episode(self, *events: dict[str, Any], now: datetime | None = None) -> Decision:
        self.now = now or self.now
        fresh = [new_event(EventType.ORCHESTRATOR_STARTED, self.now)]
        if not self.started:
            fresh.append(
                new_event(
                    EventType.EXECUTION_STARTED,
                    self.now,
                    Name="orch",
                    Version="",
                    Input=self.input_text,
                    OrchestrationInstance={"InstanceId": "i-1", "ExecutionId": "e-1"},
                    ParentInstance=None,
                )
            )
            self.started = True
        fresh.extend(events)
        texts = [dumps(e) for e in fresh]
        self.last_context = build_context(
            instance_id="i-1",
            parent_instance_id=None,
            input_text=self.input_text,
            past_events=self.past,
            new_events=texts,
            timers=self.timers,
        )
        self.result = run_episode(self.handler, self.last_context)
        for event in fresh:
            self.index.add(event)
        decision = decide(
            self.index,
            self.result,
            orchestrator="orch",
            execution_id="e-1",
            now=self.now,
            activities={"act", "other"},
            orchestrators={"orch", "child"},
        )
        for event in decision.new_events:
            self.index.add(event)
        self.past += texts + [dumps(e) for e in decision.new_events]
        return decision


def completed(seq: int, result: Any) -> dict[str, Any]:
    return new_event(EventType.TASK_COMPLETED, T0, TaskScheduledId=seq, Result=json.dumps(result))


def failed(seq: int) -> dict[str, Any]:
    return new_event(EventType.TASK_FAILED, T0, TaskScheduledId=seq, Reason="boom", Details="details")


def fired(seq: int) -> dict[str, Any]:
    return new_event(EventType.TIMER_FIRED, T0, TimerId=seq, FireAt="")


def test_episode_state_matches_the_decorator_produced_handler() -> None:
    def orch(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        context.set_custom_status({"phase": "plan"})
        first = yield context.call_activity("act", context.get_input())
        yield context.task_all([context.call_activity("act", n) for n in range(3)])
        return first

    handler = orchestrator(orch)
    replay = Replay(handler)
    replay.episode()
    ours = replay.result.state
    theirs = json.loads(handler(func.OrchestrationContext(replay.last_context)))
    assert ours == theirs
    replay.episode(completed(0, {"a": 1}))
    assert replay.result.state == json.loads(handler(func.OrchestrationContext(replay.last_context)))


def test_first_episode_schedules_activities_with_their_sequence_ids() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        results = yield context.task_all([context.call_activity("act", n) for n in range(3)])
        return sum(results)

    replay = Replay(orchestrator(orch))
    decision = replay.episode()
    assert [(a.seq, a.name, a.input) for a in decision.activities] == [
        (0, "act", "0"),
        (1, "act", "1"),
        (2, "act", "2"),
    ]
    assert [e["EventType"] for e in decision.new_events] == [EventType.TASK_SCHEDULED] * 3
    decision = replay.episode(completed(0, 0), completed(1, 2), completed(2, 4))
    assert decision.outcome is Outcome.COMPLETED
    assert decision.output == "6"


def test_context_marks_old_events_played_and_carries_version_and_timer_settings() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("act", 1)

    replay = Replay(orchestrator(orch))
    replay.episode()
    replay.episode(completed(0, 1))
    context = json.loads(replay.last_context)
    played = [e["IsPlayed"] for e in context["history"]]
    assert played == [True, True, True, False, False]  # started, scheduled | new episode
    assert context["history"][1]["Version"] == ""
    assert context["isReplaying"] is True
    assert context["maximumShortTimerDuration"] == "6.00:00:00"
    assert context["upperSchemaVersionNew"] == 2


def test_retry_steps_get_their_own_sequence_ids_and_the_last_timer_fires_at_once() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=2)
        try:
            yield context.call_activity_with_retry("act", retry, "x")
        except Exception as exc:
            return str(exc)

    replay = Replay(orchestrator(orch))
    assert [a.seq for a in replay.episode().activities] == [0]
    decision = replay.episode(failed(0))
    assert [(t.seq, t.fire_at) for t in decision.timers] == [(1, T0 + timedelta(seconds=5))]
    decision = replay.episode(fired(1))
    assert [(a.seq, a.name) for a in decision.activities] == [(2, "act")]
    decision = replay.episode(failed(2))
    assert [(t.seq, t.fire_at) for t in decision.timers] == [(3, T0)]  # the "dummy" timer
    decision = replay.episode(fired(3))
    assert decision.outcome is Outcome.COMPLETED
    assert json.loads(decision.output or "") == "boom \n details"
    kinds = [(t.seq, t.kind, t.retry_timer) for t in replay.result.scheduled]
    assert kinds == [(0, ACTIVITY, False), (1, TIMER, True), (2, ACTIVITY, False), (3, TIMER, True)]


def test_a_different_activity_at_a_known_sequence_id_is_non_deterministic() -> None:
    def v1(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("act", 1)
        yield context.call_activity("act", 2)

    def v2(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("other", 1)
        yield context.call_activity("act", 2)

    replay = Replay(orchestrator(v1))
    replay.episode()
    replay.handler = orchestrator(v2)
    decision = replay.episode(completed(0, 1))
    assert decision.outcome is Outcome.FAILED
    message = json.loads(decision.output or "")
    assert message.startswith("Orchestrator function 'orch' failed: Non-Deterministic workflow detected")
    assert "named 'act' with sequence ID 0" in message
    assert decision.activities == []


def test_a_scheduled_call_the_replay_no_longer_reaches_is_non_deterministic() -> None:
    def v1(context):  # type: ignore[no-untyped-def]
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
        yield context.call_activity("act", 1)

    def v2(context):  # type: ignore[no-untyped-def]
        yield context.wait_for_external_event("Go")
        yield context.call_activity("act", 1)

    replay = Replay(orchestrator(v1))
    replay.episode()
    replay.handler = orchestrator(v2)
    decision = replay.episode(new_event(EventType.EVENT_RAISED, T0, Name="Other", Input="1"))
    assert decision.outcome is Outcome.FAILED
    assert "hasn't (yet?) scheduled this task" in json.loads(decision.output or "")


def test_orchestrator_error_surfaces_the_exception_text() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("act", 1)
        raise ValueError("invalid plan: bad")

    replay = Replay(orchestrator(orch))
    replay.episode()
    decision = replay.episode(completed(0, 1))
    assert decision.outcome is Outcome.FAILED
    assert json.loads(decision.output or "") == "Orchestrator function 'orch' failed: invalid plan: bad"


def test_system_exit_in_an_orchestrator_fails_the_instance_instead_of_the_runtime() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        raise SystemExit(3)
        yield  # pragma: no cover - makes this a generator

    decision = Replay(orchestrator(orch)).episode()
    assert decision.outcome is Outcome.FAILED


def test_falsy_custom_status_is_not_sent_and_leaves_the_stored_one() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        context.set_custom_status({})
        yield context.call_activity("act", 1)

    decision = Replay(orchestrator(orch)).episode()
    assert decision.custom_status is None


def test_completion_waits_for_an_uncancelled_timer() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
        work = context.call_activity("act", 1)
        yield context.task_any([work, timer])
        return "done"

    replay = Replay(orchestrator(orch))
    replay.episode()
    decision = replay.episode(completed(0, 1))
    assert decision.outcome is Outcome.RUNNING  # the losing timer was not cancelled
    decision = replay.episode(fired(1), now=T0 + timedelta(hours=1))
    assert decision.outcome is Outcome.COMPLETED


def test_continue_as_new_carries_the_new_input() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        context.continue_as_new({"n": 2})
        yield context.call_activity("act", 1)

    decision = Replay(orchestrator(orch)).episode()
    assert decision.outcome is Outcome.CONTINUED_AS_NEW
    assert json.loads(json.loads(decision.output or "")) == {"n": 2}


def test_sub_orchestration_without_an_id_is_named_after_the_execution_and_sequence() -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        yield context.call_activity("act", 1)
        yield context.call_sub_orchestrator("child", {"a": 1})

    replay = Replay(orchestrator(orch))
    replay.episode()
    decision = replay.episode(completed(0, 1))
    assert [(c.seq, c.name, c.instance_id) for c in decision.children] == [(1, "child", "e-1:1")]
    assert replay.result.scheduled[-1].kind == SUB_ORCHESTRATION


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda c: c.call_http("GET", "https://example.invalid/"), "call_http"),
        (lambda c: c.call_entity(df.EntityId("counter", "k"), "add", 1), "call_entity"),
    ],
)
def test_unsupported_calls_fail_the_instance_with_a_clear_message(call: Any, what: str) -> None:
    def orch(context):  # type: ignore[no-untyped-def]
        yield call(context)

    decision = Replay(orchestrator(orch)).episode()
    assert decision.outcome is Outcome.FAILED
    assert f"{what} is not supported by the local runtime" in json.loads(decision.output or "")
