"""Assembling the migration report from the waves' compact results (`shared.report.MigrationReport`).

`build_report(plan, prepared, results, ...)` turns what each wave orchestrator returned
(`WaveEngine.finish()`: outcome and compact state) into the report model the renderers draw: every
VM with its type, state, attempts, HCX migration ids, phase times, bytes and last error; every wave
with its figures; the throughput samples; and the findings (preparation's warnings, each wave's
warnings, failures and halts). Planned durations come from `shared.estimate` run on the same VMs,
so each VM and wave is set beside its plan. Waves that never ran (the migration stopped first) are
listed with their VMs as skipped.

Pure: the activity that writes the report calls it. Depends on `shared.engine`, `shared.estimate`,
`shared.findings`, `shared.plan`, `shared.prepared` and `shared.report` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.engine.spec import WaveSpec
from shared.engine.state import BLOCKED, NAMES, SKIPPED, WaveState, from_epoch
from shared.estimate import BandwidthModel, VmLoad, Window, estimate_wave
from shared.findings import Finding, finding
from shared.plan import MigrationPlan
from shared.prepared import PreparedContext
from shared.report import MigrationReport, ThroughputSample, VmReport, WaveReport

__all__ = ["bandwidth_for", "build_report", "wave_findings"]

GB = 1e9
# Engine warning codes -> finding codes (shared.findings.CODES); HCX's own warning codes all map to
# MIGRATION_WARNING with HCX's code kept in the message.
_CODES = {
    "VM_ATTEMPT_FAILED": "VM_MIGRATION_RETRIED",
    "WAVE_HALTED": "WAVE_HALTED",
    "APPROVAL_TIMED_OUT": "APPROVAL_TIMED_OUT",
}


def bandwidth_for(plan: MigrationPlan, prepared: PreparedContext) -> BandwidthModel:
    """The bandwidth model the plan's estimate uses: the prepared meshes and their IX appliances."""
    meshes = max(1, len(prepared.meshes))
    ix = min((m.ix_count for m in prepared.meshes), default=1)
    return BandwidthModel(
        meshes=meshes, ix_per_mesh=max(1, ix), plan_concurrency=plan.limits.max_concurrent_migrations
    )


def wave_findings(spec: WaveSpec, state: WaveState) -> list[Finding]:
    """One finding per warning the wave recorded and per VM that failed."""
    out: list[Finding] = []
    where = f"waves/{spec.name}"
    for name, code, message in state.warnings:
        mapped = _CODES.get(code, "MIGRATION_WARNING")
        text = message if mapped != "MIGRATION_WARNING" else f"{code}: {message}"
        resource = f"{where}/vms/{name}" if name else where
        out.append(finding(mapped, f"{name + ': ' if name else ''}{text}", resource=resource))
    for i, row in enumerate(state.vms):
        vm_name = spec.vms[i].name
        resource = f"{where}/vms/{vm_name}"
        if row.state == BLOCKED:
            out.append(finding("MIGRATION_VALIDATION_FAILED", f"{vm_name}: {row.error}", resource=resource))
        elif NAMES[row.state] == "failed":
            code = "VM_VERIFICATION_FAILED" if row.error.startswith("verification") else "VM_MIGRATION_FAILED"
            out.append(finding(code, f"{vm_name}: {row.error}", resource=resource))
    return out


def build_report(
    plan: MigrationPlan,
    prepared: PreparedContext,
    results: Sequence[dict[str, Any]],
    *,
    status: str,
    started: datetime | None,
    ended: datetime | None,
    findings: Sequence[Finding] = (),
    generated: datetime | None = None,
) -> MigrationReport:
    bw = bandwidth_for(plan, prepared)
    by_index = {int(r["index"]): r for r in results}
    waves: list[WaveReport] = []
    vms: list[VmReport] = []
    samples: list[ThroughputSample] = []
    found: list[Finding] = [*prepared.findings, *findings]
    for pw in prepared.waves:
        spec = WaveSpec.build(plan, prepared, pw.index)
        result = by_index.get(pw.index)
        state = WaveState.load(result["state"]) if result else WaveState.fresh(len(spec.vms))
        if result is None:
            for vm in state.vms:
                vm.state, vm.error = SKIPPED, "the wave did not run"
        wave_start = from_epoch(state.started)
        window = None
        if spec.window_start is not None:
            opens = (spec.window_start - wave_start).total_seconds() if wave_start else 0.0
            window = Window(opens_after_s=max(0.0, opens))
        loads = [
            VmLoad(name=vm.name, used_gb=vm.used_bytes / GB, migration_type=spec.type) for vm in spec.vms
        ]
        estimate = estimate_wave(loads, bw, window) if loads else None
        waves.append(
            WaveReport(
                name=spec.name,
                state=result["outcome"] if result else "skipped",
                started_at=wave_start,
                ended_at=from_epoch(state.ended),
                planned_duration_s=estimate.duration_s if estimate else None,
                planned_lower_bound_s=estimate.lower_bound_s if estimate else None,
            )
        )
        for i, row in enumerate(state.vms):
            planned = estimate.vms[i] if estimate else None
            vms.append(
                VmReport(
                    name=spec.vms[i].name,
                    wave=spec.name,
                    migration_type=spec.type,
                    # A VM HCX refused to validate never migrated: the report shows it failed.
                    state="failed" if row.state == BLOCKED else NAMES[row.state],
                    attempts=row.attempts,
                    hcx_migration_ids=list(row.ids),
                    started_at=from_epoch(row.t_start),
                    transfer_ended_at=from_epoch(row.t_xfer),
                    switchover_started_at=from_epoch(row.t_sw),
                    switchover_ended_at=from_epoch(row.t_sw_end),
                    ended_at=from_epoch(row.t_end) if row.t_start else None,
                    bytes_transferred=row.bytes,
                    planned_duration_s=planned.duration_s if planned else None,
                    planned_lower_bound_s=planned.lower_bound_s if planned else None,
                    error=row.error or None,
                )
            )
        for t, gbps, active in state.throughput:
            at = from_epoch(t)
            if at is not None:
                samples.append(ThroughputSample(at=at, gbps=gbps, in_flight=int(active)))
        found += wave_findings(spec, state)
    samples.sort(key=lambda s: s.at)
    extra = {"generated_at": generated} if generated is not None else {}
    return MigrationReport(
        plan_id=plan.id,
        status=status,
        plan_digest=prepared.digest,
        source=prepared.source.name,
        destination=prepared.destination.name,
        started_at=started,
        ended_at=ended,
        waves=waves,
        vms=vms,
        throughput=samples,
        findings=found,
        capacity_gbps=bw.aggregate_gbps,
        **extra,
    )
