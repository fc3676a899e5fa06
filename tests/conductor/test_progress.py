"""The live display's pieces as pure functions: throughput arithmetic, VM counts, the frame's content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from conductor.progress import Meter, moved_bytes, outcome, render, vm_counts, wave_progress

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GB = 10**9


def text(renderable: Any, width: int = 140) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False)
    console.print(renderable)
    return console.export_text()


def test_throughput_is_bytes_over_the_kept_span_in_gbit_per_second() -> None:
    meter = Meter(span=timedelta(minutes=30))
    assert meter.gbps() is None
    meter.add(T0, 0)
    assert meter.gbps() is None  # one sample is no rate
    # 600 GB in 20 minutes: 600e9 * 8 / 1200 s = 4.0 Gbit/s.
    meter.add(T0 + timedelta(minutes=20), 600 * GB)
    assert meter.gbps() == 4.0
    # An hour later the first samples have left the span: 900 GB more in 50 minutes = 2.4 Gbit/s.
    meter.add(T0 + timedelta(minutes=30), 600 * GB)
    meter.add(T0 + timedelta(minutes=80), 1500 * GB)
    assert round(meter.gbps() or 0, 6) == 2.4


def test_a_retry_that_resets_bytes_never_gives_a_negative_rate() -> None:
    meter = Meter()
    meter.add(T0, 500 * GB)
    meter.add(T0 + timedelta(minutes=10), 300 * GB)  # a failed attempt's bytes were dropped
    assert meter.gbps() == 0.0
    meter.add(T0 + timedelta(minutes=20), 800 * GB)
    assert round(meter.gbps() or 0, 6) == round(300 * GB * 8 / 1200 / 1e9, 6)


def wave(name: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "bulk", "state": state, **fields}


def test_counts_come_from_the_engine_then_the_vm_rows_then_the_plan() -> None:
    assert vm_counts(wave("a", "transferring", counts={"migrated": 2, "transferring": 3})) == {
        "migrated": 2,
        "transferring": 3,
    }
    rows = {"vm1": ["migrated", 1, 100], "vm2": ["waiting", 1, 100], "vm3": {"state": "ready"}}
    assert vm_counts(wave("b", "waiting_for_window", vms=rows)) == {"migrated": 1, "waiting": 1, "ready": 1}
    assert vm_counts(wave("c", "prepared", vm_count=4)) == {"not started": 4}
    # Before its engine publishes, a wave lists its VMs as the prepared context has them ("ready").
    assert vm_counts(wave("d", "prepared", vms={"vm1": {"state": "ready"}, "vm2": {"state": "ready"}})) == {
        "not started": 2
    }


def test_progress_is_the_engine_bytes_or_the_plan_before_the_wave_starts() -> None:
    assert wave_progress(wave("a", "transferring", bytes_done=30, bytes_total=120)) == (30, 120)
    assert wave_progress(wave("b", "prepared", used_bytes=500)) == (0, 500)
    view = {"waves": [wave("a", "transferring", bytes_done=30, bytes_total=120), wave("b", "prepared")]}
    assert moved_bytes(view) == 30


def running_view() -> dict[str, Any]:
    return {
        "id": "weu-to-neu-demo",
        "phase": "waves",
        "done": False,
        "created": T0.isoformat(),
        "networks": [{"name": "web", "state": "extended"}],
        "findings": [{"severity": "warning", "code": "MIGRATION_WARNING", "message": "snapshots removed"}],
        "findings_total": 1,
        "waves": [
            wave(
                "pilot",
                "completed",
                type="vmotion",
                counts={"migrated": 2},
                bytes_done=110 * GB,
                bytes_total=110 * GB,
            ),
            wave(
                "web",
                "awaiting_approval",
                counts={"waiting": 80},
                bytes_done=3000 * GB,
                bytes_total=3000 * GB,
                window={"start": "2026-01-05T20:00:00+00:00", "end": "2026-01-06T08:00:00+00:00"},
            ),
            wave(
                "app",
                "transferring",
                counts={"transferring": 60, "ready": 10},
                bytes_done=1000 * GB,
                bytes_total=5000 * GB,
                eta="2026-01-06T03:30:00+00:00",
                window={"start": "2026-01-05T20:00:00+00:00", "end": "2026-01-06T02:00:00+00:00"},
            ),
            wave("db", "prepared", vm_count=47, used_bytes=6000 * GB),
        ],
    }


def test_a_frame_shows_phase_waves_counts_throughput_eta_window_and_notes() -> None:
    meter = Meter()
    meter.add(T0 + timedelta(hours=6), 3000 * GB)
    meter.add(T0 + timedelta(hours=6, minutes=20), 3600 * GB)  # 600 GB / 20 min = 4.00 Gbps
    frame = text(
        render(
            running_view(),
            meter,
            T0 + timedelta(hours=6, minutes=20),
            ["auto-approved the switchover of wave web"],
        )
    )
    assert "wave 2/4 web: awaiting approval" in frame
    assert "running 6 h 20 min" in frame
    for line in ("pilot", "web", "app", "db"):
        assert line in frame
    for done in ("2/2", "0/80", "0/70", "0/47"):
        assert done in frame
    assert "VMs  2 migrated · 60 transferring · 80 waiting · 10 ready · 47 not started   of 199" in frame
    assert "db     bulk     not started" in frame
    assert "throughput 4.00 Gbps" in frame
    # The app wave's ETA (03:30 next day) falls after its window closes (02:00 next day): flagged.
    assert "5.0 TB  03:30+1d late" in frame
    assert "Window web 20:00–08:00+1d, opens in 1 h 40 min" in frame
    assert (
        "Window app 20:00–02:00+1d, opens in 1 h 40 min · transfers ETA 03:30+1d is after it closes ✗"
        in frame
    )
    assert "Networks web extended" in frame
    assert "MIGRATION_WARNING snapshots removed" in frame
    assert "› auto-approved the switchover of wave web" in frame
    assert "migration weu-to-neu-demo ended" not in frame


def test_the_end_says_how_it_ended_and_whether_that_is_a_success() -> None:
    view = running_view() | {"done": True, "phase": "completed", "detail": "all waves done"}
    view["waves"] = [
        wave("pilot", "completed", counts={"migrated": 2}),
        wave("web", "completed", counts={"migrated": 79, "failed": 1}),
    ]
    end = outcome(view)
    assert end is not None
    assert end.ok
    assert (
        end.text == "migration weu-to-neu-demo ended completed: 81/82 VMs migrated, 1 failed; all waves done"
    )
    assert "✓ migration weu-to-neu-demo ended completed" in text(render(view))
    partial = outcome(
        view | {"detail": "completed with failures", "result": {"status": "completed_with_failures"}}
    )
    assert partial is not None
    assert not partial.ok
    blocked = outcome({"id": "x", "done": True, "phase": "blocked", "waves": []})
    assert blocked is not None
    assert not blocked.ok
    assert outcome(running_view()) is None
