"""The wave planner: groups an inventory of VMs into migration waves an operator can run.

VMware's guidance for HCX waves (anchors.md §4.2, §5): build waves around applications, keep the VMs of
a network together so the network can be cut over after its wave, isolate large or write-heavy VMs,
start with a small pilot, and keep each wave within HCX's concurrency maximums and within the time the
operator has, before and during the switchover window. No vendor number exists for "VMs per wave", so
the planner sizes waves with `shared.estimate`, the same model `plan estimate` prints and the report
compares with actual times.

How (docs/planning.md has the long form):

1. Each VM gets a migration type (powered-off VMs go Cold) and a load for the estimator.
2. Large (used data ≥ `large_vm_gb`) and write-heavy (churn ≥ `write_heavy_gb_per_hour`) VMs are set
   aside; they get waves of their own, `isolate_per_wave` VMs each, after the others.
3. The rest form *units*: the VMs of one application (the `app` tag, else a non-generic folder) and
   one migration type stay together; a VM with neither is a unit alone. A wave holds one migration
   type, because a plan sets the type per wave (`shared.plan`), so an application's powered-off VMs
   (Cold) travel in a neighbouring wave. A unit too big for one wave is split into the fewest chunks
   that fit, keeping VMs of a network next to each other.
4. An optional pilot wave takes the smallest whole units of the default type, up to `pilot_vms` VMs.
5. Units are sorted by their main network, larger first, and packed first-fit into the recently opened
   waves, so VMs of one network land in the same or neighbouring waves.

A wave *fits* when its Bulk/RAV/Cold count is within the concurrency cap, its VM count within
`max_wave_vms`, its estimated switchover phase within `switchover_window_hours`, and its estimated
transfer within `max_transfer_hours`. A single VM that cannot fit alone still gets a wave, with a
warning. The planner is deterministic and pure: same inventory and options, same waves. It depends on
pydantic and `shared.estimate` only, not on the plan model; `conductor` converts its result to a
`MigrationPlan`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.estimate import (
    CAPPED_TYPES,
    BandwidthModel,
    MigrationType,
    VmLoad,
    WaveEstimate,
    Window,
    estimate_wave,
)

__all__ = [
    "InventoryVm",
    "PlannedVm",
    "PlannedWave",
    "PlannerError",
    "PlannerOptions",
    "WavePlan",
    "plan_waves",
    "wave_problems",
]

MIB = 1024 * 1024
GB = 1e9
HOUR = 3600.0
# Folders that say nothing about which application a VM belongs to (vSphere defaults and the sandbox's).
GENERIC_FOLDERS = frozenset({"", "/", "vm", "workloads", "discovered virtual machine", "templates"})
# How many recently opened waves a unit may join: wider scatters networks, narrower wastes room.
OPEN_WAVES = 4


class PlannerError(ValueError):
    """An inventory or option set the planner cannot work with; the message names the field."""


class InventoryVm(BaseModel):
    """One source VM as an inventory (RVTools, the HCX inventory) describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    power_state: Literal["on", "off", "suspended"] = "on"
    cpus: Annotated[int, Field(ge=0)] = 1
    memory_mib: Annotated[float, Field(ge=0)] = 0
    provisioned_mib: Annotated[float, Field(ge=0)] = 0
    used_mib: Annotated[float, Field(ge=0)] = 0  # what a transfer moves
    folder: str | None = None
    app: str | None = None  # application tag or attribute; the strongest grouping hint
    networks: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    cluster: str | None = None
    guest_os: str | None = None
    annotation: str | None = None
    churn_gb_per_hour: Annotated[float, Field(ge=0)] | None = None  # measured write rate, if known

    @property
    def used_gb(self) -> float:
        return self.used_mib * MIB / GB

    @property
    def memory_gb(self) -> float:
        return self.memory_mib * MIB / GB


class PlannerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bandwidth: BandwidthModel = Field(default_factory=BandwidthModel)
    # Type for powered-on VMs; powered-off and suspended VMs migrate Cold.
    migration_type: Literal["bulk", "rav", "vmotion"] = "bulk"
    # Length of the switchover window each wave gets (ArchToolKit defaults to 4 h, anchors.md §5).
    switchover_window_hours: Annotated[float, Field(gt=0)] | None = 4.0
    # Time a wave's transfers may take before its window (our default: a day); None = no limit.
    max_transfer_hours: Annotated[float, Field(gt=0)] | None = 24.0
    max_wave_vms: Annotated[int, Field(ge=1)] | None = None
    # Our thresholds, not vendor numbers: 1 TB alone takes ≥ 2.2 h; 5 GB/h is 10 GB per delta sync.
    large_vm_gb: Annotated[float, Field(gt=0)] = 1000.0
    write_heavy_gb_per_hour: Annotated[float, Field(gt=0)] = 5.0
    default_churn_gb_per_hour: Annotated[float, Field(ge=0)] = 0.5  # when the inventory has no figure
    isolate_per_wave: Annotated[int, Field(ge=1)] = 1
    pilot_vms: Annotated[int, Field(ge=0)] = 0
    group_by: Literal["app-or-folder", "app", "folder", "none"] = "app-or-folder"


