"""Instance management: the operations behind the Durable HTTP API (durable.md §8.4).

Start, status, list, raise event, terminate, suspend, resume, restart and purge, with the host's
rules (which states accept which operation) expressed as `runtime.errors` the HTTP layer maps to the
host's status codes. The HTTP layer only parses requests and renders results; `LocalRuntime` exposes
the same operations in process. Depends on the store and the engine, not on HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.clock import Clock
from runtime.engine import Engine
from runtime.errors import BadRequest, Conflict, Gone, NotFound, PreconditionFailed
from runtime.functions import FunctionIndex
from runtime.history import EventType, dumps, format_status_time, management_view, new_event
from runtime.store import TERMINAL_STATUSES, InstanceRow, Store, db_time

__all__ = ["RUNTIME_STATUSES", "Management", "Page", "validate_instance_id"]

RUNTIME_STATUSES = (
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Suspended",
)
_MAX_INSTANCE_ID = 256


def validate_instance_id(instance_id: str) -> None:
    """# inferred: Durable Functions rejects ids that are empty, start with '@' (entity ids), contain
    '/', '\\', '#', '?' or control characters, or are too long (the Azure Storage provider uses them
    as table keys)."""
    if not instance_id:
        raise BadRequest("instanceId must not be empty")
    if instance_id.startswith("@"):
        raise BadRequest("instanceId must not start with '@' (reserved for entity ids)")
    bad = [ch for ch in instance_id if ch in "/\\#?" or ord(ch) < 32 or ord(ch) == 127]
    if bad:
        raise BadRequest(f"instanceId must not contain {bad[0]!r}")
    if len(instance_id) > _MAX_INSTANCE_ID:
        raise BadRequest(f"instanceId must be at most {_MAX_INSTANCE_ID} characters")


@dataclass(frozen=True)
class Page:
    instances: list[dict[str, Any]]
    continuation: str | None


def _token(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Management:
    def __init__(self, store: Store, engine: Engine, functions: FunctionIndex, clock: Clock) -> None:
        self.store = store
        self.engine = engine
        self.functions = functions
        self.clock = clock

    def _row(self, instance_id: str) -> InstanceRow:
        row = self.store.get_instance(instance_id)
        if row is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return row

    # -- start ---------------------------------------------------------------------------------

    def start(
        self,
        name: str,
        instance_id: str | None = None,
        input_text: str | None = None,
        version: str | None = None,
    ) -> str:
        """Create (or replace a finished) instance; `input_text` is the JSON text received, stored as is."""
        if name not in self.functions.orchestrators:
            known = ", ".join(sorted(self.functions.orchestrators)) or "none"
            raise BadRequest(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: the known orchestrator functions are: {known}."
            )
        instance_id = instance_id or uuid.uuid4().hex
        validate_instance_id(instance_id)
        if input_text is not None:
            try:
                json.loads(input_text)
            except ValueError as exc:
                raise BadRequest(f"Invalid JSON content: {exc}") from exc
        now = self.clock.now()
        execution_id = uuid.uuid4().hex
        started = new_event(
            EventType.EXECUTION_STARTED,
            now,
            Name=name,
            Version=version or "",
            Input=input_text,
            OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
            ParentInstance=None,
        )
        with self.store.write() as cur:
            existing = cur.execute(
                "SELECT status FROM instances WHERE instance_id = ?", (instance_id,)
            ).fetchone()
            if existing is not None and existing[0] not in TERMINAL_STATUSES:
                # The host's default overridableExistingInstanceStates = NonRunningStates (durable.md §10).
                raise Conflict(f"An Orchestration instance with the status {existing[0]} already exists.")
            self.store.clear_instance(cur, instance_id)
            self.store.insert_instance(
                cur,
                InstanceRow(
                    instance_id,
                    name,
                    version or "",
                    execution_id,
                    "Pending",
                    input_text,
                    None,
                    None,
                    now,
                    now,
                    None,
                    None,
                    None,
                    None,
                ),
            )
            self.store.enqueue(cur, instance_id, execution_id, EventType.EXECUTION_STARTED, dumps(started))
        self.engine.forget(instance_id)
        self.engine.notify(instance_id)
        return instance_id

    def restart(self, instance_id: str, new_instance_id: bool = True) -> str:
        row = self.store.get_instance(instance_id)
        if row is None:
            raise BadRequest("InstanceId does not match a valid orchestration instance.")
        if not new_instance_id and not row.is_terminal:
            raise Conflict("A non-terminal instance with this instance ID already exists.")
        return self.start(row.name, None if new_instance_id else instance_id, row.input, row.version or None)

    # -- queries -------------------------------------------------------------------------------

    def status(
        self,
        instance_id: str,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> dict[str, Any]:
        row = self._row(instance_id)
        body = self._render(row, show_input)
        if show_history:
            events = [json.loads(text) for text in self.store.history(instance_id)]
            body["historyEvents"] = management_view(events, show_output=show_history_output)
        return body

    @staticmethod
    def _render(row: InstanceRow, show_input: bool) -> dict[str, Any]:
        return {
            "name": row.name,
            "instanceId": row.instance_id,
            "runtimeStatus": row.status,
            "input": _token(row.input) if show_input else None,
            "customStatus": _token(row.custom_status),
            "output": _token(row.output),
            "createdTime": format_status_time(row.created_time),
            "lastUpdatedTime": format_status_time(row.last_updated_time),
        }

    def list(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        statuses: Sequence[str] = (),
        prefix: str | None = None,
        show_input: bool = True,
        top: int = 100,
        continuation: str | None = None,
    ) -> Page:
        """One page of instances in creation order; `continuation` resumes after the previous page."""
        if top < 1:
            raise BadRequest("top must be a positive integer")
        after = _decode_token(continuation) if continuation else None
        rows = self.store.list_instances(
            created_from=created_from,
            created_to=created_to,
            statuses=statuses,
            prefix=prefix,
            after=after,
            limit=top + 1,
        )
        more = len(rows) > top
        rows = rows[:top]
        token = _encode_token(rows[-1]) if more and rows else None
        return Page([self._render(row, show_input) for row in rows], token)

    # -- messages to an instance ---------------------------------------------------------------

    def require_open(self, instance_id: str) -> InstanceRow:
        """The instance, if it exists (else 404) and has not finished (else 410)."""
        row = self._row(instance_id)
        if row.is_terminal:
            raise Gone(f"Instance with ID {instance_id} is gone: either completed or failed.")
        return row

    def raise_event(self, instance_id: str, event_name: str, data_text: str | None) -> None:
        """`data_text` is the request's JSON text; the orchestrator gets exactly that JSON value."""
        row = self.require_open(instance_id)
        if not event_name:
            raise BadRequest("eventName must not be empty")
        event = new_event(EventType.EVENT_RAISED, self.clock.now(), Name=event_name, Input=data_text)
        with self.store.write() as cur:
            self.store.enqueue(cur, instance_id, None, EventType.EVENT_RAISED, dumps(event))
        if row.status != "Suspended":
            self.engine.notify(instance_id)

    def terminate(self, instance_id: str, reason: str | None) -> None:
        row = self._row(instance_id)
        if row.is_terminal:
            raise Gone(f"Instance with ID {instance_id} is already {row.status}.")
        event = new_event(EventType.EXECUTION_TERMINATED, self.clock.now(), Input=reason)
        with self.store.write() as cur:
            self.store.enqueue(cur, instance_id, None, EventType.EXECUTION_TERMINATED, dumps(event))
        self.engine.notify(instance_id)

    def suspend(self, instance_id: str, reason: str | None) -> None:
        self._set_suspended(instance_id, True)

    def resume(self, instance_id: str, reason: str | None) -> None:
        self._set_suspended(instance_id, False)

    def _set_suspended(self, instance_id: str, suspended: bool) -> None:
        row = self._row(instance_id)
        if row.is_terminal:
            raise Gone(f"Instance with ID {instance_id} is already {row.status}.")
        after, allowed = (
            ("Suspended", ("Running", "Pending")) if suspended else ("Running", ("Suspended", ""))
        )
        with self.store.write() as cur:
            cur.execute(
                "UPDATE instances SET status=?, last_updated_time=? WHERE instance_id=? AND status IN (?, ?)",
                (after, db_time(self.clock.now()), instance_id, *allowed),
            )
        if not suspended:
            self.engine.notify(instance_id)

    # -- purge ---------------------------------------------------------------------------------

    def purge(self, instance_id: str) -> int:
        row = self._row(instance_id)
        if not row.is_terminal:
            raise PreconditionFailed(
                "Only orchestrations in a terminal state can be purged, but the orchestration with instance "
                f"ID {instance_id} has status {row.status}"
            )
        with self.store.write() as cur:
            self.store.purge(cur, instance_id)
        self.engine.forget(instance_id)
        return 1

    def purge_by(self, created_from: datetime, created_to: datetime | None, statuses: Sequence[str]) -> int:
        ids = self.store.terminal_instances(created_from, created_to, statuses)
        with self.store.write() as cur:
            for instance_id in ids:
                self.store.purge(cur, instance_id)
        for instance_id in ids:
            self.engine.forget(instance_id)
        return len(ids)


def _encode_token(row: InstanceRow) -> str:
    raw = dumps([db_time(row.created_time), row.instance_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        created, instance_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return str(created), str(instance_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("x-ms-continuation-token is not a token this runtime issued") from exc
