"""The migration report: its figures, its JSON/Markdown/HTML renderings, and the page in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shared import report as report_pkg
from shared.estimate import BandwidthModel, VmLoad, estimate_wave
from shared.report import (
    MigrationReport,
    VmReport,
    render_html,
    render_json,
    render_markdown,
    report_from_estimate,
)
from shared.report.charts import MAX_VM_ROWS
from shared.report.format import bytes_text, duration_text
from tests.shared.report_samples import START, sample_report


def test_totals_and_wave_counts_are_computed_from_the_vms() -> None:
    r = sample_report()
    t = r.totals
    assert t.vms == 24
    assert t.by_state == {"migrated": 23, "failed": 1}
    assert t.attempts == 24 + 1 + 2  # one VM retried once, one failed after three attempts
    assert t.retried_vms == 2
    assert t.bytes_transferred == sum(vm.bytes_transferred for vm in r.vms)
    assert t.duration_s == (r.ended_at - r.started_at).total_seconds()  # type: ignore[operator]
    assert t.average_gbps == pytest.approx(t.bytes_transferred * 8 / 1e9 / t.duration_s)
    assert r.waves[1].counts == {"migrated": 7, "failed": 1}
    assert t.planned_duration_s == pytest.approx(sum(w.planned_duration_s or 0 for w in r.waves))


def test_a_vm_of_an_unlisted_wave_gets_a_wave_row() -> None:
    r = MigrationReport(
        plan_id="p1",
        status="running",
        vms=[VmReport(name="a", wave="w9", migration_type="bulk", state="transferring")],
    )
    assert [(w.name, w.counts) for w in r.waves] == [("w9", {"transferring": 1})]


def test_the_json_round_trips_and_carries_the_totals() -> None:
    r = sample_report()
    text = render_json(r)
    again = MigrationReport.model_validate_json(text)
    assert again.totals == r.totals
    assert [vm.hcx_migration_ids for vm in again.vms] == [vm.hcx_migration_ids for vm in r.vms]
    assert '"totals"' in text
    assert '"duration_s"' in text


def test_the_markdown_holds_every_vm_wave_and_finding() -> None:
    r = sample_report()
    md = render_markdown(r)
    for vm in r.vms:
        assert re.search(
            rf"^\| {re.escape(vm.name)} \| {vm.wave} \| {vm.migration_type} \| {vm.state} \|", md, re.M
        )
    for w in r.waves:
        assert f"| {w.name} | {w.state} |" in md
    assert "EXTENSION_FAILED" in md
    assert "TRANSFER_FAILED: vSphere Replication" in md
    assert re.search(r"`[▁▂▃▄▅▆▇█]{20,}`", md)  # the throughput sparkline


def test_the_forecast_lays_waves_end_to_end_from_the_estimates() -> None:
    bw = BandwidthModel(link_gbps=100, efficiency=1.0)
    first = estimate_wave([VmLoad(name="a", used_gb=100)], bw)
    second = estimate_wave(
        [VmLoad(name="b", used_gb=100), VmLoad(name="c", used_gb=100, migration_type="rav")], bw
    )
    r = report_from_estimate(
        "plan-1", [("w1", first), ("w2", second)], START, capacity_gbps=bw.aggregate_gbps
    )
    assert r.status == "planned"
    assert r.waves[1].started_at == START + timedelta(seconds=first.duration_s)
    b = next(vm for vm in r.vms if vm.name == "b")
    assert b.started_at == START + timedelta(seconds=first.duration_s)
    assert b.planned_duration_s == pytest.approx(second.vms[0].duration_s)
    assert r.totals.planned_duration_s == pytest.approx(first.duration_s + second.duration_s)
    # The implied throughput never exceeds the aggregate the estimate assumed.
    # The model's rate: n transfers in flight move min(n × 1 Gbps, 1.6 Gbps).
    assert r.throughput
    for sample in r.throughput:
        assert sample.gbps == pytest.approx(min(sample.in_flight * 1.0, bw.aggregate_gbps))
    assert r.throughput[0].in_flight == 1  # wave w1 runs first, alone
    assert "Forecast" in render_html(r)


def test_html_escapes_names_and_messages() -> None:
    r = sample_report()
    r.vms[0].name = "<script>alert(1)</script>"
    r.vms[0].error = "bad & <b>worse</b>"
    page = render_html(r)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<b>worse</b>" not in page


def test_html_is_self_contained() -> None:
    page = render_html(sample_report())
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "url(" not in page


def test_a_report_before_anything_ran_renders_placeholders() -> None:
    page = render_html(MigrationReport(plan_id="p1", status="running"))
    assert "No VM has started yet" in page
    assert "No throughput samples yet" in page


def test_a_large_migration_shows_one_timeline_row_per_wave() -> None:
    r = sample_report(waves=3, vms_per_wave=MAX_VM_ROWS // 3 + 5)
    page = render_html(r)
    assert f"{len(r.vms)} VMs: one row per wave" in page
    assert page.count('class="vm-label"') < 20  # wave labels in the plan-vs-actual chart only


def test_people_read_durations_and_sizes() -> None:
    assert [duration_text(s) for s in (None, 42, 125, 800, 3600 * 2 + 300, 86400 * 3 + 3600 * 4)] == [
        "—",
        "42 s",
        "2 min 05 s",
        "13 min",
        "2 h 05 min",
        "3 d 4 h",
    ]
    assert [bytes_text(n) for n in (512, 45.6e9, 1.5e12, 250e12)] == ["512 B", "45.6 GB", "1.5 TB", "250 TB"]


def test_the_package_surface_is_listed() -> None:
    assert set(report_pkg.__all__) == {
        "MigrationReport",
        "ReportTotals",
        "ThroughputSample",
        "VmReport",
        "WaveReport",
        "bytes_text",
        "duration_text",
        "gbps_text",
        "render_html",
        "render_json",
        "render_markdown",
        "report_from_estimate",
        "time_text",
    }


# --- the page in a real browser ----------------------------------------------------------------------


class _SvgCounter(HTMLParser):
    """Counts the elements of each chart in Chromium's serialised DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.counts: dict[tuple[str, str], int] = {}
        self.boxes: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.chart = a.get("id")
            self.boxes[self.chart or ""] = a.get("viewbox") or ""
        elif self.chart:
            key = (self.chart, f"{tag}.{a.get('class') or ''}")
            self.counts[key] = self.counts.get(key, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("headless Chromium is not installed (.ci/run installs Debian's chromium)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def _ink(png: Path, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """Pixels within `tolerance` of `colour`."""
    from PIL import Image

    with Image.open(png) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 24) or []
    return sum(n for n, rgb in colours if all(abs(rgb[i] - colour[i]) <= tolerance for i in range(3)))


TRANSFER_BLUE = (0x25, 0x63, 0xEB)
SWITCHOVER_AMBER = (0xF5, 0x9E, 0x0B)


@pytest.mark.chromium
def test_chromium_renders_the_charts(tmp_path: Path) -> None:
    r = sample_report()
    page = tmp_path / "report.html"
    page.write_text(render_html(r))
    blank = tmp_path / "blank.html"
    blank.write_text(
        render_html(MigrationReport(plan_id=r.plan_id, status="running", generated_at=datetime.now(UTC)))
    )

    dom = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "p1").stdout
    svg = _SvgCounter()
    svg.feed(dom)
    started = [vm for vm in r.vms if vm.started_at]
    assert svg.counts[("gantt", "rect.bar-transfer")] == len(started)
    assert svg.counts[("gantt", "rect.bar-switchover")] == sum(1 for vm in r.vms if vm.switchover_started_at)
    assert svg.counts[("gantt", "rect.bar-failed")] == 1
    assert svg.counts[("gantt", "line.planned")] == len(r.vms)
    assert svg.counts[("throughput", "polyline.line")] == 1
    assert svg.counts[("throughput", "line.wave-mark")] == len(r.waves)
    assert svg.counts[("waves-vs-plan", "rect.bar-actual")] == len(r.waves)
    width, height = (float(v) for v in svg.boxes["gantt"].split()[2:])
    assert width > 1000
    assert height > 30 * len(r.vms) / 2  # every VM has a row

    shot, empty = tmp_path / "report.png", tmp_path / "blank.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,1400", page.as_uri(), profile=tmp_path / "p2")
    _chromium(f"--screenshot={empty}", "--window-size=1280,1400", blank.as_uri(), profile=tmp_path / "p3")
    # The bars paint thousands of pixels in the phase colours; the page without data paints only the
    # legend's swatches.
    assert _ink(shot, TRANSFER_BLUE) > 20 * _ink(empty, TRANSFER_BLUE) + 5000
    assert _ink(shot, SWITCHOVER_AMBER) > 5 * _ink(empty, SWITCHOVER_AMBER) + 500
