"""What an episode's decision does to the store, in one transaction per call.

`write_episode` appends the episode's events, consumes its messages, records new activity calls and
timers, starts sub-orchestrations, and ends or restarts (continue-as-new) the execution, notifying a
parent orchestration when a child ends; `write_termination` does the same for a terminate request.
Each runs inside the caller's `Store.write()` transaction, so an episode commits all of its effects or
none. The engine updates its in-memory queues from the returned `Written`. No threads, no clock reads.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.decider import ChildCall, Decision, Outcome
from runtime.history import EventType, dumps, new_event
from runtime.store import TERMINAL_STATUSES, ActivityRow, InboxRow, InstanceRow, Store, TimerRow, db_time

__all__ = ["Written", "episode_events", "write_episode", "write_termination"]


@dataclass
class Written:
    """What a transaction created that the engine must schedule in memory."""

    activities: list[ActivityRow] = field(default_factory=list)
    timers: list[TimerRow] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)  # instances that got a message
    reset: list[str] = field(default_factory=list)  # instances whose execution state was replaced


def episode_events(fresh: list[str], decision: Decision, now: datetime) -> list[str]:
    """The history events an episode appends: its new events, what it scheduled, and the closing ones."""
    closing = [dumps(new_event(EventType.ORCHESTRATOR_COMPLETED, now))]
    if decision.outcome in (Outcome.COMPLETED, Outcome.FAILED):
        closing.append(
            dumps(
                new_event(
                    EventType.EXECUTION_COMPLETED,
                    now,
                    OrchestrationStatus=decision.outcome.value,
                    Result=decision.output,
                )
            )
        )
    return fresh + [dumps(e) for e in decision.new_events] + closing


def write_episode(
    store: Store,
    cur: sqlite3.Cursor,
    row: InstanceRow,
    history_length: int,
    appended: list[str],
    decision: Decision,
    consumed: list[int],
    now: datetime,
) -> Written:
    written = Written()
    outcome = decision.outcome
    stamp = db_time(now)
    store.delete_inbox(cur, consumed)
    if outcome is Outcome.CONTINUED_AS_NEW:
        next_execution = uuid.uuid4().hex
        store.clear_instance(cur, row.instance_id, keep_inbox=True)
        started = new_event(
            EventType.EXECUTION_STARTED,
            now,
            Name=row.name,
            Version=row.version,
            Input=decision.output,
            OrchestrationInstance={"InstanceId": row.instance_id, "ExecutionId": next_execution},
            ParentInstance=_parent_of(row),
        )
        store.enqueue(cur, row.instance_id, next_execution, EventType.EXECUTION_STARTED, dumps(started))
        cur.execute(
            "UPDATE instances SET execution_id=?, input=?, output=NULL, custom_status=NULL, "
            "status=CASE WHEN status='Suspended' THEN status ELSE 'Running' END, last_updated_time=? "
            "WHERE instance_id=?",
            (next_execution, decision.output, stamp, row.instance_id),
        )
        written.woken.append(row.instance_id)
        written.reset.append(row.instance_id)
        return written
    store.append_history(cur, row.instance_id, history_length, appended)
    for call in decision.activities:
        written.activities.append(
            store.insert_activity(cur, row.instance_id, row.execution_id, call.seq, call.name, call.input)
        )
    for timer in decision.timers:
        if timer.seq not in decision.cancelled_timers:
            written.timers.append(
                store.insert_timer(cur, row.instance_id, row.execution_id, timer.seq, timer.fire_at)
            )
    # inferred: DTFx still delivers a cancelled timer's TimerFired later; the runtime deletes it instead,
    # so an auto-advancing clock does not jump to a deadline nobody waits for (the SDK ignores it anyway).
    store.delete_timers(cur, row.instance_id, row.execution_id, decision.cancelled_timers)
    for child in decision.children:
        _start_child(store, cur, row, child, now, written)
    if outcome is Outcome.RUNNING:
        cur.execute(
            "UPDATE instances SET "
            "status=CASE WHEN status='Suspended' THEN status ELSE 'Running' END, "
            "custom_status=COALESCE(?, custom_status), last_updated_time=? WHERE instance_id=?",
            (decision.custom_status, stamp, row.instance_id),
        )
        return written
    # Queued calls of a finished execution are not run; running ones finish and their results are
    # dropped (their work rows are gone).
    cur.execute("DELETE FROM activities WHERE instance_id = ?", (row.instance_id,))
    cur.execute("DELETE FROM timers WHERE instance_id = ?", (row.instance_id,))
    cur.execute(
        "UPDATE instances SET status=?, output=?, custom_status=COALESCE(?, custom_status), "
        "last_updated_time=? WHERE instance_id=?",
        (outcome.value, decision.output, decision.custom_status, stamp, row.instance_id),
    )
    written.woken.extend(_notify_parent(store, cur, row, outcome, decision.output, now))
    return written


def write_termination(
    store: Store,
    cur: sqlite3.Cursor,
    row: InstanceRow,
    message: InboxRow,
    history_length: int,
    consumed: list[int],
    now: datetime,
) -> Written:
    """End the instance as Terminated with the request's reason as output; no user code runs."""
    reason = json.loads(message.event).get("Input")
    output = dumps(reason)
    events = [
        dumps(new_event(EventType.ORCHESTRATOR_STARTED, now)),
        message.event,
        dumps(new_event(EventType.ORCHESTRATOR_COMPLETED, now)),
        dumps(new_event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus="Terminated", Result=output)),
    ]
    store.delete_inbox(cur, consumed)
    cur.execute("DELETE FROM activities WHERE instance_id = ?", (row.instance_id,))
    cur.execute("DELETE FROM timers WHERE instance_id = ?", (row.instance_id,))
    store.append_history(cur, row.instance_id, history_length, events)
    cur.execute(
        "UPDATE instances SET status='Terminated', output=?, last_updated_time=? WHERE instance_id=?",
        (output, db_time(now), row.instance_id),
    )
    # inferred: a terminated sub-orchestration fails its parent's call instead of leaving it waiting.
    woken = _notify_parent(store, cur, row, Outcome.FAILED, dumps(f"Instance terminated: {reason}"), now)
    return Written(woken=woken, reset=[row.instance_id])