class PlannedVm(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    migration_type: MigrationType
    group: str | None  # the application group it was kept with
    networks: tuple[str, ...]
    used_gb: float
    memory_gb: float
    churn_gb_per_hour: float
    isolated_because: str | None = None  # "large" or "write-heavy"


WaveKind = Literal["pilot", "standard", "isolated"]


class PlannedWave(BaseModel):
    name: str
    kind: WaveKind
    vms: list[PlannedVm]
    estimate: WaveEstimate
    warnings: list[str] = Field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        return sorted({v.group for v in self.vms if v.group})

    @property
    def networks(self) -> list[str]:
        return sorted({n for v in self.vms for n in v.networks})


class WavePlan(BaseModel):
    waves: list[PlannedWave]
    options: PlannerOptions
    warnings: list[str] = Field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return sum(w.estimate.duration_s for w in self.waves)

    @property
    def lower_bound_s(self) -> float:
        return sum(w.estimate.lower_bound_s for w in self.waves)


class _Unit:
    """VMs that travel together; `key` is their group name or None for a lone VM."""

    def __init__(self, key: str | None, vms: list[PlannedVm]) -> None:
        self.key, self.vms = key, vms

    @property
    def used_gb(self) -> float:
        return sum(v.used_gb for v in self.vms)

    @property
    def migration_type(self) -> str:
        return self.vms[0].migration_type

    @property
    def main_network(self) -> str:
        counts = Counter(n for v in self.vms for n in v.networks)
        if not counts:
            return "\uffff"  # sorts after every real network name
        return min(counts, key=lambda n: (-counts[n], n))


def _load(vm: PlannedVm) -> VmLoad:
    return VmLoad(
        name=vm.name,
        used_gb=vm.used_gb,
        memory_gb=vm.memory_gb,
        churn_gb_per_hour=vm.churn_gb_per_hour,
        migration_type=vm.migration_type,
    )


class _Fit:
    """Whether a set of VMs fits one wave; the single place the wave limits are applied."""

    def __init__(self, options: PlannerOptions) -> None:
        self.options = options
        self.window = Window() if options.switchover_window_hours is not None else None

    def estimate(self, vms: Sequence[PlannedVm]) -> WaveEstimate:
        return estimate_wave([_load(v) for v in vms], self.options.bandwidth, self.window)

    def problems(self, vms: Sequence[PlannedVm]) -> list[str]:
        o = self.options
        out: list[str] = []
        capped = sum(1 for v in vms if v.migration_type in CAPPED_TYPES)
        if capped > o.bandwidth.concurrency:
            out.append(f"{capped} concurrent migrations exceed the concurrency cap {o.bandwidth.concurrency}")
        if o.max_wave_vms is not None and len(vms) > o.max_wave_vms:
            out.append(f"{len(vms)} VMs exceed max_wave_vms {o.max_wave_vms}")
        if out:
            return out  # count limits are cheap; skip the estimate
        est = self.estimate(vms)
        window = o.switchover_window_hours
        if window is not None and est.switchover_phase_s > window * HOUR:
            out.append(
                f"switchovers take {est.switchover_phase_s / HOUR:.1f} h, longer than the {window:g} h window"
            )
        # vMotions cannot be scheduled, but each is a live switchover and they run one at a time: the
        # operator's window bounds them too.
        vmotion_s = sum(e.duration_s for e in est.vms if e.migration_type == "vmotion")
        if window is not None and vmotion_s > window * HOUR:
            out.append(f"serial vMotions take {vmotion_s / HOUR:.1f} h, longer than the {window:g} h window")
        if o.max_transfer_hours is not None and est.transfer_s > o.max_transfer_hours * HOUR:
            out.append(
                f"transfers take {est.transfer_s / HOUR:.1f} h, longer than max_transfer_hours "
                f"{o.max_transfer_hours:g}"
            )
        return out

    def fits(self, vms: Sequence[PlannedVm]) -> bool:
        return not self.problems(vms)


def wave_problems(vms: Sequence[PlannedVm], options: PlannerOptions) -> list[str]:
    """Why these VMs do not fit one wave under `options`; empty when they do."""
    return _Fit(options).problems(vms)


def _group_key(vm: InventoryVm, group_by: str) -> str | None:
    folder = vm.folder.strip() if vm.folder else ""
    folder_key = None if folder.strip("/").lower() in GENERIC_FOLDERS else f"folder:{folder}"
    app_key = f"app:{vm.app.strip()}" if vm.app and vm.app.strip() else None
    if group_by == "app":
        return app_key
    if group_by == "folder":
        return folder_key
    if group_by == "none":
        return None
    return app_key or folder_key


def _prepare(vm: InventoryVm, options: PlannerOptions) -> PlannedVm:
    churn = vm.churn_gb_per_hour if vm.churn_gb_per_hour is not None else options.default_churn_gb_per_hour
    isolated = None
    if vm.used_gb >= options.large_vm_gb:
        isolated = "large"
    elif churn >= options.write_heavy_gb_per_hour:
        isolated = "write-heavy"
    return PlannedVm(
        name=vm.name,
        migration_type=options.migration_type if vm.power_state == "on" else "cold",
        group=_group_key(vm, options.group_by),
        networks=tuple(sorted(set(vm.networks))),
        used_gb=vm.used_gb,
        memory_gb=vm.memory_gb,
        churn_gb_per_hour=churn,
        isolated_because=isolated,
    )


def _chunks(vms: list[PlannedVm], fit: _Fit) -> list[list[PlannedVm]]:
    """Split VMs into the fewest consecutive chunks that fit, VMs of a network next to each other."""
    ordered = sorted(vms, key=lambda v: (v.networks[:1], v.name))
    out: list[list[PlannedVm]] = []
    for vm in ordered:
        if out and fit.fits([*out[-1], vm]):
            out[-1].append(vm)
        else:
            out.append([vm])
    return out


def _who(vms: Sequence[PlannedVm]) -> str:
    return f"{vms[0].name} alone" if len(vms) == 1 else f"this wave of {len(vms)} VMs"


def _check_names(vms: Iterable[InventoryVm]) -> None:
    counts = Counter(vm.name for vm in vms)
    duplicates = sorted(n for n, c in counts.items() if c > 1)
    if duplicates:
        shown = ", ".join(duplicates[:5]) + (" …" if len(duplicates) > 5 else "")
        raise PlannerError(f"inventory: duplicate VM names ({shown}); HCX and the plan need unique names")


def plan_waves(inventory: Sequence[InventoryVm], options: PlannerOptions | None = None) -> WavePlan:
    """Group the inventory into waves within HCX's limits and the operator's time budget."""
    options = options or PlannerOptions()
    _check_names(inventory)
    fit = _Fit(options)
    prepared = [_prepare(vm, options) for vm in sorted(inventory, key=lambda v: v.name)]
    heavy = [v for v in prepared if v.isolated_because]
    groups: dict[tuple[str, str], list[PlannedVm]] = {}
    lone: list[_Unit] = []
    for vm in prepared:
        if vm.isolated_because:
            continue
        if vm.group is None:
            lone.append(_Unit(None, [vm]))
        else:
            groups.setdefault((vm.group, vm.migration_type), []).append(vm)
    units = lone + [_Unit(k[0], chunk) for k, members in groups.items() for chunk in _chunks(members, fit)]
    plan_warnings: list[str] = []
    split = sorted({k[0] for k, m in groups.items() if not fit.fits(m)})
    if split:
        plan_warnings.append(
            f"{len(split)} application group(s) too large for one wave were split: {split[:5]}"
        )

    packed: list[tuple[WaveKind, list[PlannedVm]]] = []
    if options.pilot_vms:
        pilot: list[PlannedVm] = []
        for unit in sorted(units, key=lambda u: (u.used_gb, len(u.vms), u.vms[0].name)):
            if unit.migration_type != options.migration_type:
                continue
            if len(pilot) + len(unit.vms) <= options.pilot_vms and fit.fits([*pilot, *unit.vms]):
                pilot.extend(unit.vms)
                units.remove(unit)
        if pilot:
            packed.append(("pilot", pilot))
        else:
            plan_warnings.append(
                f"no pilot wave: no application group of {options.migration_type} VMs is small enough for "
                f"{options.pilot_vms} VM(s)"
            )

    standard: list[list[PlannedVm]] = []
    for unit in sorted(units, key=lambda u: (u.migration_type, u.main_network, -u.used_gb, u.vms[0].name)):
        for wave in standard[-OPEN_WAVES:]:
            if wave[0].migration_type == unit.migration_type and fit.fits([*wave, *unit.vms]):
                wave.extend(unit.vms)
                break
        else:
            standard.append(list(unit.vms))
    packed += [("standard", w) for w in standard]

    isolated: list[list[PlannedVm]] = []
    for vm in sorted(heavy, key=lambda v: (v.migration_type, -v.used_gb, v.name)):
        last = isolated[-1] if isolated else []
        if (
            last
            and len(last) < options.isolate_per_wave
            and last[0].migration_type == vm.migration_type
            and fit.fits([*last, vm])
        ):
            isolated[-1].append(vm)
        else:
            isolated.append([vm])
    packed += [("isolated", w) for w in isolated]

    waves: list[PlannedWave] = []
    for number, (kind, vms) in enumerate(packed, start=1):
        members = sorted(vms, key=lambda v: v.name)
        problems = fit.problems(members)
        waves.append(
            PlannedWave(
                name=f"wave-{number:02d}" + ("-pilot" if kind == "pilot" else ""),
                kind=kind,
                vms=members,
                estimate=fit.estimate(members),
                warnings=[f"{_who(members)} does not fit a wave: {p}" for p in problems],
            )
        )
    return WavePlan(waves=waves, options=options, warnings=plan_warnings)
