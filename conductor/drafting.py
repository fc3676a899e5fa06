"""Between the planner and the plan file: draft a `MigrationPlan` from waves, and estimate a plan.

* `draft_plan(wave_plan, ...)` turns the planner's waves into a valid `MigrationPlan` (one wave per
  planned wave, its migration type as an override where it differs from the plan's default) and
  `draft_yaml` writes it with a commented header: what the planner assumed and what the operator still
  has to fill in (switchover windows, network extensions, the pinned HCX fingerprint).
* `estimate_plan_file(plan, inventory, bandwidth)` resolves the plan's waves against an inventory
  (`MigrationPlan.assign_vms`) and estimates each with `shared.estimate`.

Depends on `shared.plan`, `shared.planner`, `shared.estimate` and PyYAML; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from shared.estimate import BandwidthModel, VmLoad, WaveEstimate, Window, estimate_wave
from shared.findings import Finding
from shared.plan import MigrationPlan, MigrationType, VmRef, parse_plan
from shared.planner import InventoryVm, PlannerOptions, WavePlan
from shared.report.format import bytes_text, duration_text

__all__ = ["PlanEstimateResult", "draft_plan", "draft_yaml", "estimate_plan_file"]


def draft_plan(wave_plan: WavePlan, *, plan_id: str, source: str, destination: str) -> MigrationPlan:
    """A valid plan with the planner's waves; raises `shared.errors.PlanError` on bad ids."""
    default: MigrationType = wave_plan.options.migration_type
    waves: list[dict[str, Any]] = []
    for wave in wave_plan.waves:
        est = wave.estimate
        kind = wave.vms[0].migration_type
        description = (
            f"{wave.kind}: {len(wave.vms)} VMs, {bytes_text(est.initial_bytes)}; estimated "
            f"{duration_text(est.duration_s)} (lower bound {duration_text(est.lower_bound_s)})"
        )
        if wave.groups:
            description += f"; groups {', '.join(g.split(':', 1)[1] for g in wave.groups)}"
        entry: dict[str, Any] = {
            "name": wave.name,
            "description": description,
            "vms": [v.name for v in wave.vms],
        }
        if kind != default:
            entry["migration"] = {"type": kind}
        waves.append(entry)
    data: dict[str, Any] = {
        "id": plan_id,
        "description": f"Drafted by `conductor plan draft` from {len(wave_plan.waves)} planned waves.",
        "source": source,
        "destination": destination,
        "migration": {"type": default},
        "waves": waves,
    }
    if wave_plan.options.bandwidth.plan_concurrency is not None:
        data["limits"] = {"max_concurrent_migrations": wave_plan.options.bandwidth.plan_concurrency}
    return parse_plan(data)


def draft_yaml(plan: MigrationPlan, wave_plan: WavePlan, inventory: list[InventoryVm]) -> str:
    """The plan as YAML, headed by comments an operator reads before submitting it."""
    o = wave_plan.options
    bw = o.bandwidth
    networks = sorted({n for vm in inventory for n in vm.networks})
    lines = [
        f"# Draft migration plan: {len(inventory)} VMs in {len(wave_plan.waves)} waves.",
        f"# Estimated {duration_text(wave_plan.duration_s)} end to end, each wave switching over in its "
        f"window; physical lower bound {duration_text(wave_plan.lower_bound_s)}.",
        f"# Assumed: {bw.link_gbps:g} Gbps link at {bw.efficiency:.0%}, {bw.meshes} service mesh(es) × "
        f"{bw.ix_per_mesh} IX, at most {bw.concurrency} migrations at once; bottleneck {bw.bottleneck}.",
        f"# Waves fit a {o.switchover_window_hours or 'unbounded'} h switchover window and "
        f"{o.max_transfer_hours or 'unbounded'} h of transfer; large (≥ {o.large_vm_gb:g} GB) and "
        f"write-heavy (≥ {o.write_heavy_gb_per_hour:g} GB/h) VMs have waves of their own.",
        "# Still to decide before submitting:",
        "#   - migration.switchover_window (dates) and migration.approval;",
        "#   - network_extensions for the networks below that keep their IPs, or network_mappings;",
        "#   - hcx.trusted_fingerprints (the destination HCX Manager's certificate).",
        f"# Networks the VMs use: {', '.join(networks) if networks else 'none found'}",
    ]
    lines += [f"# warning: {w}" for w in wave_plan.warnings]
    lines += [f"# warning ({w.name}): {m}" for w in wave_plan.waves for m in w.warnings + w.estimate.warnings]
    body = plan.model_dump(mode="json", exclude_defaults=True)
    return "\n".join(lines) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


@dataclass
class PlanEstimateResult:
    waves: list[tuple[str, WaveEstimate]]
    findings: list[Finding] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return sum(e.duration_s for _, e in self.waves)

    @property
    def lower_bound_s(self) -> float:
        return sum(e.lower_bound_s for _, e in self.waves)

    @property
    def bytes(self) -> int:
        return sum(e.bytes for _, e in self.waves)


def estimate_plan_file(
    plan: MigrationPlan, inventory: list[InventoryVm], bandwidth: BandwidthModel, options: PlannerOptions
) -> PlanEstimateResult:
    """Each wave of `plan` estimated from the inventory's sizes, in plan order."""
    by_name = {vm.name: vm for vm in inventory}
    assignment = plan.assign_vms(VmRef(vm.name, vm.folder) for vm in inventory)
    if plan.limits.max_concurrent_migrations is not None:
        bandwidth = bandwidth.model_copy(update={"plan_concurrency": plan.limits.max_concurrent_migrations})
    out = PlanEstimateResult(waves=[], findings=list(assignment.findings))
    for index, wave in enumerate(plan.waves):
        settings = plan.effective(index).migration
        loads = []
        for name in assignment.waves[wave.name]:
            vm = by_name[name]
            churn = (
                vm.churn_gb_per_hour
                if vm.churn_gb_per_hour is not None
                else options.default_churn_gb_per_hour
            )
            loads.append(
                VmLoad(
                    name=name,
                    used_gb=vm.used_gb,
                    memory_gb=vm.memory_gb,
                    churn_gb_per_hour=churn,
                    migration_type=settings.type,
                )
            )
        # A scheduled window opens at a date the estimate cannot place; model it as opening when the
        # wave's transfers are done, which is what an operator aims a window at.
        window = Window() if settings.switchover_window is not None else None
        out.waves.append((wave.name, estimate_wave(loads, bandwidth, window)))
    return out
