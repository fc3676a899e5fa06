"""Run one orchestration episode through the real `azure-functions-durable` replay engine.

An episode is what the Durable extension does each time an orchestration can make progress: build
the host-shaped context JSON (the whole history, `IsPlayed` on old events, the new events after the
last `OrchestratorStarted`), hand it to the SDK, and read back the `OrchestratorState` JSON, or the
`$OutOfProcData$` payload the SDK attaches to an exception when user code raised (durable.md §3-§5).

The SDK assigns sequence ids to tasks as the generator yields them, including ids that never show up
in the returned actions (retry timers, re-scheduled attempts, long-timer segments: durable.md §3.2,
§6.2, §6.3). The extension learns them by replaying the same actions on a .NET context; we learn them
by giving the SDK a context subclass that notes each id as the SDK assigns it. That is the only
difference from the decorator-produced handler (`Orchestrator.create`), whose four lines
`run_episode` repeats so it can pass that context; `tests/runtime/test_executor.py` checks both give
the same state JSON.

This module knows nothing about SQLite, threads or HTTP: `run_episode` is a pure function of the
context JSON (plus the user's deterministic generator), so it is tested with event factories.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.Task import AtomicTask, TaskBase, TimerTask
from azure.durable_functions.orchestrator import Orchestrator

from runtime.history import parse_timestamp

__all__ = [
    "ACTIVITY",
    "SUB_ORCHESTRATION",
    "TIMER",
    "UNSUPPORTED",
    "EpisodeResult",
    "ScheduledTask",
    "TimerSettings",
    "build_context",
    "run_episode",
]

log = logging.getLogger("runtime.executor")

ACTIVITY = "activity"
SUB_ORCHESTRATION = "sub_orchestration"
TIMER = "timer"
UNSUPPORTED = "unsupported"

_OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"


@dataclass(frozen=True)
class TimerSettings:
    """The long-timer values the host puts in every context (durable.md §3, §6.3).

    The Azure Storage provider (the default, and what production uses) sends a 6-day maximum timer
    and 3-day segments; the SDK then splits longer timers into a chain. The other providers (MSSQL,
    Netherite, Durable Task Scheduler) send zero, which turns splitting off.
    """

    long_running_interval: str = "3.00:00:00"
    maximum_short_timer: str = "6.00:00:00"

    @classmethod
    def for_provider(cls, provider: str | None) -> TimerSettings:
        if provider is None or provider.replace(" ", "").lower() in ("", "azurestorage"):
            return cls()
        return cls(long_running_interval="00:00:00", maximum_short_timer="00:00:00")


@dataclass
class ScheduledTask:
    """One sequence id the SDK handed out in this replay, described the way the host sees it."""

    seq: int
    kind: str  # ACTIVITY, SUB_ORCHESTRATION, TIMER or UNSUPPORTED
    name: str | None = None  # function name (activities, sub-orchestrations)
    input: str | None = None  # the action's input: JSON text produced by the SDK's df_dumps
    instance_id: str | None = None  # sub-orchestrations: explicit child id, if any
    version: str | None = None
    fire_at: datetime | None = None  # timers
    retry_timer: bool = False  # a -WithRetry delay timer (DTFx RetryInterceptor)
    detail: str | None = None  # UNSUPPORTED: what was asked for
    # The SDK task object, kept only so the executor can read `is_cancelled` after the replay.
    task: TaskBase | None = field(default=None, repr=False, compare=False)


@dataclass
class EpisodeResult:
    """What one replay produced. `state` is the SDK's OrchestratorState JSON as a dict (None if the
    SDK itself crashed before producing one); `error` is the user exception text, if any."""

    state: dict[str, Any] | None
    scheduled: list[ScheduledTask]
    cancelled_timers: set[int]
    error: str | None = None

    @property
    def actions(self) -> list[dict[str, Any]]:
        """The flat action list (nested WhenAll/WhenAny expanded, depth first)."""
        if not self.state:
            return []
        out: list[dict[str, Any]] = []

        def walk(items: Sequence[Any]) -> None:
            for item in items:
                if isinstance(item, list):
                    walk(item)
                    continue
                out.append(item)
                walk(item.get("compoundActions") or [])

        walk(self.state.get("actions") or [])
        return out


class _RecordingContext(DurableOrchestrationContext):
    """The SDK's orchestration context, noting each sequence id as the SDK assigns it."""

    def __init__(self, **kwargs: Any) -> None:
        self.recorded: list[ScheduledTask] = []
        super().__init__(**kwargs)

    def _add_to_open_tasks(self, task: TaskBase) -> None:
        fresh = isinstance(task, AtomicTask) and task.id is None and not task._is_scheduled
        super()._add_to_open_tasks(task)
        if fresh and isinstance(task.id, int):
            self.recorded.append(self._describe(task))

    def _describe(self, task: AtomicTask) -> ScheduledTask:
        action = task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
        if isinstance(action, NoOpAction):
            return self._describe_retry_step(task, action)
        wire: dict[str, Any] = action.to_json()
        kind = wire.get("actionType")
        if kind in (0, 1):
            return ScheduledTask(task.id, ACTIVITY, wire["functionName"], wire.get("input"), task=task)
        if kind in (2, 3):
            return ScheduledTask(
                task.id,
                SUB_ORCHESTRATION,
                wire["functionName"],
                wire.get("input"),
                instance_id=wire.get("instanceId"),
                version=wire.get("version"),
                task=task,
            )
        if kind == 5:
            fire_at = parse_timestamp(wire["fireAt"])
            return ScheduledTask(task.id, TIMER, fire_at=fire_at, task=task)
        names = {7: "call_entity", 8: "call_http", 9: "signal_entity"}
        detail = names.get(kind, f"actionType {kind}") if isinstance(kind, int) else f"actionType {kind}"
        return ScheduledTask(task.id, UNSUPPORTED, detail=detail, task=task)

    def _describe_retry_step(self, task: AtomicTask, action: NoOpAction) -> ScheduledTask:
        # A -WithRetry task's hidden steps (durable.md §6.2): after a failure, a delay timer; after
        # the delay, the same call again. After the last attempt DTFx still creates one timer and
        # makes it fire at once ("dummy timer for back-compat"); the SDK waits for it before raising.
        retry = task.parent
        wire: dict[str, Any] = retry.actions.to_json()
        if action.metadata == "rescheduled task":
            kind = ACTIVITY if wire["actionType"] in (0, 1) else SUB_ORCHESTRATION
            return ScheduledTask(
                task.id,
                kind,
                wire["functionName"],
                wire.get("input"),
                instance_id=wire.get("instanceId"),
                version=wire.get("version"),
                task=task,
            )
        options = retry.retry_options
        last_attempt = retry.num_attempts >= options.max_number_of_attempts
        delay = (
            timedelta(0)
            if last_attempt
            else timedelta(milliseconds=options.first_retry_interval_in_milliseconds)
        )
        return ScheduledTask(
            task.id, TIMER, fire_at=self.current_utc_datetime + delay, retry_timer=True, task=task
        )


