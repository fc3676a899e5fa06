"""The wave engine's compact state: one short row per VM and one small record per wave, as plain JSON.

A wave orchestrator carries this state from one `continue_as_new` generation to the next, so its
history holds a bounded number of events however long the wave runs, and the status API reads the
state instead of the history. Rows are positional lists (a thousand VMs cost tens of kilobytes, not
megabytes); `VmRow.dump()` / `VmRow.load()` and `WaveState.dump()` / `WaveState.load()` convert, and
loading accepts rows written by an older release that had fewer columns (missing ones take their
defaults), so an upgrade does not strand running instances.

Times are whole epoch seconds (0 = not yet). Nothing here is secret: names, HCX ids, byte counts,
HCX's own messages. This module depends on the standard library and `shared.engine.errors` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from shared.engine.errors import EngineStateError

__all__ = [
    "ACTIVE",
    "BLOCKED",
    "CANCELLED",
    "CANCELLING",
    "DONE",
    "FAILED",
    "MIGRATED",
    "NAMES",
    "PENDING",
    "QUEUED",
    "READY",
    "SKIPPED",
    "SWITCHOVER",
    "TRANSFER",
    "VERIFYING",
    "WAITING",
    "VmRow",
    "WaveState",
    "epoch",
    "from_epoch",
]

# One letter per VM state, so a thousand-VM wave's states fit in a short string.
PENDING = "p"  # not validated yet
READY = "r"  # validated; waiting for an admission slot (also after a failed attempt, to retry)
BLOCKED = "b"  # HCX validation refused it (or it cannot run this type): it will not migrate
QUEUED = "q"  # started; HCX holds it until a slot or the serial vMotion turn is free
TRANSFER = "t"  # base sync / copy in progress
WAITING = "w"  # replicated; delta syncs until the switchover window opens (or approval comes)
SWITCHOVER = "s"  # switching over: the point after which a cancel no longer stops it
VERIFYING = "v"  # HCX reports the migration complete; the engine checks both sites
MIGRATED = "m"  # complete and verified
FAILED = "f"  # failed for good: attempts exhausted, verification failed, or no retry possible
CANCELLING = "c"  # a cancel was accepted; HCX cleans up
CANCELLED = "x"  # cancelled before switchover (by an operator or a policy)
SKIPPED = "k"  # never started: the wave halted, was skipped, or its window closed first

NAMES: dict[str, str] = {
    PENDING: "pending",
    READY: "ready",
    BLOCKED: "blocked",
    QUEUED: "queued",
    TRANSFER: "transferring",
    WAITING: "waiting",
    SWITCHOVER: "switchover",
    VERIFYING: "verifying",
    MIGRATED: "migrated",
    FAILED: "failed",
    CANCELLING: "cancelling",
    CANCELLED: "cancelled",
    SKIPPED: "skipped",
}
# An HCX migration exists and is not over: these count against the admission limits.
ACTIVE = frozenset({QUEUED, TRANSFER, WAITING, SWITCHOVER, CANCELLING})
# Nothing more will happen to the VM in this wave (until an operator retries it).
DONE = frozenset({BLOCKED, MIGRATED, FAILED, CANCELLED, SKIPPED})

# VmRow.flags bits.
HELD = 1  # started with its switchover held until approval
CANCEL_ASKED = 2  # a cancel was sent for the current attempt
OBSERVED_SWITCHOVER = 4  # the engine saw it switching over (a cancel can no longer stop it)


def epoch(moment: datetime | None) -> int:
    """An aware datetime as whole epoch seconds; None is 0."""
    return int(moment.timestamp()) if moment is not None else 0


def from_epoch(seconds: int | float) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; 0 is None."""
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


