"""Switchover approval: when a wave asks for it, and what its timeout does.

A wave whose plan requires approval (Bulk and RAV only) starts its migrations with the switchover
held (a window that never opens by itself, `spec.HOLD`). Transfers run; approval is *requested* once
the wave can go no further without a switchover: nothing left to validate, nothing queued or
transferring, at least one VM replicated and waiting, and no VM that could still start (none ready,
or every admission slot held by a waiting VM). The request raises `ApprovalNeeded` and sets the
deadline: the plan's `approval.timeout` from then, and never later than the end of the plan's window.

An `approve` event (for the migration or this wave) may come at any time, before the request too; it
releases the held migrations to the plan's window (or to "as soon as possible"). At the deadline the
plan's `on_timeout` applies: `proceed` releases them anyway (with a warning), `skip_wave` cancels what
has not switched over and the root goes on with the next wave, `cancel` cancels the whole migration.

Depends on `shared.engine` only; it works on a `WaveEngine` so its rules sit in one place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.engine.admission import capacity
from shared.engine.state import PENDING, QUEUED, READY, TRANSFER, WAITING, epoch, from_epoch

if TYPE_CHECKING:
    from shared.engine.wave import WaveEngine

__all__ = ["ready_for_approval", "step"]


def ready_for_approval(engine: WaveEngine) -> bool:
    """The wave can go no further without a switchover."""
    vms = engine.state.vms
    if any(vm.state in (PENDING, QUEUED, TRANSFER) for vm in vms):
        return False
    if not any(vm.state == WAITING for vm in vms):
        return False
    return not any(vm.state == READY for vm in vms) or capacity(engine.spec, engine.state) == 0


def step(engine: WaveEngine, now: datetime) -> None:
    s, spec = engine.state, engine.spec
    if not spec.approval_required or s.approved or s.cancel:
        return
    if not s.approval_requested:
        if not ready_for_approval(engine):
            return
        deadline = now + spec.approval_timeout
        if spec.window_end is not None:
            deadline = min(deadline, max(now, spec.window_end))
        s.approval_requested, s.approval_deadline = epoch(now), epoch(deadline)
        engine._timeline(now, "approval requested")
        waiting = sum(1 for vm in s.vms if vm.state == WAITING)
        engine._event(
            "ApprovalNeeded",
            None,
            {
                "deadline": deadline.isoformat(),
                "timeout_s": int(spec.approval_timeout / timedelta(seconds=1)),
                "on_timeout": spec.on_timeout,
                "waiting_vms": waiting,
                "window_start": spec.window_start.isoformat() if spec.window_start else None,
                "window_end": spec.window_end.isoformat() if spec.window_end else None,
            },
        )
        return
    if epoch(now) < s.approval_deadline:
        return
    when = from_epoch(s.approval_deadline)
    policy = spec.on_timeout
    engine._warn(None, "APPROVAL_TIMED_OUT", f"no approval by {when.isoformat() if when else ''}: {policy}")
    engine._timeline(now, f"approval timed out: {policy}")
    if policy == "proceed":
        s.approval_outcome = "proceeded"
        engine._approve("timeout", None)
    elif policy == "skip_wave":
        s.approval_outcome = "skipped"
        engine.cancel_all("skip", now)
    else:
        s.approval_outcome = "cancelled"
        engine.cancel_all("migration", now)
