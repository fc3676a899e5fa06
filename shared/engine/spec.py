"""What a wave is, resolved once: its settings from the plan, its VMs and meshes from preparation.

`WaveSpec.build(plan, prepared, wave)` merges `plan.effective(wave)` (type, window, approval, limits,
poll cadence) with the `PreparedContext` (VMs with sizes and power states, service meshes) into the
static half of the engine's input; the dynamic half is `shared.engine.state.WaveState`. `Tuning`
holds the engine's own batch sizes and history budget: defaults suit production, tests and the
benchmark may shrink them to exercise chunking and continue-as-new on small waves.

This module depends on pydantic, `shared.plan` and `shared.prepared` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.plan import PER_MANAGER, PER_SERVICE_MESH, MigrationPlan, PollCadence
from shared.prepared import MeshRef, PreparedContext, PreparedVm

__all__ = ["HOLD", "Tuning", "WaveSpec"]

# How far ahead a held switchover is scheduled while a wave waits for approval: far enough that it
# never opens by itself, near enough that a manager accepts the date. inferred: HCX documents no
# maximum for switchoverParams.schedule.startTime (hcx-api.md §7.1).
HOLD = timedelta(days=365)


class Tuning(BaseModel):
    """The engine's own knobs (not plan settings): batch sizes and the history budget."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    validate_batch: Annotated[int, Field(ge=1, le=500)] = 100
    """Migration items per HCX validate call."""
    validate_calls: Annotated[int, Field(ge=1, le=50)] = 5
    """Validate calls per orchestrator step (a step's fan-out, so its history stays small)."""
    start_batch: Annotated[int, Field(ge=1, le=500)] = 50
    """Migration items per HCX start call."""
    start_calls: Annotated[int, Field(ge=1, le=50)] = 6
    """Start calls per orchestrator step."""
    verify_batch: Annotated[int, Field(ge=1, le=500)] = 100
    verify_tries: Annotated[int, Field(ge=1, le=20)] = 3
    """Polls a completed migration may take to show up correctly at both sites before it fails."""
    history_budget: Annotated[int, Field(ge=50, le=5000)] = 300
    """Estimated history events after which a generation continues as new. Every episode replays
    its generation from the start, so a generation's cost grows with the square of its length."""
    steps_per_generation: Annotated[int, Field(ge=1, le=500)] = 20
    throughput_samples: Annotated[int, Field(ge=8, le=2000)] = 240
    timeline_entries: Annotated[int, Field(ge=8, le=500)] = 60
    warnings_kept: Annotated[int, Field(ge=0, le=2000)] = 200
    min_poll: timedelta = timedelta(seconds=30)
    """The shortest wait between polls, whatever the cadence says."""
    status_budget: Annotated[int, Field(ge=2000, le=16000)] = 7000
    """Characters of custom status: Durable Functions caps it at 16 KB of UTF-16."""


@dataclass(frozen=True, slots=True)
class SpecVm:
    """One VM as the engine decides with it (built from the validated context on every replay, so a
    plain dataclass rather than a model: a thousand of them per episode must cost next to nothing)."""

    name: str
    entity_id: str
    disk_bytes: int = 0
    used_bytes: int = 0
    powered_on: bool = True
    networks: tuple[str, ...] = ()
    destination_networks: tuple[str, ...] = ()
    """The destination network each NIC should land on, for verification."""

    @classmethod
    def of(cls, vm: PreparedVm, destinations: dict[str, str]) -> SpecVm:
        return cls(
            name=vm.name,
            entity_id=vm.entity_id,
            disk_bytes=vm.disk_bytes,
            used_bytes=vm.used_bytes,
            powered_on=(vm.power_state or "").lower() in ("poweredon", "on", "powered_on"),
            networks=tuple(vm.networks),
            destination_networks=tuple(destinations.get(n, n) for n in vm.networks),
        )


@dataclass(frozen=True, slots=True)
class WaveSpec:
    """One wave's static facts, as the engine decides with them."""

    plan_id: str
    index: int
    name: str
    type: Literal["bulk", "vmotion", "rav", "cold"]
    window_start: datetime | None = None
    window_end: datetime | None = None
    approval_required: bool = False
    approval_timeout: timedelta = timedelta(hours=24)
    on_timeout: Literal["proceed", "skip_wave", "cancel"] = "cancel"
    max_failures: int = 0
    max_attempts: int = 3
    on_halt: Literal["finish_in_flight", "cancel_in_flight"] = "finish_in_flight"
    seed_checkpoint: bool = True
    admission_limit: int = PER_SERVICE_MESH
    poll: PollCadence = field(default_factory=PollCadence)
    meshes: tuple[MeshRef, ...] = ()
    vms: tuple[SpecVm, ...] = ()

    @classmethod
    def build(cls, plan: MigrationPlan, prepared: PreparedContext, wave: str | int) -> WaveSpec:
        pw = prepared.wave(wave)
        eff = plan.effective(pw.index)
        settings = eff.migration
        window = settings.switchover_window
        scheduled = settings.type in ("bulk", "rav")
        destinations = {t.source_name: t.destination_name for t in pw.networks}
        return cls(
            plan_id=plan.id,
            index=pw.index,
            name=pw.name,
            type=settings.type,
            window_start=window.start if window is not None and scheduled else None,
            window_end=window.end if window is not None and scheduled else None,
            # Approval gates a switchover; vMotion and Cold have none to gate (plan checks refuse it).
            approval_required=settings.approval.required and scheduled,
            approval_timeout=settings.approval.timeout,
            on_timeout=settings.approval.on_timeout,
            max_failures=eff.max_failures,
            max_attempts=eff.max_attempts,
            on_halt=eff.on_halt,
            seed_checkpoint=settings.options.seed_checkpoint,
            admission_limit=plan.admission_limit(max(1, len(prepared.meshes)), PER_MANAGER),
            poll=plan.limits.poll,
            meshes=tuple(prepared.meshes),
            vms=tuple(SpecVm.of(vm, destinations) for vm in pw.vms),
        )

    @property
    def slotted(self) -> bool:
        """Bulk, RAV and Cold share the concurrency slots; vMotion goes one at a time."""
        return self.type != "vmotion"

    @property
    def replicated(self) -> bool:
        """Bulk and RAV replicate first and can wait for a window (and for approval)."""
        return self.type in ("bulk", "rav")
