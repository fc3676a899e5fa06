"""`WaveEngine`: every decision of one wave, as pure functions of its compact state and HCX's answers.

The wave orchestrator only sequences: it asks the engine what to call (`validation_batches`,
`start_batches`, `in_flight_ids`, `verify_batch`, `cancel_ids`, `reschedule_groups`), calls those
activities, hands their results back (`on_validated`, `on_started`, `on_polled`, ...), sleeps for
`wait()` racing the operator's events (`on_event`), and continues as new with `dump()`. Given the
same inputs the engine makes the same decisions, so replay is deterministic, and unit tests drive it
without Durable Functions or HCX.

A VM's life (letters in `shared.engine.state`): pending → ready (validated) or blocked → queued →
transferring → waiting (replicated, for the window or the approval) → switchover → verifying →
migrated. A failed attempt goes back to ready while attempts remain (the retry asks for seed
checkpoint), else to failed; the wave halts when more VMs than `max_failures` have failed for good.
Cancels stop what has not switched over; what already switched over ends as it ends.

Events the orchestrator must publish accumulate in `events` (drained each step). This module
depends on `shared.engine`, `shared.plan`, `shared.prepared` and `shared.hcx` request types only.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from shared.engine import approval as approvals
from shared.engine.admission import capacity, choose_starts
from shared.engine.cadence import wait_for
from shared.engine.errors import EngineStateError
from shared.engine.observe import COMPLETE, LOST, STOPPED, UNKNOWN, Observation
from shared.engine.payloads import StartItem, VerifyItem, attempt_tag
from shared.engine.spec import HOLD, Tuning, WaveSpec
from shared.engine.state import (
    ACTIVE,
    BLOCKED,
    CANCEL_ASKED,
    CANCELLED,
    CANCELLING,
    DONE,
    FAILED,
    HELD,
    MIGRATED,
    NAMES,
    OBSERVED_SWITCHOVER,
    PENDING,
    QUEUED,
    READY,
    SKIPPED,
    SWITCHOVER,
    TRANSFER,
    VERIFYING,
    WAITING,
    WaveState,
    epoch,
    from_epoch,
)
from shared.hcx.migrations import MigrationSpec
from shared.plan import MigrationPlan
from shared.prepared import PreparedContext

__all__ = ["CANCEL_WANTED", "WaveEngine"]

CANCEL_WANTED = 8  # VmRow flag: stop this VM's migration if it has not switched over
SEEN_KEPT = 64  # operator request ids remembered, to drop duplicate deliveries of one event
# Throughput is bytes over time between two HCX answers; spans this short would let a second of clock
# granularity or scheduling jitter read as a burst the interconnect never carried.
THROUGHPUT_WINDOW_S = 600


class WaveEngine:
    """One wave's decisions. Build with `WaveEngine.load(input)`; persist with `dump()`."""

    def __init__(
        self,
        plan: MigrationPlan,
        prepared: PreparedContext,
        spec: WaveSpec,
        state: WaveState,
        *,
        run: str,
        tuning: Tuning | None = None,
        approved: bool = False,
    ) -> None:
        self.plan = plan
        self.prepared = prepared
        self.spec = spec
        self.state = state
        self.run = run
        self.tuning = tuning or Tuning()
        self.events: list[dict[str, Any]] = []
        # Lookups every replayed step needs: VM index by name and by its current migration id.
        self._by_name = {vm.name: i for i, vm in enumerate(spec.vms)}
        self._by_id = {vm.ids[-1]: i for i, vm in enumerate(state.vms) if vm.ids}
        if approved and not state.approved:
            self._approve("migration", None)

    # --- input and output ------------------------------------------------------------------------

    @classmethod
    def load(cls, data: dict[str, Any]) -> WaveEngine:
        """From the orchestrator's input: {plan, prepared, wave, run, approved?, tuning?, state?}."""
        plan = MigrationPlan.model_validate(data["plan"])
        prepared = PreparedContext.model_validate(data["prepared"])
        spec = WaveSpec.build(plan, prepared, data["wave"])
        raw = data.get("state")
        state = WaveState.load(raw) if raw else WaveState.fresh(len(spec.vms))
        if len(state.vms) != len(spec.vms):
            raise EngineStateError(
                f"wave {spec.name!r}: the state has {len(state.vms)} VMs, the plan {len(spec.vms)}"
            )
        tuning = Tuning.model_validate(data.get("tuning") or {})
        engine = cls(
            plan, prepared, spec, state, run=data["run"], tuning=tuning, approved=bool(data.get("approved"))
        )
        retry = data.get("retry")
        if retry is True:
            engine.retry_failed(None)
        elif isinstance(retry, list):
            for name in retry:
                if name in engine._by_name:
                    engine.retry_failed(engine._by_name[name])
        return engine

    def dump(self, data: dict[str, Any]) -> dict[str, Any]:
        """The next generation's input: the static parts of `data` and the current state."""
        return {**data, "approved": self.state.approved, "retry": False, "state": self.state.dump()}

    def drain_events(self) -> list[dict[str, Any]]:
        events, self.events = self.events, []
        return events

    # --- beginning --------------------------------------------------------------------------------

    def begin(self, now: datetime) -> None:
        """Called at the top of every generation; does its work once per wave."""
        s = self.state
        if s.started:
            return
        s.started = epoch(now)
        self._timeline(now, f"wave started: {len(s.vms)} VMs, {self.spec.type}")
        self._event(
            "WaveStarted", None, {"vms": len(s.vms), "type": self.spec.type, "index": self.spec.index}
        )
        if self.spec.type == "cold":
            # Cold migrates powered-off VMs only (anchors.md §1.1); HCX would refuse the rest anyway.
            for i, vm in enumerate(self.spec.vms):
                if vm.powered_on:
                    self._block(i, now, "Cold migration needs the VM powered off")

    # --- validation -------------------------------------------------------------------------------

    def validation_batches(self) -> list[list[int]]:
        """VMs to validate next, in batches (one HCX validate call each); at most one step's worth."""
        pending = [i for i, vm in enumerate(self.state.vms) if vm.state == PENDING]
        size, calls = self.tuning.validate_batch, self.tuning.validate_calls
        return [pending[k : k + size] for k in range(0, min(len(pending), size * calls), size)]

    def validation_specs(self, batch: list[int]) -> list[MigrationSpec]:
        return [self._spec(i, attempt=1, mesh=-1, held=False, now=None) for i in batch]

    def on_validated(self, batch: list[int], results: list[list[Any]], now: datetime) -> None:
        """`results[k]` = [ok, [error messages], [[code, warning], ...]] for `batch[k]`."""
        for i, (ok, errors, warnings) in zip(batch, results, strict=True):
            for code, message in warnings:
                self._warn(i, code or "HCX_WARNING", message)
            if self.state.vms[i].state != PENDING:
                continue  # cancelled while it was being validated
            if ok:
                self.state.vms[i].state = READY
            else:
                self._block(i, now, "validation: " + "; ".join(errors or ["refused"]))
        self.state.validated += len(batch)
        self._check_halt(now)

    # --- starting ---------------------------------------------------------------------------------

    def start_batches(self, now: datetime) -> list[list[StartItem]]:
        """The migrations to start now, within the admission limits, in batches of one start call."""
        self._close_window(now)
        if self.state.halted or self.state.cancel:
            return []
        size, calls = self.tuning.start_batch, self.tuning.start_calls
        chosen = choose_starts(self.spec, self.state, limit=size * calls)
        held = self.spec.approval_required and not self.state.approved
        items = []
        for pick in chosen:
            vm = self.state.vms[pick.vm]
            attempt = vm.attempts + 1
            tag = attempt_tag(self.plan.id, self.run, self.spec.index, self.spec.vms[pick.vm].name, attempt)
            spec = self._spec(pick.vm, attempt=attempt, mesh=pick.mesh, held=held, now=now)
            items.append(StartItem(spec=spec.model_copy(update={"tags": [tag]}), tag=tag, held=held))
        return [items[k : k + size] for k in range(0, len(items), size)]

    def on_started(self, batch: list[StartItem], results: list[dict[str, Any]], now: datetime) -> None:
        """`results[k]`: {migration_id, group, mesh, adopted, errors, warnings} for `batch[k]`."""
        for item, result in zip(batch, results, strict=True):
            i = self._by_name[item.spec.vm_name]
            vm = self.state.vms[i]
            for code, message in result.get("warnings") or []:
                self._warn(i, code or "HCX_WARNING", message)
            vm.attempts += 1
            vm.moved += vm.done
            vm.done, vm.pct, vm.total, vm.checks = 0, 0.0, self.spec.vms[i].used_bytes, 0
            vm.t_xfer = vm.t_sw = vm.t_sw_end = vm.t_end = 0
            vm.set(CANCEL_ASKED | OBSERVED_SWITCHOVER, False)
            if result.get("migration_id"):
                vm.ids.append(str(result["migration_id"]))
                self._by_id[vm.ids[-1]] = i
                vm.group = self._group_index(str(result.get("group") or ""))
                vm.mesh = self._mesh_index(item.spec.service_mesh_id)
                vm.state = QUEUED
                vm.set(HELD, item.held)
                vm.t_start = vm.t_start or epoch(now)
            else:
                self._attempt_failed(i, now, "start: " + "; ".join(result.get("errors") or ["refused"]))
        self._check_halt(now)

    # --- polling ----------------------------------------------------------------------------------

    def in_flight_ids(self) -> list[str]:
        return [vm.ids[-1] for vm in self.state.vms if vm.state in ACTIVE and vm.ids]

    def on_polled(
        self, ids: list[str], rows: list[list[Any] | None], now: datetime, measured_at: float | None = None
    ) -> None:
        """Apply one progress query: `rows[k]` is `Observation.row()` for `ids[k]`, or None (not found).
        `measured_at` (epoch s) is when HCX answered; throughput is timed by it when it is known."""
        for mid, row in zip(ids, rows, strict=True):
            i = self._by_id.get(mid)
            if i is None or row is None:
                continue  # not in the answer: nothing to learn, nothing to decide
            vm = self.state.vms[i]
            if vm.state not in ACTIVE or vm.ids[-1] != mid:
                continue
            obs = Observation.from_row(mid, row)
            vm.pct, vm.done, vm.total = obs.pct, obs.done, max(obs.total, vm.total)
            vm.t_start = vm.t_start or obs.t_start
            vm.t_xfer = obs.t_xfer or vm.t_xfer
            vm.t_sw = obs.t_sw or vm.t_sw
            vm.t_sw_end = obs.t_sw_end or vm.t_sw_end
            if obs.phase == COMPLETE:
                vm.state, vm.checks, vm.pct = VERIFYING, 0, 100.0
                vm.t_sw_end = vm.t_sw_end or obs.t_end or epoch(now)
                vm.t_xfer = vm.t_xfer or vm.t_sw or vm.t_sw_end
            elif obs.phase == LOST:
                vm.t_end = obs.t_end or epoch(now)
                self._attempt_failed(i, now, obs.error or f"HCX reports {obs.state}")
            elif obs.phase == STOPPED:
                vm.state, vm.t_end = CANCELLED, obs.t_end or epoch(now)
                vm.error = vm.error or (
                    "cancelled" if vm.has(CANCEL_WANTED) else "cancelled outside HCX Conductor"
                )
            elif obs.phase != UNKNOWN:
                if obs.phase == SWITCHOVER:
                    vm.set(OBSERVED_SWITCHOVER)
                    vm.t_sw = vm.t_sw or epoch(now)
                if obs.phase in (WAITING, SWITCHOVER):
                    vm.t_xfer = vm.t_xfer or epoch(now)
                vm.state = obs.phase
        self._sample(measured_at or epoch(now))
        self.state.polls += 1
        self._check_halt(now)

    def _sample(self, t: float) -> None:
        s = self.state
        moved = sum(vm.bytes for vm in s.vms)
        if s.last_poll and t - s.last_poll < THROUGHPUT_WINDOW_S:
            return  # too short a span to time: keep counting from the last sample
        if s.last_poll:
            gbps = max(0.0, (moved - s.last_bytes) * 8 / 1e9 / (t - s.last_poll))
            active = sum(1 for vm in s.vms if vm.state in ACTIVE)
            s.throughput.append([t, round(gbps, 3), active])
            if len(s.throughput) > self.tuning.throughput_samples:
                # Halve the resolution of the older half: the chart keeps its shape, the state its size.
                half = len(s.throughput) // 2
                old = s.throughput[:half]
                merged = [
                    [old[k][0], round((old[k][1] + old[k + 1][1]) / 2, 3), max(old[k][2], old[k + 1][2])]
                    for k in range(0, half - 1, 2)
                ]
                s.throughput = merged + s.throughput[half - half % 2 :]
        s.last_poll, s.last_bytes = t, moved

    # --- verification -----------------------------------------------------------------------------

    def verify_batch(self) -> list[VerifyItem]:
        items: list[VerifyItem] = []
        for i, vm in enumerate(self.state.vms):
            if vm.state == VERIFYING and len(items) < self.tuning.verify_batch:
                spec = self.spec.vms[i]
                items.append(
                    VerifyItem(
                        name=spec.name,
                        entity_id=spec.entity_id,
                        type=self.spec.type,
                        powered_on=spec.powered_on and self.spec.type != "cold",
                        networks=spec.destination_networks,
                    )
                )
        return items

    def on_verified(self, batch: list[VerifyItem], results: list[list[Any]], now: datetime) -> None:
        """`results[k]` = [ok, [problems]] for `batch[k]`."""
        for item, (ok, problems) in zip(batch, results, strict=True):
            i = self._by_name[item.name]
            vm = self.state.vms[i]
            if vm.state != VERIFYING:
                continue
            if ok:
                vm.state, vm.t_end, vm.error = MIGRATED, vm.t_sw_end or epoch(now), ""
                self._event("VmMigrated", i, {"attempts": vm.attempts, "migration_id": vm.ids[-1]})
                continue
            vm.checks += 1
            if vm.checks >= self.tuning.verify_tries:
                vm.state, vm.t_end = FAILED, epoch(now)
                vm.error = "verification: " + "; ".join(problems)
                self._event("VmFailed", i, {"attempts": vm.attempts, "error": vm.error})
        self._check_halt(now)

    # --- failures and halting ---------------------------------------------------------------------

    def _attempt_failed(self, i: int, now: datetime, message: str) -> None:
        vm = self.state.vms[i]
        vm.error = message[:500]
        s, spec = self.state, self.spec
        window_open = spec.window_end is None or now < spec.window_end
        if vm.used_attempts < spec.max_attempts and not s.halted and not s.cancel and window_open:
            vm.state, vm.t_end = READY, 0
            self._warn(i, "VM_ATTEMPT_FAILED", f"attempt {vm.attempts} failed, retrying: {vm.error}")
            return
        vm.state, vm.t_end = FAILED, vm.t_end or epoch(now)
        self._event("VmFailed", i, {"attempts": vm.attempts, "error": vm.error})

    def _block(self, i: int, now: datetime, message: str) -> None:
        vm = self.state.vms[i]
        vm.state, vm.error, vm.t_end = BLOCKED, message[:500], epoch(now)
        self._event("VmFailed", i, {"attempts": vm.attempts, "error": vm.error, "blocked": True})

    def failures(self) -> int:
        return sum(1 for vm in self.state.vms if vm.state in (FAILED, BLOCKED))

    def _check_halt(self, now: datetime) -> None:
        s = self.state
        if s.halted or self.failures() <= self.spec.max_failures:
            return
        s.halted = True
        text = f"{self.failures()} VMs failed, over the limit of {self.spec.max_failures}"
        self._timeline(now, f"halted: {text}")
        self._warn(None, "WAVE_HALTED", text)
        for vm in s.vms:
            if vm.state in (PENDING, READY):
                vm.state, vm.t_end, vm.error = SKIPPED, epoch(now), vm.error or "the wave halted"
            elif vm.state in ACTIVE and self.spec.on_halt == "cancel_in_flight":
                vm.set(CANCEL_WANTED)

    def _close_window(self, now: datetime) -> None:
        end = self.spec.window_end
        if end is None or now < end:
            return
        for vm in self.state.vms:
            if vm.state in (PENDING, READY):
                vm.state, vm.t_end = SKIPPED, epoch(now)
                vm.error = "the switchover window closed before the VM could start"

    # --- cancelling -------------------------------------------------------------------------------

    def cancel_vm(self, i: int, now: datetime, *, skip: bool = False) -> None:
        vm = self.state.vms[i]
        if vm.state in (PENDING, READY):
            vm.state, vm.t_end = (SKIPPED if skip else CANCELLED), epoch(now)
            vm.error = vm.error or ("skipped" if skip else "cancelled before it started")
        elif vm.state in ACTIVE and vm.state != CANCELLING:
            vm.set(CANCEL_WANTED)

    def cancel_all(self, scope: str, now: datetime) -> None:
        """scope: "wave", "migration" or "skip" (the approval timed out with skip_wave)."""
        if not self.state.cancel:
            self.state.cancel = scope
            self._timeline(
                now, {"skip": "skipped", "wave": "wave cancelled"}.get(scope, "migration cancelled")
            )
        for i in range(len(self.state.vms)):
            self.cancel_vm(i, now, skip=scope == "skip")

    def cancel_ids(self) -> list[str]:
        """Migrations to cancel now: wanted, not yet asked, not (seen) switching over."""
        out = []
        for vm in self.state.vms:
            if (
                vm.has(CANCEL_WANTED)
                and not vm.has(CANCEL_ASKED | OBSERVED_SWITCHOVER)
                and vm.state in (QUEUED, TRANSFER, WAITING)
                and vm.ids
            ):
                out.append(vm.ids[-1])
        return out

    def on_cancel_sent(self, ids: list[str]) -> None:
        wanted = set(ids)
        for vm in self.state.vms:
            if vm.ids and vm.ids[-1] in wanted:
                vm.set(CANCEL_ASKED)

    # --- approval ---------------------------------------------------------------------------------

    def approval_step(self, now: datetime) -> None:
        """Ask for approval when the wave cannot go further without it; apply the timeout policy."""
        approvals.step(self, now)

    def _approve(self, by: str, now: datetime | None) -> None:
        s = self.state
        s.approved, s.approved_by = True, by
        s.approval_outcome = s.approval_outcome or "approved"
        if now is not None:
            self._timeline(now, f"approved ({by})")

    def reschedule_groups(self, now: datetime) -> dict[str, list[str]]:
        """Held migrations to release, by migration group, once the wave is approved.

        If the plan's window has closed meanwhile they cannot switch over any more: they are
        cancelled instead (a held migration never switches over by itself).
        """
        if not self.state.approved:
            return {}
        closed = self.spec.window_end is not None and now >= self.spec.window_end
        groups: dict[str, list[str]] = {}
        for vm in self.state.vms:
            if vm.has(HELD) and vm.state in (QUEUED, TRANSFER, WAITING) and vm.ids:
                if closed:
                    vm.set(CANCEL_WANTED)
                    vm.error = "the switchover window closed before the approval"
                else:
                    group = self.state.groups[vm.group] if 0 <= vm.group < len(self.state.groups) else ""
                    groups.setdefault(group, []).append(vm.ids[-1])
        return groups

    def release_window(self) -> tuple[int, int]:
        """The schedule held migrations get once approved: the plan's window, or none (0, 0)."""
        return epoch(self.spec.window_start), epoch(self.spec.window_end)

    def on_rescheduled(self, groups: dict[str, list[str]], refused: dict[str, str], now: datetime) -> None:
        released = {mid for ids in groups.values() for mid in ids}
        for i, vm in enumerate(self.state.vms):
            if vm.ids and vm.ids[-1] in released:
                vm.set(HELD, False)
                if vm.ids[-1] in refused:
                    self._warn(i, "SWITCHOVER_RESCHEDULE_REFUSED", refused[vm.ids[-1]])

    # --- operator events --------------------------------------------------------------------------

    def on_event(self, name: str, payload: Any, now: datetime) -> bool:
        """Apply an operator event (approve, cancel, retry); False when it was a duplicate or not ours."""
        body = payload if isinstance(payload, dict) else {}
        request = str(body.get("request_id") or "")
        if request:
            if request in self.state.seen:
                return False
            self.state.seen = [*self.state.seen, request][-SEEN_KEPT:]
        wave = body.get("wave")
        if wave not in (None, "", self.spec.name):
            return False
        vm_name = body.get("vm")
        target = next((i for i, vm in enumerate(self.spec.vms) if vm.name == vm_name), None)
        if vm_name and target is None:
            return False
        if name == "approve":
            if not self.state.approved:
                self._approve(str(body.get("by") or ("wave" if wave else "migration")), now)
            return True
        if name == "cancel":
            if target is not None:
                self.cancel_vm(target, now)
                self._timeline(now, f"cancel requested for {vm_name}")
            else:
                self.cancel_all("wave" if wave else "migration", now)
            return True
        if name == "retry":
            return self.retry_failed(target, now) > 0
        return False

    def retry_failed(self, target: int | None, now: datetime | None = None) -> int:
        """Give failed, blocked and skipped VMs a fresh budget of attempts; returns how many."""
        s = self.state
        if s.cancel:
            return 0
        count = 0
        for i, vm in enumerate(s.vms):
            if (target is not None and i != target) or vm.state not in (FAILED, BLOCKED, SKIPPED):
                continue
            vm.state = PENDING if vm.state == BLOCKED else READY
            vm.base, vm.error, vm.t_end, vm.checks = vm.attempts, "", 0, 0
            count += 1
        if count:
            s.retries += 1
            s.halted = self.failures() > self.spec.max_failures
            s.ended = 0
            if now is not None:
                self._timeline(now, f"retry: {count} VMs")
        return count

    # --- progress ---------------------------------------------------------------------------------

    def wait(self, now: datetime) -> timedelta:
        startable = (
            not self.state.halted
            and not self.state.cancel
            and any(vm.state == READY for vm in self.state.vms)
            and capacity(self.spec, self.state) > 0
        )
        return wait_for(self.spec, self.state, now, self.tuning, startable)

    def finished(self) -> bool:
        return all(vm.state in DONE for vm in self.state.vms)

    def outcome(self) -> str:
        s = self.state
        if s.cancel == "skip":
            return "skipped"
        if s.cancel:
            return "cancelled"
        if s.halted:
            return "halted"
        return "completed_with_failures" if self.failures() else "completed"

    def finish(self, now: datetime) -> dict[str, Any]:
        """The wave's result for the root orchestrator (and the report)."""
        s = self.state
        if not s.ended:
            s.ended = epoch(now)
            counts = Counter(NAMES[vm.state] for vm in s.vms)
            self._timeline(now, f"wave {self.outcome()}")
            self._event(
                "WaveCompleted", None, {"outcome": self.outcome(), "counts": dict(sorted(counts.items()))}
            )
        return {
            "wave": self.spec.name,
            "index": self.spec.index,
            "outcome": self.outcome(),
            "cancel_scope": s.cancel,
            "approved": s.approved,
            "state": s.dump(),
        }

    # --- helpers ----------------------------------------------------------------------------------

    def _spec(self, i: int, *, attempt: int, mesh: int, held: bool, now: datetime | None) -> MigrationSpec:
        mesh_id = self.spec.meshes[mesh].service_mesh_id if 0 <= mesh < len(self.spec.meshes) else None
        spec = self.prepared.migration_spec(
            self.plan, self.spec.index, self.spec.vms[i].name, service_mesh_id=mesh_id
        )
        update: dict[str, Any] = {}
        if attempt > 1 and self.spec.replicated:
            update["seed_checkpoint"] = True  # a retry resumes from what the failed attempt copied
        if held and now is not None:
            # Held until approval: a window that never opens by itself; released by reschedule.
            update["window_start"], update["window_end"] = now + HOLD, None
        return spec.model_copy(update=update) if update else spec

    def _group_index(self, group: str) -> int:
        if group not in self.state.groups:
            self.state.groups.append(group)
        return self.state.groups.index(group)

    def _mesh_index(self, mesh_id: str | None) -> int:
        return next((k for k, m in enumerate(self.spec.meshes) if m.service_mesh_id == mesh_id), -1)

    def _warn(self, i: int | None, code: str, message: str) -> None:
        name = self.spec.vms[i].name if i is not None else ""
        entry = [name, code, message[:300]]
        if entry not in self.state.warnings[-20:]:
            self.state.warnings = [*self.state.warnings, entry][-self.tuning.warnings_kept :]

    def _timeline(self, now: datetime, text: str) -> None:
        self.state.timeline = [*self.state.timeline, [epoch(now), text]][-self.tuning.timeline_entries :]

    def _event(self, name: str, i: int | None, data: dict[str, Any]) -> None:
        vm = self.spec.vms[i].name if i is not None else None
        self.events.append({"type": name, "wave": self.spec.name, "vm": vm, "data": data})

    def started_at(self) -> datetime | None:
        return from_epoch(self.state.started)
