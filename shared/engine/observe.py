"""What one HCX progress query says about one migration, reduced to what the engine decides on.

`observe(migration)` maps a `shared.hcx.Migration` (v2 item or v1 row) to an `Observation`: a phase
the engine knows, the byte counts and the phase times. Only HCX's terminal state names are verified
(hcx-api.md §7.5); the intermediate ones are matched leniently (inferred: hcx-api.md §7.5, the
sandbox's names and the `progress.state` flags), and a state the engine does not recognise is
`UNKNOWN`: still in flight, nothing decided on it. Observations travel from the query activity to the
orchestrator as short positional lists (`dump`/`load`). This module depends on `shared.hcx` models and
`shared.engine.state` only.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Any

from shared.engine.state import CANCELLING, QUEUED, SWITCHOVER, TRANSFER, WAITING, epoch
from shared.hcx.migrations import Migration

__all__ = ["COMPLETE", "GONE", "LOST", "STOPPED", "UNKNOWN", "Observation", "observe"]

COMPLETE = "M"  # HCX says the migration completed
LOST = "F"  # the attempt failed (transfer or switchover)
STOPPED = "X"  # the attempt was cancelled
UNKNOWN = "?"  # a state the engine does not know: treated as still in flight
GONE = "0"  # the query did not return the migration at all (e.g. archived)

# inferred: hcx-api.md §7.5 lists no intermediate v2 states; these are the names seen in the
# sandbox and in HCX's UI vocabulary, matched by substring so variants still land in a phase.
_WAITING_WORDS = ("WAITING", "TRANSFER_COMPLETE", "READY_FOR_SWITCHOVER", "SCHEDULED")
_TRANSFER_WORDS = ("TRANSFER", "SYNC", "INITIATED", "MIGRATING", "REPLICAT", "IN_PROGRESS")
_QUEUED_WORDS = ("QUEUED", "DRAFT", "PENDING", "SUBMITTED")


@dataclass(slots=True)
class Observation:
    """One migration at one poll. Times are epoch seconds (0 = HCX did not say)."""

    migration_id: str
    phase: str  # QUEUED, TRANSFER, WAITING, SWITCHOVER, CANCELLING, COMPLETE, LOST, STOPPED, UNKNOWN
    pct: float = 0.0
    done: int = 0
    total: int = 0
    t_start: int = 0
    t_xfer: int = 0
    t_sw: int = 0
    t_sw_end: int = 0
    t_end: int = 0
    error: str = ""
    state: str = ""  # HCX's own state name, for messages

    def row(self) -> list[Any]:
        """Positional, without the id (the query's order gives it) and without trailing defaults:
        every poll's answer stays in the history, and every episode parses it again."""
        row = list(astuple(self))[1:]
        while len(row) > 1 and row[-1] in (0, 0.0, ""):
            row.pop()
        return row

    @classmethod
    def from_row(cls, migration_id: str, row: list[Any]) -> Observation:
        # Positional: replay applies every poll of a generation again, so this runs very often.
        return cls(migration_id, *row[: _COLUMNS - 1])

    @property
    def finished(self) -> bool:
        return self.phase in (COMPLETE, LOST, STOPPED)


_COLUMNS = len(fields(Observation))


def _phase(m: Migration) -> str:
    state = m.state.upper()
    if m.cancelled:
        return STOPPED
    if m.failed:
        return LOST
    if m.succeeded:
        return COMPLETE
    if m.finished:
        return UNKNOWN  # a terminal flag without a state we can read: wait for a clearer answer
    if "CANCEL" in state:
        return CANCELLING
    if ("SWITCHOVER" in state and "WAIT" not in state) or m.progress.switchover_started:
        return SWITCHOVER
    if any(word in state for word in _WAITING_WORDS) or m.progress.waiting_for_window:
        return WAITING
    if any(word in state for word in _QUEUED_WORDS):
        return QUEUED
    if any(word in state for word in _TRANSFER_WORDS):
        return TRANSFER
    return UNKNOWN


def observe(m: Migration) -> Observation:
    """The engine's view of one query item."""
    p = m.progress
    total = int(p.bytes_total or 0)
    done = int(p.bytes_transferred or 0)
    percent = m.percent
    error = p.error_message or ""
    if not error and (m.failed or m.cancelled):
        error = p.message or m.state
    return Observation(
        migration_id=m.migration_id,
        phase=_phase(m),
        pct=round(float(percent), 1) if percent is not None else 0.0,
        done=done,
        total=total,
        t_start=epoch(p.start_time),
        t_xfer=epoch(p.transfer_end),
        t_sw=epoch(p.switchover_start),
        t_sw_end=epoch(p.switchover_end),
        t_end=epoch(p.end_time) if m.finished else 0,
        error=error[:500],
        state=m.state,
    )
