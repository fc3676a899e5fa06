"""A wave's custom status: what the status API shows of it, within Durable Functions' 16 KB limit.

The Durable host refuses a custom status larger than 16 KB of UTF-16 JSON, and the status API must
not read histories, so the wave orchestrator publishes a compact view after every step
(`wave_status`). Every view has the wave's phase, window, approval, counts, bytes, percent, ETA,
retries, failures, the latest warnings and timeline entries, and the VMs in one of two forms:

* `"vms": {name: [state, attempt, pct, bytes_done, bytes_total, t_start, t_transfer_end,
  t_switchover_start, t_end, migration_id]}` (times in epoch seconds, 0 = not yet) when that fits
  the budget (`Tuning.status_budget` characters);
* otherwise `"vm_states"` (one letter per VM, in the order of the wave's VM list, see
  `shared.engine.state.NAMES`), `"vm_attempts"` (one digit per VM, 9 = nine or more) and
  `"in_flight": {index: [pct, bytes_done, bytes_total]}` for the VMs HCX is moving now; the VM
  names come from the wave instance's input (`prepared`), which the status API reads as well.

`vm_rows(custom_status, names)` reads either form back into one dict per VM. Depends on
`shared.engine` only.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.engine.state import (
    ACTIVE,
    CANCELLING,
    HELD,
    NAMES,
    PENDING,
    QUEUED,
    READY,
    SWITCHOVER,
    TRANSFER,
    VERIFYING,
    WAITING,
    from_epoch,
)

if TYPE_CHECKING:
    from shared.engine.wave import WaveEngine

__all__ = ["phase", "vm_rows", "wave_status"]


def phase(engine: WaveEngine, now: datetime) -> str:
    """validating | admitting | transferring | waiting_for_window | awaiting_approval | switchover |
    verifying | cancelling | completed | completed_with_failures | halted | skipped | cancelled."""
    s = engine.state
    if s.ended:
        return engine.outcome()
    letters = {vm.state for vm in s.vms}
    if s.cancel and letters & ACTIVE:
        return "cancelling"
    if PENDING in letters:
        return "validating"
    if s.approval_requested and not s.approved:
        return "awaiting_approval"
    if SWITCHOVER in letters:
        return "switchover"
    if letters & {QUEUED, TRANSFER, CANCELLING}:
        return "transferring"
    if WAITING in letters:
        start = engine.spec.window_start
        held = any(vm.has(HELD) for vm in s.vms if vm.state == WAITING)
        return "waiting_for_window" if (start and start > now) or held else "switchover"
    if READY in letters:
        return "admitting"
    if VERIFYING in letters:
        return "verifying"
    return "halted" if s.halted else "verifying"


def _eta(engine: WaveEngine, now: datetime) -> str | None:
    """When the transfers should be done, at the throughput of the last few polls."""
    s = engine.state
    remaining = sum(max(0, vm.total - vm.done) for vm in s.vms if vm.state in (QUEUED, TRANSFER))
    remaining += sum(
        engine.spec.vms[i].used_bytes for i, vm in enumerate(s.vms) if vm.state in (PENDING, READY)
    )
    if remaining == 0:
        return None
    recent = [sample[1] for sample in s.throughput[-5:] if sample[1] > 0]
    if not recent:
        return None
    seconds = remaining * 8 / (sum(recent) / len(recent) * 1e9)
    return (now + timedelta(seconds=seconds)).isoformat()


def wave_status(engine: WaveEngine, now: datetime, budget: int | None = None) -> dict[str, Any]:
    s, spec = engine.state, engine.spec
    limit = budget or engine.tuning.status_budget
    total = sum(max(vm.total, spec.vms[i].used_bytes) for i, vm in enumerate(s.vms))
    done = sum(vm.done if vm.state != READY else 0 for vm in s.vms)
    counts: dict[str, int] = {}
    for vm in s.vms:
        counts[NAMES[vm.state]] = counts.get(NAMES[vm.state], 0) + 1
    finished = sum(counts.get(k, 0) for k in ("migrated", "failed", "blocked", "cancelled", "skipped"))
    eta = _eta(engine, now)
    view: dict[str, Any] = {
        "wave": spec.name,
        "index": spec.index,
        "type": spec.type,
        "state": phase(engine, now),
        "window": {"start": spec.window_start.isoformat(), "end": spec.window_end.isoformat()}
        if spec.window_start and spec.window_end
        else None,
        "approval": {
            "required": spec.approval_required,
            "approved": s.approved,
            "by": s.approved_by or None,
            "requested": _iso(s.approval_requested),
            "deadline": _iso(s.approval_deadline),
            "outcome": s.approval_outcome or None,
        },
        "counts": dict(sorted(counts.items())),
        "percent": round(100.0 * finished / len(s.vms), 1) if s.vms else 100.0,
        "bytes_done": done,
        "bytes_total": total,
        "eta": eta,
        "eta_within_window": (eta <= spec.window_end.isoformat()) if eta and spec.window_end else None,
        "retries": sum(max(0, vm.attempts - 1) for vm in s.vms),
        "failures": engine.failures(),
        "max_failures": spec.max_failures,
        "halted": s.halted,
        "cancel": s.cancel or None,
        "started": _iso(s.started),
        "ended": _iso(s.ended),
        "polls": s.polls,
        "generation": s.generation,
        "updated": now.isoformat(),
        "warnings": s.warnings[-5:],
        "timeline": s.timeline[-8:],
    }
    view["vms"] = {
        spec.vms[i].name: [
            NAMES[vm.state],
            vm.attempts,
            vm.pct,
            vm.bytes,
            max(vm.total, spec.vms[i].used_bytes),
            vm.t_start,
            vm.t_xfer,
            vm.t_sw,
            vm.t_end,
            vm.ids[-1] if vm.ids else None,
        ]
        for i, vm in enumerate(s.vms)
    }
    if _size(view) <= limit:
        return view
    del view["vms"]
    view["vm_states"] = s.states()
    view["vm_attempts"] = "".join(str(min(9, vm.attempts)) for vm in s.vms)
    view["in_flight"] = {
        str(i): [vm.pct, vm.done, vm.total] for i, vm in enumerate(s.vms) if vm.state in (QUEUED, TRANSFER)
    }
    while _size(view) > limit and view["in_flight"]:
        view["in_flight"] = dict(list(view["in_flight"].items())[: len(view["in_flight"]) // 2])
        view["in_flight_truncated"] = True
    for key in ("timeline", "warnings"):
        while _size(view) > limit and view[key]:
            view[key] = view[key][1:]
    return view


def vm_rows(status: dict[str, Any], names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each VM of a wave's custom status as a dict, whichever form the status took."""
    if isinstance(status.get("vms"), dict):
        out = []
        for name, row in status["vms"].items():
            state, attempt, pct, done, total, t0, t1, t2, t3, mid = (list(row) + [None] * 10)[:10]
            out.append(
                {
                    "name": name,
                    "state": state,
                    "attempts": attempt,
                    "percent": pct,
                    "bytes_done": done,
                    "bytes_total": total,
                    "started": _iso(t0),
                    "transfer_ended": _iso(t1),
                    "switchover_started": _iso(t2),
                    "ended": _iso(t3),
                    "migration_id": mid,
                }
            )
        return out
    letters = str(status.get("vm_states") or "")
    attempts = str(status.get("vm_attempts") or "")
    flight = status.get("in_flight") or {}
    out = []
    for i, letter in enumerate(letters):
        progress = flight.get(str(i))
        out.append(
            {
                "name": names[i] if names is not None and i < len(names) else f"#{i}",
                "state": NAMES.get(letter, letter),
                "attempts": int(attempts[i]) if i < len(attempts) and attempts[i].isdigit() else None,
                "percent": progress[0] if progress else None,
                "bytes_done": progress[1] if progress else None,
                "bytes_total": progress[2] if progress else None,
            }
        )
    return out


def _iso(seconds: int | float | None) -> str | None:
    moment = from_epoch(seconds) if seconds else None
    return moment.isoformat() if moment else None


def _size(view: dict[str, Any]) -> int:
    # ensure_ascii: one character per UTF-16 unit or fewer, so the count bounds the host's measure.
    return len(json.dumps(view, separators=(",", ":"), ensure_ascii=True))
