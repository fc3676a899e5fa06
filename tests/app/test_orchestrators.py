"""The root orchestrator replayed as a pure function of its history (the runtime's executor and
decider, episode by episode, without threads, SQLite or the sandbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from runtime.decider import Decision, decide
from runtime.executor import ACTIVITY, SUB_ORCHESTRATION, TIMER, TimerSettings, build_context, run_episode
from runtime.functions import FunctionIndex
from runtime.history import EventType, HistoryIndex, dumps, new_event
from shared.intake import submission_from_data
from tests.app.conftest import plan

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROOT = "mig-weu-consolidation"


class Root:
    """Drives `migration` one episode at a time, as the engine does."""

    def __init__(self) -> None:
        import function_app

        index = FunctionIndex(function_app.app)
        self.handler = index.orchestrators["migration"].user_function
        self.activities = set(index.activities)
        self.orchestrators = set(index.orchestrators)
        self.input = json.dumps(json.dumps(submission_from_data(plan("same-region"), "http").root_input()))
        self.past: list[str] = []
        self.index = HistoryIndex()
        self.result: Any = None

    def episode(self, *events: dict[str, Any]) -> Decision:
        fresh = [new_event(EventType.ORCHESTRATOR_STARTED, T0)]
        if not self.past:
            fresh.append(
                new_event(
                    EventType.EXECUTION_STARTED,
                    T0,
                    Name="migration",
                    Version="",
                    Input=self.input,
                    OrchestrationInstance={"InstanceId": ROOT, "ExecutionId": "e-1"},
                    ParentInstance=None,
                )
            )
        fresh += events
        texts = [dumps(e) for e in fresh]
        context = build_context(
            instance_id=ROOT,
            parent_instance_id=None,
            input_text=self.input,
            past_events=self.past,
            new_events=texts,
            timers=TimerSettings(),
        )
        self.result = run_episode(self.handler, context)
        for event in fresh:
            self.index.add(event)
        decision = decide(
            self.index,
            self.result,
            orchestrator="migration",
            execution_id="e-1",
            now=T0,
            activities=self.activities,
            orchestrators=self.orchestrators,
        )
        for event in decision.new_events:
            self.index.add(event)
        self.past += texts + [dumps(e) for e in decision.new_events]
        return decision

    def scheduled(self) -> list[tuple[str, str | None]]:
        return [(t.kind, t.name) for t in self.result.scheduled]


def test_preparation_starts_as_a_named_child_once_no_cancel_is_waiting() -> None:
    root = Root()
    root.episode()
    assert root.scheduled() == [(TIMER, None)]  # due now: a cancel already sent would win it
    assert root.result.state["customStatus"]["phase"] == "preflight"
    decision = root.episode(new_event(EventType.TIMER_FIRED, T0, TimerId=0, FireAt=T0.isoformat()))
    assert root.scheduled()[1:] == [(SUB_ORCHESTRATION, "prepare_migration")]
    [child] = decision.children
    assert child.instance_id == f"{ROOT}:prepare"


def test_a_cancel_sent_before_the_first_episode_starts_no_preparation() -> None:
    root = Root()
    root.episode(new_event(EventType.EVENT_RAISED, T0, Name="cancel", Input='{"by": "ops"}'))
    assert root.scheduled() == [(TIMER, None), (ACTIVITY, "emit_events")]
    assert root.result.state["customStatus"]["phase"] == "cancelled"
