"""How long migrations take: durations from disk sizes and the HCX bandwidth model.

Pure functions of their inputs: no I/O, no clock, no HCX, no plan model. The planner sizes waves with
them and `plan estimate` prints them; the wave engine's report later sets them beside the actual times.
Depends on pydantic only. No library models HCX transfers, so the arithmetic is our own; every number
below comes from anchors.md §1.5 and §5 or hcx-api.md §8, and the ones HCX does not document are marked
inferred.

Units. Sizes are decimal gigabytes (1 GB = 10^9 bytes) because the reference figures use them (100 GB
at 1 Gbps = 800 s = 13.3 min); rates are Gbps (10^9 bit/s); every duration is in seconds from the start
of the wave.

The model, per wave (docs/planning.md draws it):

1. **Transfer** (Bulk/RAV initial sync, vMotion, Cold) is a fluid-flow simulation. Every VM that is
   transferring gets the same rate, ``min(1 Gbps, A / n)`` with ``n`` transfers in flight and the
   aggregate ``A = min(link × efficiency, meshes × IX per mesh × 1.6 Gbps)``. Bulk, RAV and Cold VMs
   are admitted up to the concurrency cap ``C = min(plan limit, 200 × meshes, 300 per manager)``;
   vMotions go one at a time, each holding its turn through its switchover overhead. VMs are admitted
   largest first (the order that finishes a wave soonest); the order they are given in does not matter.
2. **Waiting** for the switchover window: Bulk/RAV replicas delta-sync every RPO (2 h), each sync
   moving ``churn × RPO`` bytes.
3. **Switchover**: Bulk switchovers run in parallel, each ``overhead + final delta / rate``; RAV
   switchovers run one at a time per IX appliance (list scheduling on ``meshes × IX per mesh`` lanes),
   each ``overhead + (final delta + memory) / rate``. The final delta is the churn since the last sync,
   at most one RPO's worth. A Cold VM is powered on at the destination as soon as its copy ends.

The **physical lower bound** of a wave is what no schedule can beat, data movement only, no overheads:
``max(Σ bytes / A, largest VM / r, Σ serial bytes / r)`` with ``r = min(1 Gbps, A)``. For a single VM
it is ``bytes / r``. Waves run one after another, so a plan's figures are the sums of its waves'.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CAPPED_TYPES",
    "BandwidthModel",
    "MigrationType",
    "PlanEstimate",
    "VmEstimate",
    "VmLoad",
    "WaveEstimate",
    "Window",
    "estimate_plan",
    "estimate_vm",
    "estimate_wave",
    "transfer_lower_bound_s",
]

GB = 1e9  # bytes; decimal, as the reference figures use
GBPS = 1e9  # bit/s
HOUR = 3600.0
MINUTE = 60.0

MigrationType = Literal["bulk", "rav", "vmotion", "cold"]
# Bulk and RAV count against HCX's concurrency maximums; vMotion is serial (anchors.md §1.1 [H2]).
# inferred: HCX documents no Cold limit ("small scale"); counting Cold against the cap is conservative.
CAPPED_TYPES: frozenset[str] = frozenset({"bulk", "rav", "cold"})
SCHEDULABLE: frozenset[str] = frozenset({"bulk", "rav"})  # Cold and vMotion run at once (§1.3)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandwidthModel(_Model):
    """The network and HCX limits a migration runs within. Defaults are the documented maximums."""

    link_gbps: Annotated[float, Field(gt=0)] = 10.0
    # Share of the link migration traffic really gets: 60-80 % in practice (anchors.md §5 [M9]).
    efficiency: Annotated[float, Field(gt=0, le=1)] = 0.7
    meshes: Annotated[int, Field(ge=1)] = 1
    # Before HCX 4.8 only the first IX of a compute-profile pair carries migrations (anchors.md §1.2).
    ix_per_mesh: Annotated[int, Field(ge=1)] = 1
    per_migration_gbps: Annotated[float, Field(gt=0)] = 1.0  # [K1]
    per_ix_gbps: Annotated[float, Field(gt=0)] = 1.6  # [K1]
    mesh_concurrency: Annotated[int, Field(ge=1)] = 200  # Bulk+RAV per service mesh [K1]
    manager_concurrency: Annotated[int, Field(ge=1)] = 300  # Bulk+RAV per HCX Manager; 600 scaled up
    plan_concurrency: Annotated[int, Field(ge=1)] | None = None  # the plan's own limit, if any
    rpo_hours: Annotated[float, Field(gt=0)] = 2.0  # Bulk delta-sync interval [H1]
    # inferred: anchors.md §1.1 says Bulk switchover is "minimal" downtime of a few minutes.
    bulk_switchover_minutes: Annotated[float, Field(ge=0)] = 5.0
    # inferred: anchors.md §5 [B1] says "from a few minutes to an hour" per RAV switchover.
    rav_switchover_minutes: Annotated[float, Field(ge=0)] = 10.0
    # inferred: stun, register and power-on steps after the data has moved; not documented by HCX.
    vmotion_overhead_minutes: Annotated[float, Field(ge=0)] = 1.0
    cold_overhead_minutes: Annotated[float, Field(ge=0)] = 2.0

    @property
    def aggregate_gbps(self) -> float:
        """What all transfers of a wave share: the link at its efficiency, or the IX appliances."""
        return min(self.link_gbps * self.efficiency, self.meshes * self.ix_per_mesh * self.per_ix_gbps)

    @property
    def single_gbps(self) -> float:
        """The fastest one migration can go."""
        return min(self.per_migration_gbps, self.aggregate_gbps)

    @property
    def concurrency(self) -> int:
        """How many Bulk/RAV migrations may be in flight at once."""
        caps = [self.mesh_concurrency * self.meshes, self.manager_concurrency]
        if self.plan_concurrency is not None:
            caps.append(self.plan_concurrency)
        return min(caps)

    @property
    def switchover_lanes(self) -> int:
        """RAV switchovers run one at a time per IX appliance (anchors.md §1.1 [B1])."""
        return self.meshes * self.ix_per_mesh

    @property
    def bottleneck(self) -> str:
        link = self.link_gbps * self.efficiency
        ix = self.meshes * self.ix_per_mesh * self.per_ix_gbps
        if link <= ix:
            return f"link {self.link_gbps:g} Gbps × {self.efficiency:.0%} = {link:.2f} Gbps"
        return f"{self.meshes * self.ix_per_mesh} IX appliance(s) × {self.per_ix_gbps:g} Gbps = {ix:.2f} Gbps"


class VmLoad(_Model):
    """What the estimator needs to know about one VM."""

    name: str
    used_gb: Annotated[float, Field(ge=0)]  # data a transfer moves (vSphere "in use"), not provisioned
    memory_gb: Annotated[float, Field(ge=0)] = 0.0  # moved live by vMotion and RAV switchover
    churn_gb_per_hour: Annotated[float, Field(ge=0)] = 0.0
    migration_type: MigrationType = "bulk"


class Window(_Model):
    """When Bulk/RAV switchovers may start. vMotion and Cold cannot be scheduled and ignore it."""

    # Seconds after the wave starts; None = the window opens when the wave's last transfer finishes.
    opens_after_s: Annotated[float, Field(ge=0)] | None = None


class VmEstimate(_Model):
    name: str
    migration_type: MigrationType
    transfer_start_s: float
    transfer_end_s: float
    switchover_start_s: float
    switchover_end_s: float
    initial_bytes: int
    delta_bytes: int  # delta syncs while waiting, plus the final sync at switchover
    delta_syncs: int
    lower_bound_s: float  # the VM alone at the fastest one migration can go

    @property
    def duration_s(self) -> float:
        return self.switchover_end_s - self.transfer_start_s

    @property
    def bytes(self) -> int:
        return self.initial_bytes + self.delta_bytes


class WaveEstimate(_Model):
    vms: list[VmEstimate]
    transfer_s: float  # when the last transfer ends
    switchover_phase_s: float  # from the window opening (or the last transfer end) to the last switchover
    duration_s: float  # when the last VM has switched over
    lower_bound_s: float
    concurrency: int
    bottleneck: str
    warnings: list[str] = Field(default_factory=list)

    @property
    def initial_bytes(self) -> int:
        return sum(v.initial_bytes for v in self.vms)

    @property
    def bytes(self) -> int:
        return sum(v.bytes for v in self.vms)


class PlanEstimate(_Model):
    waves: list[WaveEstimate]

    @property
    def duration_s(self) -> float:
        return sum(w.duration_s for w in self.waves)

    @property
    def lower_bound_s(self) -> float:
        return sum(w.lower_bound_s for w in self.waves)

    @property
    def bytes(self) -> int:
        return sum(w.bytes for w in self.waves)


def _bits(vm: VmLoad) -> float:
    """Bits the first phase moves: used data, plus memory for a live vMotion."""
    data = vm.used_gb + (vm.memory_gb if vm.migration_type == "vmotion" else 0.0)
    return data * GB * 8


def transfer_lower_bound_s(vms: Sequence[VmLoad], bw: BandwidthModel) -> float:
    """No schedule moves this data faster: the aggregate, the per-migration ceiling, serial lanes."""
    if not vms:
        return 0.0
    bits = [_bits(v) for v in vms]
    serial = sum(b for b, v in zip(bits, vms, strict=True) if v.migration_type == "vmotion")
    return max(
        sum(bits) / (bw.aggregate_gbps * GBPS),
        max(bits) / (bw.single_gbps * GBPS),
        serial / (bw.single_gbps * GBPS),
    )


def _simulate_transfers(
    vms: Sequence[VmLoad], bw: BandwidthModel
) -> tuple[list[float], list[float], list[float]]:
    """Fluid-flow transfer phase: (start, transfer end, serial-lane release) per VM, in input order.

    Every transferring VM gets the same rate, so they finish in order of what each still has to move:
    a heap keyed on the shared "service level" at which each finishes makes every event O(log n).
    """
    n = len(vms)
    start, end, release = [0.0] * n, [0.0] * n, [0.0] * n
    order = sorted(range(n), key=lambda i: (-_bits(vms[i]), vms[i].name))
    pool_q = deque(i for i in order if vms[i].migration_type in CAPPED_TYPES)
    serial_q = deque(i for i in order if vms[i].migration_type not in CAPPED_TYPES)
    cap, per_vm, aggregate = bw.concurrency, bw.per_migration_gbps * GBPS, bw.aggregate_gbps * GBPS
    t = service = 0.0
    moving: list[tuple[float, int]] = []  # (service level at which the VM's transfer ends, index)
    tails: list[tuple[float, int]] = []  # (time a serial VM releases its turn, index)
    pool_active, serial_busy = 0, False

    def admit() -> None:
        nonlocal pool_active, serial_busy
        while pool_q and pool_active < cap:
            i = pool_q.popleft()
            start[i] = t
            heapq.heappush(moving, (service + _bits(vms[i]), i))
            pool_active += 1
        if serial_q and not serial_busy:
            i = serial_q.popleft()
            start[i] = t
            heapq.heappush(moving, (service + _bits(vms[i]), i))
            serial_busy = True

    admit()
    while moving or tails:
        rate = min(per_vm, aggregate / len(moving)) if moving else 0.0
        dt_move = (moving[0][0] - service) / rate if moving else math.inf
        dt_tail = tails[0][0] - t if tails else math.inf
        dt = max(0.0, min(dt_move, dt_tail))
        t += dt
        service += rate * dt
        while moving and moving[0][0] - service <= 1e-9 * max(1.0, moving[0][0]):
            _, i = heapq.heappop(moving)
            end[i] = t
            if vms[i].migration_type in CAPPED_TYPES:
                pool_active -= 1
            else:
                heapq.heappush(tails, (t + bw.vmotion_overhead_minutes * MINUTE, i))
        while tails and tails[0][0] <= t + 1e-9:
            _, i = heapq.heappop(tails)
            release[i] = t
            serial_busy = False
        admit()
    return start, end, release


def estimate_wave(vms: Sequence[VmLoad], bw: BandwidthModel, window: Window | None = None) -> WaveEstimate:
    """Expected timeline and physical lower bound of one wave; ``window=None`` = switch over at once."""
    warnings: list[str] = []
    start, end, release = _simulate_transfers(vms, bw)
    pooled = [i for i, v in enumerate(vms) if v.migration_type in SCHEDULABLE]
    last_pool_transfer = max((end[i] for i in pooled), default=0.0)
    opens: float | None = None
    if window is not None:
        opens = last_pool_transfer if window.opens_after_s is None else window.opens_after_s
        late = [vms[i].name for i in pooled if end[i] > opens + 1e-6]
        if late:
            warnings.append(
                f"{len(late)} VM(s) are still transferring when the switchover window opens "
                f"(first: {late[0]}); they switch over late"
            )
    rpo = bw.rpo_hours * HOUR
    single = bw.single_gbps * GBPS
    bulk_count = sum(1 for i in pooled if vms[i].migration_type == "bulk")
    # Bulk final syncs may all run at the window's opening: share the aggregate (conservative).
    bulk_rate = min(bw.per_migration_gbps * GBPS, bw.aggregate_gbps * GBPS / max(1, bulk_count))
    lanes = [0.0] * bw.switchover_lanes
    out: list[VmEstimate | None] = [None] * len(vms)

    # RAV switchovers are served in the order VMs become ready, ties broken by name.
    def ready_at(i: int) -> float:
        return end[i] if opens is None else max(end[i], opens)

    for i in sorted(pooled, key=lambda i: (ready_at(i), vms[i].name)):
        vm = vms[i]
        ready = ready_at(i)
        waited = ready - end[i]
        syncs = int(waited // rpo) if rpo > 0 else 0
        since_last = (waited - syncs * rpo) if syncs else (waited + end[i] - start[i])
        churn_bytes_per_s = vm.churn_gb_per_hour * GB / HOUR
        final_bytes = churn_bytes_per_s * min(rpo, since_last)
        delta_bytes = churn_bytes_per_s * rpo * syncs + final_bytes
        if vm.migration_type == "bulk":
            sw_start = ready
            sw_end = sw_start + bw.bulk_switchover_minutes * MINUTE + final_bytes * 8 / bulk_rate
        else:
            lane = min(range(len(lanes)), key=lambda k: lanes[k])
            sw_start = max(ready, lanes[lane])
            moved = (final_bytes + vm.memory_gb * GB) * 8
            sw_end = sw_start + bw.rav_switchover_minutes * MINUTE + moved / single
            lanes[lane] = sw_end
        out[i] = VmEstimate(
            name=vm.name,
            migration_type=vm.migration_type,
            transfer_start_s=start[i],
            transfer_end_s=end[i],
            switchover_start_s=sw_start,
            switchover_end_s=sw_end,
            initial_bytes=round(_bits(vm) / 8),
            delta_bytes=round(delta_bytes),
            delta_syncs=syncs,
            lower_bound_s=_bits(vm) / single,
        )
    for i, vm in enumerate(vms):
        if out[i] is None:  # vMotion: the tail of its serial turn; Cold: power-on at the destination
            done = (
                release[i] if vm.migration_type == "vmotion" else end[i] + bw.cold_overhead_minutes * MINUTE
            )
            out[i] = VmEstimate(
                name=vm.name,
                migration_type=vm.migration_type,
                transfer_start_s=start[i],
                transfer_end_s=end[i],
                switchover_start_s=end[i],
                switchover_end_s=done,
                initial_bytes=round(_bits(vm) / 8),
                delta_bytes=0,
                delta_syncs=0,
                lower_bound_s=_bits(vm) / single,
            )
    estimates = [e for e in out if e is not None]
    churn_per_rpo = sum(vms[i].churn_gb_per_hour for i in pooled) * GB * bw.rpo_hours * 8
    if churn_per_rpo > bw.aggregate_gbps * GBPS * rpo:
        warnings.append("the wave writes more data per RPO than the link can delta-sync; switchover may lag")
    duration = max((e.switchover_end_s for e in estimates), default=0.0)
    # The switchover phase runs from the window's opening (or, switching over as transfers finish,
    # from the last transfer's end) to the last Bulk/RAV switchover: what a window must hold.
    phase_start = opens if opens is not None else last_pool_transfer
    return WaveEstimate(
        vms=estimates,
        transfer_s=max((e.transfer_end_s for e in estimates), default=0.0),
        switchover_phase_s=max(
            0.0, max((estimates[i].switchover_end_s for i in pooled), default=phase_start) - phase_start
        ),
        duration_s=duration,
        lower_bound_s=transfer_lower_bound_s(vms, bw),
        concurrency=bw.concurrency,
        bottleneck=bw.bottleneck,
        warnings=warnings,
    )


def estimate_vm(vm: VmLoad, bw: BandwidthModel, window: Window | None = None) -> VmEstimate:
    """One VM migrated on its own."""
    return estimate_wave([vm], bw, window).vms[0]


def estimate_plan(
    waves: Sequence[Sequence[VmLoad]],
    bw: BandwidthModel,
    windows: Sequence[Window | None] | None = None,
) -> PlanEstimate:
    """Each wave in turn; waves run one after another, so the plan's figures are their sums."""
    if windows is not None and len(windows) != len(waves):
        raise ValueError(f"windows: {len(windows)} given for {len(waves)} waves")
    return PlanEstimate(
        waves=[
            estimate_wave(vms, bw, windows[k] if windows is not None else None) for k, vms in enumerate(waves)
        ]
    )