def _start_child(
    store: Store, cur: sqlite3.Cursor, parent: InstanceRow, child: ChildCall, now: datetime, written: Written
) -> None:
    existing = cur.execute(
        "SELECT status FROM instances WHERE instance_id = ?", (child.instance_id,)
    ).fetchone()
    if existing is not None and existing[0] not in TERMINAL_STATUSES:
        # inferred: DTFx refuses to start a sub-orchestration over a running instance; the parent
        # sees the call fail rather than hang.
        failed = new_event(
            EventType.SUB_ORCHESTRATION_FAILED,
            now,
            TaskScheduledId=child.seq,
            Reason=f"An orchestration with instance ID '{child.instance_id}' already exists.",
            Details=None,
        )
        store.enqueue(
            cur, parent.instance_id, parent.execution_id, EventType.SUB_ORCHESTRATION_FAILED, dumps(failed)
        )
        written.woken.append(parent.instance_id)
        return
    store.clear_instance(cur, child.instance_id)
    execution_id = uuid.uuid4().hex
    input_text = _json_text(child.input)
    store.insert_instance(
        cur,
        InstanceRow(
            child.instance_id,
            child.name,
            child.version or "",
            execution_id,
            "Pending",
            input_text,
            None,
            None,
            now,
            now,
            parent.instance_id,
            parent.execution_id,
            child.seq,
            parent.name,
        ),
    )
    started = new_event(
        EventType.EXECUTION_STARTED,
        now,
        Name=child.name,
        Version=child.version or "",
        Input=input_text,
        OrchestrationInstance={"InstanceId": child.instance_id, "ExecutionId": execution_id},
        ParentInstance={
            "Name": parent.name,
            "Version": parent.version,
            "OrchestrationInstance": {"InstanceId": parent.instance_id, "ExecutionId": parent.execution_id},
            "TaskScheduleId": child.seq,
        },
    )
    store.enqueue(cur, child.instance_id, execution_id, EventType.EXECUTION_STARTED, dumps(started))
    written.woken.append(child.instance_id)
    written.reset.append(child.instance_id)


def _notify_parent(
    store: Store, cur: sqlite3.Cursor, row: InstanceRow, outcome: Outcome, output: str | None, now: datetime
) -> list[str]:
    if row.parent_instance_id is None or row.parent_task_id is None:
        return []
    event: dict[str, Any]
    if outcome is Outcome.COMPLETED:
        event = new_event(
            EventType.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=row.parent_task_id, Result=output
        )
    else:
        reason = json.loads(output) if output else f"Orchestrator function '{row.name}' failed"
        event = new_event(
            EventType.SUB_ORCHESTRATION_FAILED,
            now,
            TaskScheduledId=row.parent_task_id,
            Reason=reason,
            Details=None,
        )
    store.enqueue(cur, row.parent_instance_id, row.parent_execution_id, event["EventType"], dumps(event))
    return [row.parent_instance_id]


def _parent_of(row: InstanceRow) -> dict[str, Any] | None:
    if row.parent_instance_id is None:
        return None
    return {
        "Name": row.parent_name,
        "OrchestrationInstance": {
            "InstanceId": row.parent_instance_id,
            "ExecutionId": row.parent_execution_id,
        },
        "TaskScheduleId": row.parent_task_id,
    }


def _json_text(action_input: str | None) -> str | None:
    """How the host stores an input the SDK produced with df_dumps: the string itself as a JSON token
    (double encoding, as for Python-client starts, durable.md §8.3)."""
    return None if action_input is None else dumps(action_input)
