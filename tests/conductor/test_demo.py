"""`conductor demo` end to end, as `make demo` runs it but with time running faster: the sandbox's
cross-region scenario and the app in one process on one accelerated clock, the example plan submitted
over HTTP, the web wave's switchover approved by the demo (and said), the migration completed, and the
report written where the demo says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from conductor.demo import Demo
from shared.report import MigrationReport


@pytest.mark.slow
def test_the_demo_migrates_the_example_plan_approves_the_web_wave_and_writes_the_report(
    tmp_path: Path,
) -> None:
    console = Console(record=True, width=120, force_terminal=False, color_system=None)
    # 6000x: the plan's simulated day and a half in about 20 s; status reads every 0.2 s (72 s of
    # simulated time), far inside the web wave's 6-hour approval timeout.
    result = Demo(tmp_path / "demo", factor=6000, interval=0.2).run(console)
    screen = console.export_text()

    assert result.ok, screen[-3000:]
    assert result.view["phase"] == "completed"
    assert result.approved == ["web"]
    assert "auto-approved the switchover of wave web" in screen

    files = {Path(x).name: Path(x) for x in result.reports}
    assert set(files) == {"report.html", "report.md", "report.json"}
    report = MigrationReport.model_validate_json(files["report.json"].read_text())
    assert report.status == "completed"
    assert report.totals.by_state == {"migrated": 200}
    assert [w.name for w in report.waves] == ["pilot", "legacy", "web", "app", "db"]
    # The web wave switched over inside its window, after the approval: no VM ended before 20:00.
    web_ends = [vm.ended_at for vm in report.vms if vm.wave == "web"]
    assert all(end is not None and end.isoformat() >= "2026-01-05T20:00:00+00:00" for end in web_ends)
    # Throughput is timed by HCX's own clock: even on a clock running 6000x, no sample claims more
    # than the interconnect can carry (a few percent for one-second Date stamps and bytes rounding).
    assert report.capacity_gbps is not None
    assert report.totals.peak_gbps is not None
    assert report.totals.peak_gbps <= report.capacity_gbps * 1.05, report.totals
    assert "<svg" in files["report.html"].read_text()
    assert json.loads(files["report.json"].read_text())["plan_id"] == "weu-to-neu-demo"

    # Nothing of the demo's world is left running, and the log went to the file, not the screen.
    assert (tmp_path / "demo" / "demo.log").stat().st_size > 0
    assert "INFO" not in screen


def test_a_second_demo_run_starts_from_scratch(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / "reports" / "old").mkdir(parents=True)
    (out / "state.sqlite").write_text("a previous run")
    Demo(out)._fresh_out()
    assert not (out / "state.sqlite").exists()
    assert not (out / "reports").exists()
