"""Durable history events in the exact shape the Durable extension sends to the Python SDK.

The host serialises DTFx `HistoryEvent`s with Newtonsoft defaults: PascalCase keys, `EventType` as an
integer, `EventId` -1 unless the event is a scheduled task/timer (then its sequence id), and a
`Timestamp` in .NET round-trip form with a `Z` (the SDK parses it with dateutil; tz-aware values keep
`current_utc_datetime` comparable). Events are stored as compact JSON text *without* `IsPlayed`; the
executor adds `"IsPlayed"` when it builds an episode, so stored events never need rewriting.

This module also renders the *management* view of a history (`showHistory=true` on the status API),
which the extension builds differently from the orchestrator-trigger view. It depends on the standard
library only.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EventType",
    "HistoryIndex",
    "dumps",
    "format_status_time",
    "format_timestamp",
    "management_view",
    "new_event",
    "parse_timestamp",
]


class EventType(enum.IntEnum):
    """DTFx `EventType` numbers (= the SDK's `HistoryEventType`)."""

    EXECUTION_STARTED = 0  # first event of every execution; carries Name, Version, Input
    EXECUTION_COMPLETED = 1  # final status and result of an execution (management view only)
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3  # terminate request; Input holds the reason
    TASK_SCHEDULED = 4  # an activity was scheduled at sequence id EventId
    TASK_COMPLETED = 5  # activity result for TaskScheduledId
    TASK_FAILED = 6  # activity failure for TaskScheduledId (Reason, Details)
    SUB_ORCHESTRATION_CREATED = 7  # child started at sequence id EventId
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10  # durable timer at sequence id EventId, FireAt
    TIMER_FIRED = 11  # timer TimerId fired
    ORCHESTRATOR_STARTED = 12  # opens an episode; its Timestamp is the orchestration's "now"
    ORCHESTRATOR_COMPLETED = 13  # closes an episode
    EVENT_SENT = 14
    EVENT_RAISED = 15  # external event Name with Input (JSON text)
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


def format_timestamp(moment: datetime) -> str:
    """.NET round-trip form with seven fractional digits and `Z`, as DTFx writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_timestamp(text: str) -> datetime:
    """Inverse of `format_timestamp`; also accepts ISO 8601 with fewer or more fraction digits."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    head, sep, tail = value.partition(".")
    if sep:
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_status_time(moment: datetime) -> str:
    """Status API times: `yyyy-MM-ddTHH:mm:ssZ` (the extension's `ToString("s") + "Z"`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(value: Any) -> str:
    """Compact JSON, the one encoding used for stored events and payload text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_event(kind: EventType, moment: datetime, *, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """A host-shaped history event; `fields` are the DTFx data members (PascalCase) for `kind`."""
    return {"EventType": int(kind), "EventId": event_id, "Timestamp": format_timestamp(moment), **fields}


@dataclass
class HistoryIndex:
    """What the runtime needs to know about an execution's history without re-reading it.

    `scheduled` maps each sequence id the orchestrator used to (event type, name): replay must ask for
    the same thing at the same id, or the instance fails as non-deterministic. `fired_timers` lets the
    runtime see which timers are still outstanding (an instance is not Completed while one is).
    """

    scheduled: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    fired_timers: set[int] = field(default_factory=set)

    def add(self, event: dict[str, Any]) -> None:
        kind = event["EventType"]
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED, EventType.TIMER_CREATED):
            self.scheduled[int(event["EventId"])] = (kind, event.get("Name"))
        elif kind == EventType.TIMER_FIRED:
            self.fired_timers.add(int(event["TimerId"]))

    @classmethod
    def build(cls, events: Iterable[dict[str, Any]]) -> HistoryIndex:
        index = cls()
        for event in events:
            index.add(event)
        return index

    def open_timers(self) -> set[int]:
        return {
            seq
            for seq, (kind, _) in self.scheduled.items()
            if kind == EventType.TIMER_CREATED and seq not in self.fired_timers
        }


def _json_token(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def management_view(events: Iterable[dict[str, Any]], *, show_output: bool) -> list[dict[str, Any]]:
    """The status API's `historyEvents`: event names as strings, episode markers dropped, completions
    merged with the event that scheduled them (FunctionName, ScheduledTime).

    # inferred: durable.md §8.4 and the extension's status history shape; field order and the exact
    # set of keys may differ between extension versions, so clients should read fields by name.
    """
    scheduled: dict[int, dict[str, Any]] = {}
    view: list[dict[str, Any]] = []
    for event in events:
        kind = EventType(event["EventType"])
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED):
            scheduled[int(event["EventId"])] = event
            continue
        item: dict[str, Any] = {"EventType": kind_name(kind), "Timestamp": event["Timestamp"]}
        if kind == EventType.EXECUTION_STARTED:
            item["FunctionName"] = event.get("Name")
            item["Correlation"] = None
            if show_output:
                item["Input"] = _json_token(event.get("Input"))
        elif kind in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED,
            EventType.SUB_ORCHESTRATION_FAILED,
        ):
            origin = scheduled.get(int(event["TaskScheduledId"]), {})
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = origin.get("Timestamp")
            if "InstanceId" in origin:
                item["InstanceId"] = origin["InstanceId"]
            if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
                item["Reason"] = event.get("Reason")
                item["Details"] = event.get("Details")
            elif show_output:
                item["Result"] = _json_token(event.get("Result"))
        elif kind in (EventType.TIMER_CREATED, EventType.TIMER_FIRED):
            item["FireAt"] = event.get("FireAt")
            if kind == EventType.TIMER_FIRED:
                item["TimerId"] = event.get("TimerId")
        elif kind == EventType.EVENT_RAISED:
            item["Name"] = event.get("Name")
            if show_output:
                item["Input"] = _json_token(event.get("Input"))
        elif kind == EventType.EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = event.get("OrchestrationStatus")
            if show_output:
                item["Result"] = _json_token(event.get("Result"))
        elif kind == EventType.EXECUTION_TERMINATED:
            item["Input"] = _json_token(event.get("Input"))
        view.append(item)
    return view


def kind_name(kind: EventType) -> str:
    """DTFx's enum member name, e.g. `TaskCompleted`, `SubOrchestrationInstanceCreated`."""
    special = {
        EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
        EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
        EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
        EventType.GENERIC: "GenericEvent",
    }
    if kind in special:
        return special[kind]
    return "".join(part.capitalize() for part in kind.name.split("_"))
