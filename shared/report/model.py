"""The migration report's data: what the wave engine records per VM, per wave and per run.

The engine fills a `MigrationReport` as the migration runs (and `report_from_estimate` builds a
forecast from the planner's estimates, so the same renderers show a plan before it runs). Planned
durations come from `shared.estimate`; the report sets them beside the actual ones. Totals and
per-wave counts are computed from the VMs, so they can never disagree with the table. Times are
timezone-aware UTC. The report is plain JSON and never holds secrets. Depends on pydantic,
`shared.findings` and `shared.estimate` only.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    model_validator,
)

from shared.estimate import WaveEstimate
from shared.findings import Finding

__all__ = [
    "MigrationReport",
    "ReportTotals",
    "ThroughputSample",
    "VmReport",
    "WaveReport",
    "report_from_estimate",
]

# States the renderers colour; any other state string is accepted and shown neutral, so the engine
# may add states without breaking reports. inferred: issue 5 names the phases, not an enum.
DONE_STATES = frozenset({"migrated", "completed", "succeeded"})
FAILED_STATES = frozenset({"failed"})
STOPPED_STATES = frozenset({"cancelled", "skipped"})


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Utc = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        # Rendered JSON carries the computed figures (totals, durations); reading it back recomputes them.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in cls.model_computed_fields}
        return data


class VmReport(_Model):
    """One VM: its phases' times, what moved, and how it ended."""

    name: str
    wave: str
    migration_type: str  # bulk | rav | vmotion | cold
    state: str
    attempts: Annotated[int, Field(ge=0)] = 0
    hcx_migration_ids: list[str] = Field(default_factory=list)  # one per attempt, oldest first
    started_at: Utc | None = None
    transfer_ended_at: Utc | None = None
    switchover_started_at: Utc | None = None
    switchover_ended_at: Utc | None = None
    ended_at: Utc | None = None
    bytes_transferred: Annotated[int, Field(ge=0)] = 0
    planned_duration_s: Annotated[float, Field(ge=0)] | None = None
    planned_lower_bound_s: Annotated[float, Field(ge=0)] | None = None
    error: str | None = None  # the last failure's message, as HCX gave it

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class WaveReport(_Model):
    name: str
    state: str = "pending"
    started_at: Utc | None = None
    ended_at: Utc | None = None
    planned_duration_s: Annotated[float, Field(ge=0)] | None = None
    planned_lower_bound_s: Annotated[float, Field(ge=0)] | None = None
    counts: dict[str, int] = Field(default_factory=dict)  # VMs by state; filled by the report

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class ThroughputSample(_Model):
    """Aggregate transfer rate measured at one poll, from the bytes HCX reported between polls."""

    at: Utc
    gbps: Annotated[float, Field(ge=0)]
    in_flight: Annotated[int, Field(ge=0)] = 0


class ReportTotals(_Model):
    vms: int
    by_state: dict[str, int]
    bytes_transferred: int
    attempts: int
    retried_vms: int
    duration_s: float | None
    planned_duration_s: float | None
    planned_lower_bound_s: float | None
    average_gbps: float | None
    peak_gbps: float | None


