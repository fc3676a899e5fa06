"""Turn one replay's result into the host's decisions: what to schedule, and how the instance ends.

This is the DTFx side of an episode (durable.md §2, §4): compare the sequence ids the SDK used with
the ones the history already holds (a different call at a known id, or a known id the replay no
longer reaches, fails the instance with "Non-Deterministic workflow detected", and that check runs
before an orchestrator error is surfaced, like the extension's shim); turn new ids into work
(activities, timers, sub-orchestrations) and the history events that record them; and read the
outcome: still running, completed, failed, or continued as new.

A pure function of plain data (`HistoryIndex`, `EpisodeResult`): no SQLite, threads or clock.
"""

from __future__ import annotations

import enum
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.executor import ACTIVITY, SUB_ORCHESTRATION, TIMER, UNSUPPORTED, EpisodeResult, ScheduledTask
from runtime.history import EventType, HistoryIndex, dumps, format_timestamp, new_event

__all__ = [
    "ActivityCall",
    "ChildCall",
    "Decision",
    "Outcome",
    "TimerCall",
    "decide",
    "failure_text",
]

_EXPECTED_EVENT = {
    ACTIVITY: EventType.TASK_SCHEDULED,
    SUB_ORCHESTRATION: EventType.SUB_ORCHESTRATION_CREATED,
    TIMER: EventType.TIMER_CREATED,
}
_WHAT = {
    EventType.TASK_SCHEDULED: "an activity task",
    EventType.SUB_ORCHESTRATION_CREATED: "a sub-orchestration",
    EventType.TIMER_CREATED: "a durable timer",
}
_UNSUPPORTED_ACTIONS = {7: "call_entity", 8: "call_http", 9: "signal_entity"}


class Outcome(enum.Enum):
    RUNNING = "Running"  # waiting for work, events or timers
    COMPLETED = "Completed"  # returned; `Decision.output` is the JSON text of the return value
    FAILED = "Failed"  # user exception, non-determinism or unsupported call; output is the message
    CONTINUED_AS_NEW = "ContinuedAsNew"  # restart with `Decision.output` as the new input JSON text


@dataclass(frozen=True)
class ActivityCall:
    seq: int
    name: str
    input: str | None


@dataclass(frozen=True)
class TimerCall:
    seq: int
    fire_at: datetime


@dataclass(frozen=True)
class ChildCall:
    seq: int
    name: str
    instance_id: str
    input: str | None
    version: str | None


@dataclass
class Decision:
    outcome: Outcome = Outcome.RUNNING
    output: str | None = None
    custom_status: str | None = None  # JSON text; None leaves the stored custom status unchanged
    new_events: list[dict[str, Any]] = field(default_factory=list)
    activities: list[ActivityCall] = field(default_factory=list)
    timers: list[TimerCall] = field(default_factory=list)
    children: list[ChildCall] = field(default_factory=list)
    cancelled_timers: set[int] = field(default_factory=set)


def failure_text(orchestrator: str, message: str) -> str:
    """The output the extension stores for a failed orchestration."""
    return f"Orchestrator function '{orchestrator}' failed: {message}"


def decide(
    index: HistoryIndex,
    result: EpisodeResult,
    *,
    orchestrator: str,
    execution_id: str,
    now: datetime,
    activities: Container[str],
    orchestrators: Container[str],
) -> Decision:
    """Decide the effects of `result`, a replay of an execution whose history is summarised by `index`."""
    decision = Decision()
    if result.state is not None and result.state.get("customStatus") is not None:
        decision.custom_status = dumps(result.state["customStatus"])

    problem = _nondeterminism(index, result.scheduled) or _unsupported(result)
    if problem is None:
        problem = _unknown_functions(
            [t for t in result.scheduled if t.seq not in index.scheduled], activities, orchestrators
        )
    if problem is not None:
        return _failed(decision, orchestrator, problem)

    for task in result.scheduled:
        if task.seq not in index.scheduled:
            _schedule(decision, task, execution_id, now)
    decision.cancelled_timers = set(result.cancelled_timers)

    if result.state is None or result.error is not None:
        return _failed(decision, orchestrator, result.error or "the orchestrator produced no state")
    if not result.state.get("isDone"):
        return decision
    continue_as_new = [a for a in result.actions if a.get("actionType") == 4]
    if continue_as_new:
        decision.outcome = Outcome.CONTINUED_AS_NEW
        decision.output = dumps(continue_as_new[-1].get("input"))
        return decision
    # inferred: durable.md §6.3 (DF timer semantics): not Completed while a timer it created is
    # neither fired nor cancelled; the timer's firing replays the orchestrator, which returns again.
    open_timers = (index.open_timers() | {t.seq for t in decision.timers}) - decision.cancelled_timers
    if open_timers:
        return decision
    decision.outcome = Outcome.COMPLETED
    decision.output = dumps(result.state.get("output"))
    return decision


