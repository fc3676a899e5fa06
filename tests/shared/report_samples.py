"""A realistic migration report built in code, for the report's tests and screenshots."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from shared.findings import finding
from shared.report import MigrationReport, ThroughputSample, VmReport, WaveReport

START = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)
GB = 10**9


def sample_report(seed: int = 3, waves: int = 3, vms_per_wave: int = 8) -> MigrationReport:
    """Waves of Bulk, RAV and vMotion VMs; one VM retried to success, one failed for good."""
    rnd = random.Random(seed)
    wave_reports: list[WaveReport] = []
    vms: list[VmReport] = []
    at = START
    for w in range(waves):
        name = f"wave-{w + 1:02d}"
        wave_start = at
        window = wave_start + timedelta(hours=3)
        ends = []
        planned_total = 0.0
        for k in range(vms_per_wave):
            kind = ["bulk", "bulk", "rav", "bulk", "vmotion"][k % 5]
            size = rnd.uniform(40, 400) * GB
            start = wave_start + timedelta(minutes=rnd.uniform(0, 20))
            transfer = timedelta(seconds=size * 8 / (0.35e9 * rnd.uniform(0.8, 1.2)))
            transfer_end = start + transfer
            if kind == "vmotion":
                sw_start, sw_end = transfer_end, transfer_end + timedelta(minutes=2)
            else:
                sw_start = max(transfer_end, window) + timedelta(minutes=6 * (k % 3))
                sw_end = sw_start + timedelta(minutes=rnd.uniform(4, 12))
            planned = (sw_end - start).total_seconds() * rnd.uniform(0.8, 1.15)
            planned_total = max(planned_total, planned + (start - wave_start).total_seconds())
            vm_name = f"{['crm', 'erp', 'web', 'hr'][w % 4]}-{kind}-{k + 1:02d}"
            attempts, state, error = 1, "migrated", None
            ids = [f"{rnd.getrandbits(64):016x}-mig"]
            if w == 1 and k == 2:
                attempts, ids = 2, [*ids, f"{rnd.getrandbits(64):016x}-mig"]
            if w == 1 and k == 5:
                attempts, state = 3, "failed"
                ids += [f"{rnd.getrandbits(64):016x}-mig" for _ in range(2)]
                error = "TRANSFER_FAILED: vSphere Replication lost its connection to the target host"
                sw_start = sw_end = None  # type: ignore[assignment]
            vms.append(
                VmReport(
                    name=vm_name,
                    wave=name,
                    migration_type=kind,
                    state=state,
                    attempts=attempts,
                    hcx_migration_ids=ids,
                    started_at=start,
                    transfer_ended_at=transfer_end,
                    switchover_started_at=sw_start,
                    switchover_ended_at=sw_end,
                    ended_at=sw_end or transfer_end,
                    bytes_transferred=int(size * (1.02 if state == "migrated" else 0.6)),
                    planned_duration_s=planned,
                    planned_lower_bound_s=size * 8 / 1e9,
                    error=error,
                )
            )
            ends.append(sw_end or transfer_end)
        wave_end = max(ends)
        wave_reports.append(
            WaveReport(
                name=name,
                state="completed" if w != 1 else "completed_with_failures",
                started_at=wave_start,
                ended_at=wave_end,
                planned_duration_s=planned_total,
                planned_lower_bound_s=planned_total * 0.55,
            )
        )
        at = wave_end + timedelta(minutes=15)
    samples = []
    t = START
    while t <= at:
        active = [
            v for v in vms if v.started_at and v.transfer_ended_at and v.started_at <= t < v.transfer_ended_at
        ]
        gbps = min(
            1.55,
            sum(
                v.bytes_transferred * 8 / 1e9 / (v.transfer_ended_at - v.started_at).total_seconds()
                for v in active
                if v.transfer_ended_at and v.started_at
            ),
        )
        wobble = 1 + 0.06 * math.sin(t.timestamp() / 700)
        samples.append(ThroughputSample(at=t, gbps=gbps * wobble if active else 0.0, in_flight=len(active)))
        t += timedelta(minutes=5)
    return MigrationReport(
        plan_id="cross-region-demo",
        status="completed_with_failures",
        plan_digest="sha256:" + "ab" * 32,
        source="avs-weu-prod",
        destination="avs-neu-prod",
        started_at=START,
        ended_at=at,
        generated_at=at + timedelta(minutes=1),
        waves=wave_reports,
        vms=vms,
        throughput=samples,
        capacity_gbps=1.6,
        findings=[
            finding(
                "VM_SELECTED_BY_SEVERAL_WAVES",
                "hr-bulk-04 matches wave-02's folder and wave-03's pattern; it migrated in wave-02",
                resource="/waves/2/selection/name_patterns/0",
            ),
            finding(
                "EXTENSION_FAILED",
                "Extending VLAN300-Backup failed: appliance NE-2 reported an error",
                resource="VLAN300-Backup",
                severity="warning",
            ),
        ],
    )