class MigrationReport(_Model):
    plan_id: str
    status: str  # planned | running | completed | completed_with_failures | failed | cancelled
    plan_digest: str | None = None
    source: str | None = None  # private cloud names, for the header
    destination: str | None = None
    started_at: Utc | None = None
    ended_at: Utc | None = None
    generated_at: Utc = Field(default_factory=lambda: datetime.now(UTC))
    waves: list[WaveReport] = Field(default_factory=list)
    vms: list[VmReport] = Field(default_factory=list)
    throughput: list[ThroughputSample] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    # The ceiling the estimate assumed (aggregate Gbps), drawn on the throughput chart.
    capacity_gbps: Annotated[float, Field(gt=0)] | None = None

    def model_post_init(self, context: object, /) -> None:
        known = {w.name for w in self.waves}
        for vm in self.vms:  # a VM of an unlisted wave still shows, in a wave of its own
            if vm.wave not in known:
                self.waves.append(WaveReport(name=vm.wave))
                known.add(vm.wave)
        for wave in self.waves:
            wave.counts = dict(Counter(vm.state for vm in self.vms if vm.wave == wave.name))

    def vms_of(self, wave: str) -> list[VmReport]:
        return [vm for vm in self.vms if vm.wave == wave]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def totals(self) -> ReportTotals:
        duration = (
            (self.ended_at - self.started_at).total_seconds() if self.started_at and self.ended_at else None
        )
        planned = [w.planned_duration_s for w in self.waves]
        bounds = [w.planned_lower_bound_s for w in self.waves]
        moved = sum(vm.bytes_transferred for vm in self.vms)
        rates = [s.gbps for s in self.throughput]
        return ReportTotals(
            vms=len(self.vms),
            by_state=dict(Counter(vm.state for vm in self.vms)),
            bytes_transferred=moved,
            attempts=sum(vm.attempts for vm in self.vms),
            retried_vms=sum(1 for vm in self.vms if vm.attempts > 1),
            duration_s=duration,
            planned_duration_s=sum(p for p in planned if p is not None) if any(planned) else None,
            planned_lower_bound_s=sum(b for b in bounds if b is not None) if any(bounds) else None,
            average_gbps=(moved * 8 / 1e9 / duration) if duration else None,
            peak_gbps=max(rates) if rates else None,
        )


def report_from_estimate(
    plan_id: str,
    waves: list[tuple[str, WaveEstimate]],
    start: datetime,
    *,
    capacity_gbps: float | None = None,
    per_migration_gbps: float = 1.0,
    findings: list[Finding] | None = None,
) -> MigrationReport:
    """A forecast: the planner's timeline as a report (status "planned"), waves one after another."""
    out_waves: list[WaveReport] = []
    vms: list[VmReport] = []
    at = start.astimezone(UTC)
    for name, est in waves:
        out_waves.append(
            WaveReport(
                name=name,
                state="planned",
                started_at=at,
                ended_at=at + timedelta(seconds=est.duration_s),
                planned_duration_s=est.duration_s,
                planned_lower_bound_s=est.lower_bound_s,
            )
        )
        for vm in est.vms:
            vms.append(
                VmReport(
                    name=vm.name,
                    wave=name,
                    migration_type=vm.migration_type,
                    state="planned",
                    started_at=at + timedelta(seconds=vm.transfer_start_s),
                    transfer_ended_at=at + timedelta(seconds=vm.transfer_end_s),
                    switchover_started_at=at + timedelta(seconds=vm.switchover_start_s),
                    switchover_ended_at=at + timedelta(seconds=vm.switchover_end_s),
                    ended_at=at + timedelta(seconds=vm.switchover_end_s),
                    bytes_transferred=vm.bytes,
                    planned_duration_s=vm.duration_s,
                    planned_lower_bound_s=vm.lower_bound_s,
                )
            )
        at += timedelta(seconds=est.duration_s)
    return MigrationReport(
        throughput=_forecast_throughput(vms, capacity_gbps, per_migration_gbps),
        plan_id=plan_id,
        status="planned",
        started_at=start.astimezone(UTC),
        ended_at=at,
        generated_at=start.astimezone(UTC),
        waves=out_waves,
        vms=vms,
        findings=findings or [],
        capacity_gbps=capacity_gbps,
    )


def _forecast_throughput(
    vms: list[VmReport], capacity_gbps: float | None, per_migration_gbps: float, points: int = 120
) -> list[ThroughputSample]:
    """The rate the estimate's model implies: n transfers in flight move min(n × per-migration, capacity)."""
    spans = [
        (vm.started_at, vm.transfer_ended_at)
        for vm in vms
        if vm.started_at and vm.transfer_ended_at and vm.transfer_ended_at > vm.started_at
    ]
    if not spans:
        return []
    t0 = min(s for s, _ in spans)
    t1 = max(e for _, e in spans)
    step = (t1 - t0) / points
    samples = []
    for k in range(points + 1):
        at = t0 + step * k
        n = sum(1 for s, e in spans if s <= at < e)
        gbps = n * per_migration_gbps if capacity_gbps is None else min(n * per_migration_gbps, capacity_gbps)
        samples.append(ThroughputSample(at=at, gbps=gbps, in_flight=n))
    return samples