def build_context(
    *,
    instance_id: str,
    parent_instance_id: str | None,
    input_text: str | None,
    past_events: Sequence[str],
    new_events: Sequence[str],
    timers: TimerSettings,
) -> str:
    """The context JSON the host sends to an orchestrator trigger (durable.md §3).

    `past_events`/`new_events` are stored event JSON objects without `IsPlayed`; `input_text` is the
    stored input (a JSON text, spliced in as the JSON value the host's `ConvertToJToken` yields).
    """
    played = ['{"IsPlayed":true,' + text[1:] for text in past_events]
    fresh = ['{"IsPlayed":false,' + text[1:] for text in new_events]
    return (
        '{"history":['
        + ",".join(played + fresh)
        + '],"input":'
        + (input_text if input_text is not None else "null")
        + ',"instanceId":'
        + json.dumps(instance_id)
        + ',"isReplaying":'
        + ("true" if past_events else "false")
        + ',"parentInstanceId":'
        + json.dumps(parent_instance_id)
        + ',"upperSchemaVersion":1,"upperSchemaVersionNew":2'
        + ',"longRunningTimerIntervalDuration":'
        + json.dumps(timers.long_running_interval)
        + ',"maximumShortTimerDuration":'
        + json.dumps(timers.maximum_short_timer)
        + ',"defaultHttpAsyncRequestSleepTimeMillseconds":30000}'
    )


def run_episode(handler: Callable[..., Any], context_json: str) -> EpisodeResult:
    """Replay the orchestrator behind `handler` (the decorator-produced function) on `context_json`.

    Never raises for anything the orchestrator does: user exceptions come back in `error`, and an SDK
    failure (malformed history, unserialisable custom status) comes back as `state=None`.
    """
    generator_fn = getattr(handler, "orchestrator_function", None)
    if generator_fn is None:
        return EpisodeResult(None, [], set(), error="the function is not a Durable orchestrator")
    context: _RecordingContext | None = None
    try:
        context = _RecordingContext(**json.loads(context_json))
        context._input_expected_type = getattr(handler, "_df_input_type", None)
        state_text = Orchestrator(generator_fn).handle(context)
        result = EpisodeResult(json.loads(state_text), context.recorded, set())
    except Exception as exc:  # user code or SDK: reported through the instance, never raised
        text = str(exc)
        if _OUT_OF_PROC_LABEL in text:
            message, _, payload = text.partition(_OUT_OF_PROC_LABEL)
            state = json.loads(payload)
            recorded = context.recorded if context is not None else []
            result = EpisodeResult(state, recorded, set(), error=state.get("error") or message)
        else:
            log.exception("the Durable SDK failed while replaying an orchestration")
            result = EpisodeResult(None, [], set(), error=f"{type(exc).__name__}: {exc}")
    except BaseException as exc:  # SystemExit from user code must not stop the runtime
        if isinstance(exc, KeyboardInterrupt):
            raise
        result = EpisodeResult(None, [], set(), error=f"{type(exc).__name__}: {exc}")
    result.cancelled_timers = {
        item.seq
        for item in result.scheduled
        if item.kind == TIMER and isinstance(item.task, TimerTask) and item.task.is_cancelled
    }
    for item in result.scheduled:
        item.task = None  # the SDK objects die with the replay; results are plain data
    return result
