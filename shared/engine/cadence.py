"""When to look at HCX again: the poll cadence, adapted to what is in flight and what is awaited.

HCX refreshes its own transfer estimates about every 1.5 minutes for VMs under 50 GB, 5 minutes up
to 1 TB and 15 minutes beyond (anchors.md §1.2); polling faster learns nothing new. The plan's
`limits.poll` sets those three intervals, and the smallest VM in flight picks one. Beyond that:

* nothing to wait for (work to start, VMs to validate) means no wait at all;
* when every migration in flight is replicated and waiting for a switchover window that opens
  later, the next look is when the window opens (delta syncs need no watching);
* a pending approval's deadline is a wake-up too (the approval itself wakes the wave through its
  event, whatever the timer says);
* never less than `Tuning.min_poll` between two polls.

Pure: returns a duration; the orchestrator turns it into a durable timer. Depends on
`shared.engine` only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.engine.spec import Tuning, WaveSpec
from shared.engine.state import ACTIVE, HELD, PENDING, READY, VERIFYING, WAITING, WaveState, epoch

__all__ = ["poll_interval", "wait_for"]

GB = 1e9


def poll_interval(spec: WaveSpec, state: WaveState) -> timedelta:
    """The cadence for what is in flight now: the plan's interval for its smallest VM."""
    sizes = [spec.vms[i].disk_bytes for i, vm in enumerate(state.vms) if vm.state in ACTIVE]
    if not sizes:
        return spec.poll.small_vm
    return spec.poll.interval_for(min(sizes) / GB)


def wait_for(spec: WaveSpec, state: WaveState, now: datetime, tuning: Tuning, startable: bool) -> timedelta:
    """How long to sleep before the next step; zero when there is work to do at once.

    `startable`: VMs are ready and admission has room (the step hit its batch limit).
    """
    vms = state.vms
    if startable or any(vm.state == PENDING for vm in vms):
        return timedelta(0)
    active = [vm for vm in vms if vm.state in ACTIVE]
    if not active and not any(vm.state in (VERIFYING, READY) for vm in vms):
        deadline = _approval_deadline(state, now)
        return deadline if deadline is not None else timedelta(0)
    interval = poll_interval(spec, state)
    if active and not any(vm.state == VERIFYING for vm in vms) and all(vm.state == WAITING for vm in active):
        # Replicated and waiting: the next event is the window opening (or the approval).
        if all(vm.has(HELD) for vm in active) and not state.approved:
            later = _approval_deadline(state, now)
            if later is not None:
                interval = later
        elif spec.window_start is not None and spec.window_start > now:
            interval = max(interval, spec.window_start - now)
    deadline = _approval_deadline(state, now)
    if deadline is not None:
        interval = min(interval, deadline)
    return max(interval, tuning.min_poll)


def _approval_deadline(state: WaveState, now: datetime) -> timedelta | None:
    if state.approval_requested and not state.approved and state.approval_deadline:
        return timedelta(seconds=max(0, state.approval_deadline - epoch(now)))
    return None