@dataclass(slots=True)
class VmRow:
    """One VM of the wave, by its index in the prepared wave's VM list."""

    state: str = PENDING
    attempts: int = 0  # HCX migrations started for this VM, the first included
    base: int = 0  # `attempts` when an operator's retry last renewed the VM's budget
    ids: list[str] = field(default_factory=list)  # HCX migration id per attempt, oldest first
    group: int = -1  # the latest attempt's migration group, as an index into WaveState.groups
    mesh: int = -1  # the latest attempt's service mesh, as an index into the wave's meshes
    pct: float = 0.0
    done: int = 0  # bytes the latest attempt has moved, as HCX reports them
    moved: int = 0  # final bytes of the earlier attempts
    total: int = 0  # bytes the latest attempt has to move (grows with delta syncs)
    t_start: int = 0  # when the first attempt's transfer started
    t_xfer: int = 0  # when the latest attempt's transfer ended
    t_sw: int = 0  # when its switchover started
    t_sw_end: int = 0  # when its switchover ended
    t_end: int = 0  # when the VM reached a state it keeps (migrated, failed, cancelled, skipped)
    error: str = ""  # the last failure, as HCX or the verification put it
    flags: int = 0  # HELD | CANCEL_ASKED | OBSERVED_SWITCHOVER
    checks: int = 0  # verification tries of the latest attempt

    @property
    def bytes(self) -> int:
        """Everything HCX reported moving for this VM, over all its attempts."""
        return self.moved + self.done

    @property
    def used_attempts(self) -> int:
        """Attempts counted against the plan's max_attempts (since the last operator retry)."""
        return self.attempts - self.base

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)

    def set(self, flag: int, on: bool = True) -> None:
        self.flags = (self.flags | flag) if on else (self.flags & ~flag)

    def dump(self) -> list[Any]:
        return [getattr(self, name) for name in _ROW]

    @classmethod
    def load(cls, row: list[Any]) -> VmRow:
        if len(row) > len(_ROW):
            raise EngineStateError(f"a VM row has {len(row)} columns; this release knows {len(_ROW)}")
        return cls(*row)


_ROW = tuple(f.name for f in fields(VmRow))


@dataclass(slots=True)
class WaveState:
    """The wave's dynamic state: what changes between polls (the VMs' static facts are elsewhere)."""

    vms: list[VmRow]
    generation: int = 0  # continue_as_new generations so far
    polls: int = 0  # HCX progress queries so far
    started: int = 0  # when the wave began
    ended: int = 0  # when it ended
    validated: int = 0  # VMs validated so far, in list order
    approved: bool = False  # approval given (or not needed, or the timeout said proceed)
    approved_by: str = ""
    approval_requested: int = 0
    approval_deadline: int = 0
    approval_outcome: str = ""  # approved | proceeded | skipped | cancelled
    halted: bool = False  # failures went over the wave's limit
    cancel: str = ""  # "", "wave" (this wave only) or "migration" (everything)
    last_poll: float = 0  # when HCX answered the last progress query (its Date, else ours)
    last_bytes: int = 0  # bytes moved by every attempt at the last poll (for throughput)
    throughput: list[list[float]] = field(default_factory=list)  # [epoch s, Gbps, in flight]
    timeline: list[list[Any]] = field(default_factory=list)  # [epoch s, text]
    warnings: list[list[str]] = field(default_factory=list)  # [vm, code, message]
    seen: list[str] = field(default_factory=list)  # request ids of operator events already applied
    groups: list[str] = field(default_factory=list)  # HCX migration group ids (one per start call)
    retries: int = 0  # operator retries applied to this wave
    activity_failures: int = 0  # activity calls that failed after their own retries

    def dump(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "vms"}
        data["vms"] = [vm.dump() for vm in self.vms]
        return data

    @classmethod
    def load(cls, data: dict[str, Any]) -> WaveState:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "vms"}
        return cls(vms=[VmRow.load(row) for row in data.get("vms", [])], **values)

    @classmethod
    def fresh(cls, count: int) -> WaveState:
        return cls(vms=[VmRow() for _ in range(count)])

    def states(self) -> str:
        """Every VM's state letter, in VM order: the compact form the status shows for large waves."""
        return "".join(vm.state for vm in self.vms)
