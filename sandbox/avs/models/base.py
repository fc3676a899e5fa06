"""The ARM backend's machinery: resources, long-running operations, and time-driven transitions.

Resources are kept in collections keyed by their lower-cased collection id (ARM ids are
case-insensitive), in insertion order. A long-running operation (`Operation`) finishes at a due time on
the world's clock; `Timeline` holds every due transition and `BackendBase.settle()` applies the ones
that are due before any public method reads or writes state, so the simulator advances exactly as far
as `world.now()` and never on the wall clock. Effects are applied at (and events backdated to) their
due time, so a virtual clock advanced in one big jump gives the same history as one advanced in steps.

A virtual clock's jumps also settle at once (the backend subscribes to the clock).

Durations are simulated time. A client polling an operation with `Retry-After: 1` under a virtual
clock sees progress only when the clock moves; that is intended (the app polls with durable timers).
This module depends on the sandbox world and the ARM exceptions only.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, ClassVar, Concatenate, Literal, ParamSpec, TypeVar

from sandbox.avs.exceptions import ArmError, OperationFailed, ResourceGroupNotFound, ResourceNotFound
from sandbox.core.world import SIDES, Side, World

__all__ = ["DURATIONS", "ArmResource", "BackendBase", "Operation", "Timeline", "iso", "locked"]

P = ParamSpec("P")
R = TypeVar("R")
B = TypeVar("B", bound="BackendBase")

# inferred: anchors.md / avs-arm.md give no timings for these operations; the values keep a
# simulated rehearsal realistic in order of magnitude (an HCX add-on install is the slow one) while a
# virtual clock skips them in one step.
DURATIONS: dict[str, timedelta] = {
    "addon.HCX": timedelta(minutes=5),
    "addon": timedelta(minutes=3),
    "addon.delete": timedelta(minutes=2),
    "authorization": timedelta(seconds=30),
    "cloudLink": timedelta(minutes=2),
    "globalReach": timedelta(minutes=1),
    # After provisioning succeeds, BGP between the circuits takes a while: Connecting -> Connected.
    "globalReach.connect": timedelta(minutes=4),
    "segment": timedelta(seconds=30),
    "cluster": timedelta(minutes=30),
    "cluster.update": timedelta(minutes=15),
    "datastore": timedelta(minutes=2),
    "privateCloud.update": timedelta(minutes=1),
    "rotate": timedelta(minutes=1),
    "delete": timedelta(seconds=30),
}

OperationKind = Literal["put", "patch", "delete", "post"]


def iso(moment: datetime) -> str:
    """ARM's timestamp shape: ISO 8601 UTC with a `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(kw_only=True)
class ArmResource:
    """One resource under a private cloud. Subclasses add typed fields and `properties()`."""

    type: ClassVar[str] = ""
    id: str
    name: str
    side: Side
    created_at: datetime
    modified_at: datetime
    provisioning_state: str = "Succeeded"

    def properties(self) -> dict[str, Any]:
        return {}

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "systemData": {
                "createdBy": "sandbox@hcx-conductor.invalid",
                "createdByType": "User",
                "createdAt": iso(self.created_at),
                "lastModifiedBy": "sandbox@hcx-conductor.invalid",
                "lastModifiedByType": "User",
                "lastModifiedAt": iso(self.modified_at),
            },
            "properties": {**self.properties(), "provisioningState": self.provisioning_state},
        }


@dataclass(kw_only=True)
class Operation:
    """A long-running operation, served by the status monitor and the Location result URL."""

    id: str
    kind: OperationKind
    resource_id: str
    location: str
    subscription: str
    started: datetime
    due: datetime
    status: Literal["InProgress", "Succeeded", "Failed"] = "InProgress"
    ended: datetime | None = None
    error: ArmError | None = None
    # The body a Location poll returns once done (PATCH: the resource; DELETE/POST: none).
    result: Callable[[], dict[str, Any] | None] = field(default=lambda: None, repr=False)

    @property
    def done(self) -> bool:
        return self.status != "InProgress"

    def to_status(self) -> dict[str, Any]:
        # Never "Cancelled": azure-core treats that spelling as non-terminal and would poll forever.
        body: dict[str, Any] = {
            "id": f"/subscriptions/{self.subscription}/providers/Microsoft.AVS/locations/{self.location}"
            f"/operationStatuses/{self.id}",
            "name": self.id,
            "status": self.status,
            "startTime": iso(self.started),
        }
        if self.ended is not None:
            body["endTime"] = iso(self.ended)
        if self.error is not None:
            body["error"] = self.error.to_wire()["error"]
        return body