def _failed(decision: Decision, orchestrator: str, message: str) -> Decision:
    decision.outcome = Outcome.FAILED
    decision.output = dumps(failure_text(orchestrator, message))
    return decision


def _nondeterminism(index: HistoryIndex, scheduled: list[ScheduledTask]) -> str | None:
    # inferred: wording after DTFx's NonDeterministicOrchestrationException messages; the prefix
    # "Non-Deterministic workflow detected" is what the real host reports.
    seen: set[int] = set()
    for task in scheduled:
        seen.add(task.seq)
        if task.seq not in index.scheduled or task.kind == UNSUPPORTED:
            continue
        kind, name = index.scheduled[task.seq]
        expected = _EXPECTED_EVENT[task.kind]
        if kind != expected or (task.kind != TIMER and name != task.name):
            return (
                "Non-Deterministic workflow detected: a previous execution of this orchestration scheduled "
                f"{_describe(kind, name)} with sequence ID {task.seq}, but the current replay execution "
                f"scheduled {_describe(expected, task.name)} there. Was a change made to the orchestrator "
                "code after this instance had already started running?"
            )
    for seq in sorted(set(index.scheduled) - seen):
        kind, name = index.scheduled[seq]
        return (
            "Non-Deterministic workflow detected: a previous execution of this orchestration scheduled "
            f"{_describe(kind, name)} with sequence ID {seq}, but the current replay execution hasn't "
            "(yet?) scheduled this task. Was a change made to the orchestrator code after this instance "
            "had already started running?"
        )
    return None


def _describe(kind: int, name: str | None) -> str:
    what = _WHAT.get(EventType(kind), f"event type {kind}")
    return f"{what} named '{name}'" if name else what


def _unsupported(result: EpisodeResult) -> str | None:
    for task in result.scheduled:
        if task.kind == UNSUPPORTED:
            return f"{task.detail} is not supported by the local runtime (see docs/runtime.md)"
    for action in result.actions:
        if action.get("actionType") in _UNSUPPORTED_ACTIONS:
            what = _UNSUPPORTED_ACTIONS[action["actionType"]]
            return f"{what} is not supported by the local runtime (see docs/runtime.md)"
    return None


def _unknown_functions(
    new_tasks: list[ScheduledTask], activities: Container[str], orchestrators: Container[str]
) -> str | None:
    # inferred: the extension's ThrowIfFunctionDoesNotExist fails the orchestration with this text.
    for task in new_tasks:
        if task.kind == ACTIVITY and task.name not in activities:
            return f"The function '{task.name}' doesn't exist, is disabled, or is not an activity function."
        if task.kind == SUB_ORCHESTRATION and task.name not in orchestrators:
            return (
                f"The function '{task.name}' doesn't exist, is disabled, or is not an orchestrator function."
            )
    return None


def _schedule(decision: Decision, task: ScheduledTask, execution_id: str, now: datetime) -> None:
    if task.kind == ACTIVITY:
        assert task.name is not None
        decision.new_events.append(
            new_event(
                EventType.TASK_SCHEDULED, now, event_id=task.seq, Name=task.name, Version="", Input=task.input
            )
        )
        decision.activities.append(ActivityCall(task.seq, task.name, task.input))
    elif task.kind == TIMER:
        assert task.fire_at is not None
        decision.new_events.append(
            new_event(EventType.TIMER_CREATED, now, event_id=task.seq, FireAt=format_timestamp(task.fire_at))
        )
        decision.timers.append(TimerCall(task.seq, task.fire_at))
    elif task.kind == SUB_ORCHESTRATION:
        assert task.name is not None
        # DTFx names an anonymous child "{parent ExecutionId}:{sequence id}" (durable.md §6.5).
        child_id = task.instance_id or f"{execution_id}:{task.seq}"
        decision.new_events.append(
            new_event(
                EventType.SUB_ORCHESTRATION_CREATED,
                now,
                event_id=task.seq,
                Name=task.name,
                Version=task.version or "",
                InstanceId=child_id,
                Input=task.input,
            )
        )
        decision.children.append(ChildCall(task.seq, task.name, child_id, task.input, task.version))
