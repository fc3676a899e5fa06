"""The root orchestrator's side of the wave engine, as pure decisions (`orchestrators/migration.py`
sequences them): operator events the root keeps, each wave's input, what a wave's outcome means for
the migration, which VMs moved (for the cutover), and the migration's final status.

* `Controls` records what operators asked while waves run: an approval for the whole migration (waves
  started later inherit it), approvals of waves not started yet, a cancel of the migration, a retry.
  Events carry a `request_id`; a repeated delivery is dropped.
* `wave_input(...)` is the `migrate_wave` input; `after_wave(outcome)` says whether the migration goes
  on, stops cancelled, or waits for an operator (a halted wave).
* `final_status(results, cancelled)`: completed, completed_with_failures or cancelled.

Depends on `shared.engine` and `shared.prepared` only.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from shared.engine.state import MIGRATED, NAMES, WaveState
from shared.prepared import PreparedContext

__all__ = ["Controls", "after_wave", "final_status", "moved_entities", "wave_input", "wave_line"]

SEEN_KEPT = 64


def event_body(value: Any) -> dict[str, Any]:
    """An event's payload as a dict (the Python client double-encodes, durable.md §6.4)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return value if isinstance(value, dict) else {}


@dataclass
class Controls:
    """Operator events the root keeps. `waits` are the root's open event waits by name (Durable tasks,
    created by the orchestrator); `note()` applies each one that completed, once."""

    waits: dict[str, list[Any]] = field(default_factory=dict)
    approved_all: bool = False
    approved_waves: set[str] = field(default_factory=set)
    cancelled: bool = False
    retries: list[dict[str, str | None]] = field(default_factory=list)  # each retry's {wave, vm}
    by: str = ""
    seen: list[str] = field(default_factory=list)
    applied: set[tuple[str, int]] = field(default_factory=set)

    def open(self, name: str | None = None) -> list[Any]:
        """The waits not completed yet (of one name, or all)."""
        names = [name] if name else sorted(self.waits)
        return [t for n in names for t in self.waits.get(n, []) if not t.is_completed]

    def add(self, name: str, task: Any) -> Any:
        self.waits.setdefault(name, []).append(task)
        return task

    def note(self) -> None:
        for name in sorted(self.waits):
            for k, task in enumerate(self.waits[name]):
                if task.is_completed and (name, k) not in self.applied:
                    self.applied.add((name, k))
                    self.on_event(name, task.result)

    def on_event(self, name: str, value: Any) -> bool:
        """Record one operator event the root received; False for a duplicate or one not for it."""
        body = event_body(value)
        request = str(body.get("request_id") or "")
        if request:
            if request in self.seen:
                return False
            self.seen = [*self.seen, request][-SEEN_KEPT:]
        if name == "approve" and not body.get("network"):
            if body.get("wave"):
                self.approved_waves.add(str(body["wave"]))
            else:
                self.approved_all, self.by = True, str(body.get("by") or "")
            return True
        if name == "cancel" and not body.get("wave") and not body.get("vm"):
            self.cancelled = True
            return True
        if name == "retry":
            self.retries.append({"wave": body.get("wave") or None, "vm": body.get("vm") or None})
            return True
        return False

    def retry_for(self, wave: str, since: int) -> list[str] | bool:
        """What the retries sent after the first `since` ask of `wave`: True (all its failed VMs),
        some VM names, or False (nothing)."""
        names: list[str] = []
        for request in self.retries[since:]:
            if request["wave"] not in (None, wave):
                continue
            if request["vm"] is None:
                return True
            names.append(str(request["vm"]))
        return names or False

    def approved(self, wave: str) -> bool:
        return self.approved_all or wave in self.approved_waves


def wave_input(
    plan: dict[str, Any],
    prepared: PreparedContext,
    index: int,
    run: str,
    *,
    approved: bool,
    state: dict[str, Any] | None = None,
    retry: list[str] | bool = False,
) -> dict[str, Any]:
    """The `migrate_wave` input: the plan, the wave's slice of the context, the run, the state."""
    data: dict[str, Any] = {
        "plan": plan,
        "prepared": prepared.for_wave(index).model_dump(mode="json"),
        "wave": index,
        "run": run,
        "approved": approved,
    }
    if state is not None:
        data["state"] = state
    if retry:
        data["retry"] = retry  # True: every failed VM; a list: those VMs
    return data


def after_wave(result: dict[str, Any]) -> str:
    """What a wave's result means for the migration: "next", "halted" or "cancelled"."""
    outcome = result.get("outcome")
    if outcome == "cancelled" and result.get("cancel_scope") == "migration":
        return "cancelled"
    if outcome == "halted":
        return "halted"
    return "next"


def failures(result: dict[str, Any]) -> int:
    state = WaveState.load(result["state"])
    return sum(1 for vm in state.vms if NAMES[vm.state] in ("failed", "blocked"))


def moved_entities(prepared: PreparedContext, results: list[dict[str, Any]]) -> list[str]:
    """Entity ids (source) of every VM the waves migrated: the cutover ignores their Bulk copies."""
    out: list[str] = []
    for result in results:
        wave = prepared.wave(int(result["index"]))
        state = WaveState.load(result["state"])
        out += [wave.vms[i].entity_id for i, vm in enumerate(state.vms) if vm.state == MIGRATED]
    return out


def final_status(results: list[dict[str, Any]], cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    bad = any(failures(r) for r in results) or any(r.get("outcome") != "completed" for r in results)
    return "completed_with_failures" if bad else "completed"


def wave_line(name: str, instance: str, result: dict[str, Any] | None, state: str) -> dict[str, Any]:
    """One entry of the root's `waves` status list."""
    line: dict[str, Any] = {"name": name, "instance": instance, "state": state}
    if result is not None:
        vms = WaveState.load(result["state"]).vms
        counts: dict[str, int] = {}
        for vm in vms:
            counts[NAMES[vm.state]] = counts.get(NAMES[vm.state], 0) + 1
        line["counts"] = dict(sorted(counts.items()))
    return line