class Timeline:
    """Transitions due at a simulated time, applied in due order (ties in scheduling order)."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._seq = itertools.count()
        self._running = False

    def at(self, due: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), action))

    def run_due(self, now: datetime) -> None:
        # An action that reads state through a public method must not re-enter the loop.
        if self._running:
            return
        self._running = True
        try:
            while self._heap and self._heap[0][0] <= now:
                due, _, action = heapq.heappop(self._heap)
                action(due)
        finally:
            self._running = False

    def next_due(self) -> datetime | None:
        return self._heap[0][0] if self._heap else None


def locked(method: Callable[Concatenate[B, P], R]) -> Callable[Concatenate[B, P], R]:
    """Public backend methods hold `world.lock` and first apply every transition that is due."""

    @wraps(method)
    def wrapper(self: B, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.world.lock:
            self.settle()
            return method(self, *args, **kwargs)

    return wrapper


class BackendBase:
    """State and helpers every resource family of the ARM backend shares."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.subscription_id = world.scenario.subscription_id
        self.timeline = Timeline()
        self.operations: dict[str, Operation] = {}
        self._collections: dict[str, dict[str, ArmResource]] = {}
        self._ids = world.rng("arm:ids")
        self._sides = {
            (world.cloud(side).resource_group.lower(), world.cloud(side).name.lower()): side for side in SIDES
        }

    # -- time --------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Apply every transition due by `world.now()`."""
        with self.world.lock:
            self.timeline.run_due(self.world.now())

    def now(self) -> datetime:
        return self.world.now()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def record(self, kind: str, at: datetime | None = None, **detail: Any) -> None:
        self.world.record("arm", kind, at=at, **detail)

    # -- addressing --------------------------------------------------------------------------------

    def side_of(self, resource_group: str, cloud: str) -> Side:
        """The side a private cloud path names; 404 in ARM's words when it names nothing."""
        side = self._sides.get((resource_group.lower(), cloud.lower()))
        if side is not None:
            return side
        if resource_group.lower() not in {rg for rg, _ in self._sides}:
            raise ResourceGroupNotFound(f"Resource group '{resource_group}' could not be found.")
        raise ResourceNotFound(
            f"The Resource 'Microsoft.AVS/privateClouds/{cloud}' under resource group "
            f"'{resource_group}' was not found."
        )

    def resource_groups(self) -> set[str]:
        return {rg for rg, _ in self._sides}

    def collection(self, collection_id: str) -> dict[str, ArmResource]:
        return self._collections.setdefault(collection_id.lower(), {})

    def items(self, collection_id: str) -> list[ArmResource]:
        return list(self.collection(collection_id).values())

    def find(self, collection_id: str, name: str) -> ArmResource | None:
        return self.collection(collection_id).get(name.lower())

    def lookup(self, collection_id: str, name: str, what: str) -> ArmResource:
        found = self.find(collection_id, name)
        if found is None:
            raise ResourceNotFound(f"The {what} '{name}' was not found.", target=name)
        return found

    def store(self, collection_id: str, resource: ArmResource) -> None:
        self.collection(collection_id)[resource.name.lower()] = resource

    def discard(self, collection_id: str, name: str) -> None:
        self.collection(collection_id).pop(name.lower(), None)

    def all_of(self, kind: type[ArmResource]) -> Iterator[ArmResource]:
        for members in self._collections.values():
            for resource in members.values():
                if isinstance(resource, kind):
                    yield resource

    # -- long-running operations -------------------------------------------------------------------

    def begin(
        self,
        kind: OperationKind,
        resource_id: str,
        side: Side,
        duration: timedelta,
        on_done: Callable[[datetime], None],
        result: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> Operation:
        """Start an operation that applies `on_done` at now + `duration`; an `ArmError` it raises fails
        the operation with that error."""
        now = self.now()
        op = Operation(
            id=self.uuid(),
            kind=kind,
            resource_id=resource_id,
            location=self.world.cloud(side).region,
            subscription=self.subscription_id,
            started=now,
            due=now + duration,
            result=result,
        )
        self.operations[op.id] = op

        def finish(due: datetime) -> None:
            try:
                on_done(due)
            except ArmError as exc:
                op.status, op.error = "Failed", exc
            else:
                op.status = "Succeeded"
            op.ended = due

        self.timeline.at(op.due, finish)
        return op

    def failed(self, message: str, code: str) -> OperationFailed:
        return OperationFailed(message, code=code)
