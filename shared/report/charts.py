"""Inline SVG charts for the HTML report, drawn in Python so the page needs no script and no network.

* `gantt(report)`: one row per VM grouped under its wave, showing transfer, waiting for the window,
  and switchover; a tick marks where the plan expected the VM to finish. Beyond `MAX_VM_ROWS` VMs the
  chart shows one row per wave instead, so the page stays readable.
* `throughput(report)`: the aggregate rate over time as an area, with the assumed capacity and the
  wave starts marked, on the same time axis as the Gantt.
* `waves_vs_plan(report)`: per wave, the planned and the actual duration side by side, with the
  physical lower bound.

Every text is escaped; every element carries a class the page's CSS colours and a `<title>` a
browser shows on hover. Standard library only (plus the report model).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from shared.report.format import bytes_text, duration_text, gbps_text, time_text
from shared.report.model import FAILED_STATES, STOPPED_STATES, MigrationReport, VmReport

__all__ = ["MAX_VM_ROWS", "gantt", "throughput", "waves_vs_plan"]

MAX_VM_ROWS = 400
WIDTH = 1160
LABEL = 200  # left column for names
RIGHT = 24
ROW = 16
WAVE_ROW = 26
AXIS = 30
# Tick spacing candidates in seconds: from a minute to a week.
STEPS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]


class _Axis:
    """Maps times onto the x range shared by the Gantt and the throughput chart."""

    def __init__(self, t0: datetime, t1: datetime, x0: float = LABEL, x1: float = WIDTH - RIGHT) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + timedelta(seconds=60))
        self.x0, self.x1 = x0, x1

    def x(self, at: datetime) -> float:
        span = (self.t1 - self.t0).total_seconds()
        return self.x0 + (at - self.t0).total_seconds() / span * (self.x1 - self.x0)

    def ticks(self) -> list[tuple[float, str]]:
        span = (self.t1 - self.t0).total_seconds()
        step = next((s for s in STEPS if span / s <= 10), STEPS[-1])
        first = self.t0.timestamp() // step * step + step
        multi_day = self.t0.date() != self.t1.date()
        out = []
        at = first
        while at < self.t1.timestamp():
            moment = datetime.fromtimestamp(at, tz=self.t0.tzinfo)
            label = moment.strftime("%b %d %H:%M" if multi_day and step >= 21600 else "%H:%M")
            out.append((self.x(moment), label))
            at += step
        return out


def _span(report: MigrationReport) -> tuple[datetime, datetime] | None:
    times = [
        t
        for vm in report.vms
        for t in (
            vm.started_at,
            vm.transfer_ended_at,
            vm.switchover_started_at,
            vm.switchover_ended_at,
            vm.ended_at,
        )
        if t is not None
    ]
    times += [t for t in (report.started_at, report.ended_at) if t is not None]
    times += [s.at for s in report.throughput]
    if not times:
        return None
    return min(times), max(times)


def _rect(cls: str, x0: float, x1: float, y: float, h: float, title: str = "") -> str:
    width = max(1.5, x1 - x0)  # a phase too short to see still shows as a sliver
    tip = f"<title>{escape(title)}</title>" if title else ""
    box = f'x="{x0:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}"'
    return f'<rect class="{cls}" {box} rx="2">{tip}</rect>'


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _tip(vm: VmReport) -> str:
    parts = [
        f"{vm.name} ({vm.migration_type}, {vm.state})",
        f"start {time_text(vm.started_at)}",
        f"actual {duration_text(vm.duration_s)}, planned {duration_text(vm.planned_duration_s)}",
        f"{bytes_text(vm.bytes_transferred)}, {vm.attempts} attempt(s)",
    ]
    if vm.error:
        parts.append(f"error: {vm.error}")
    return "\n".join(parts)


def _vm_bars(vm: VmReport, ax: _Axis, y: float, end_of_run: datetime) -> list[str]:
    if vm.started_at is None:
        return []
    tip = _tip(vm)
    h = ROW - 6
    transfer_end = vm.transfer_ended_at or vm.switchover_started_at or vm.ended_at or end_of_run
    out = [_rect("bar-transfer", ax.x(vm.started_at), ax.x(transfer_end), y, h, tip)]
    if vm.switchover_started_at and vm.switchover_started_at > transfer_end:
        out.append(_rect("bar-wait", ax.x(transfer_end), ax.x(vm.switchover_started_at), y + 2, h - 4, tip))
    if vm.switchover_started_at:
        sw_end = vm.switchover_ended_at or vm.ended_at or end_of_run
        out.append(_rect("bar-switchover", ax.x(vm.switchover_started_at), ax.x(sw_end), y, h, tip))
    if vm.state in FAILED_STATES | STOPPED_STATES:
        cls = "bar-failed" if vm.state in FAILED_STATES else "bar-stopped"
        out.append(_rect(cls, ax.x(vm.started_at), ax.x(vm.ended_at or end_of_run), y, h, tip))
    if vm.planned_duration_s is not None:
        px = ax.x(vm.started_at + timedelta(seconds=vm.planned_duration_s))
        out.append(
            f'<line class="planned" x1="{px:.1f}" x2="{px:.1f}" y1="{y - 2:.1f}" y2="{y + h + 2:.1f}"/>'
        )
    return out


def gantt(report: MigrationReport) -> str:
    span = _span(report)
    if span is None:
        return '<p class="empty">No VM has started yet: the timeline appears once migrations run.</p>'
    ax = _Axis(*span)
    per_vm = len(report.vms) <= MAX_VM_ROWS
    body: list[str] = []
    y = AXIS + 6
    for index, wave in enumerate(report.waves):
        vms = sorted(report.vms_of(wave.name), key=lambda v: (v.started_at or span[1], v.name))
        rows = len(vms) if per_vm else 1
        height = WAVE_ROW + rows * ROW + 6
        band = "band-even" if index % 2 == 0 else "band-odd"
        body.append(f'<rect class="{band}" x="0" y="{y:.1f}" width="{WIDTH}" height="{height}"/>')
        summary = f"{wave.name} · {len(vms)} VM{'s' if len(vms) != 1 else ''}"
        body.append(_text(8, y + 17, summary, "wave-label"))
        if wave.started_at and wave.ended_at:
            planned = duration_text(wave.planned_duration_s)
            body.append(
                _rect(
                    "bar-wave",
                    ax.x(wave.started_at),
                    ax.x(wave.ended_at),
                    y + 9,
                    6,
                    f"{wave.name}: {duration_text(wave.duration_s)} (planned {planned})",
                )
            )
        row_y = y + WAVE_ROW
        if per_vm:
            for vm in vms:
                body.append(_text(16, row_y + 9, vm.name[:30], "vm-label"))
                body += _vm_bars(vm, ax, row_y, span[1])
                row_y += ROW
        else:
            body += _wave_aggregate(vms, ax, row_y, span[1])
        y += height
    total = y + 4
    grid = [
        f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{AXIS - 4}" y2="{total:.1f}"/>'
        + _text(x, AXIS - 10, label, "tick", "middle")
        for x, label in ax.ticks()
    ]
    note = "" if per_vm else _text(LABEL, total - 2, f"{len(report.vms)} VMs: one row per wave", "note")
    return (
        f'<svg id="gantt" class="chart" viewBox="0 0 {WIDTH} {total:.0f}" width="100%" role="img" '
        f'aria-label="Timeline of every VM by wave" xmlns="http://www.w3.org/2000/svg">'
        + "".join(grid + body)
        + note
        + "</svg>"
    )


def _wave_aggregate(vms: list[VmReport], ax: _Axis, y: float, end_of_run: datetime) -> list[str]:
    starts = [v.started_at for v in vms if v.started_at]
    if not starts:
        return []
    transfer_end = max((v.transfer_ended_at or v.ended_at or end_of_run) for v in vms if v.started_at)
    out = [_rect("bar-transfer", ax.x(min(starts)), ax.x(transfer_end), y, ROW - 6, "transfers")]
    switches = [v for v in vms if v.switchover_started_at]
    if switches:
        s0 = min(v.switchover_started_at for v in switches if v.switchover_started_at)
        s1 = max((v.switchover_ended_at or end_of_run) for v in switches)
        out.append(_rect("bar-switchover", ax.x(s0), ax.x(s1), y, ROW - 6, "switchovers"))
    return out


def _nice_max(value: float) -> float:
    for step in (0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 500, 1000):
        if value <= step * 5:
            return step * 5
    return value


_LABEL_CHAR_PX = 6.5  # average width of a character of the wave labels (11 px sans-serif)


def throughput(report: MigrationReport) -> str:
    samples = sorted(report.throughput, key=lambda s: s.at)
    span = _span(report)
    if not samples or span is None:
        return '<p class="empty">No throughput samples yet.</p>'
    height, top, bottom = 240, 24, 30
    ax = _Axis(*span)
    peak = max(s.gbps for s in samples)
    y_max = _nice_max(max(peak, report.capacity_gbps or 0) * 1.1 or 1.0)

    def y(gbps: float) -> float:
        return height - bottom - gbps / y_max * (height - top - bottom)

    points = " ".join(f"{ax.x(s.at):.1f},{y(s.gbps):.1f}" for s in samples)
    base = height - bottom
    area = f"{ax.x(samples[0].at):.1f},{base} {points} {ax.x(samples[-1].at):.1f},{base}"
    parts = [
        f'<line class="grid" x1="{LABEL}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        + _text(LABEL - 8, y(v) + 4, f"{v:g} Gbps", "tick", "end")
        for v in [y_max * k / 5 for k in range(6)]
    ]
    parts += [_text(x, height - 10, label, "tick", "middle") for x, label in ax.ticks()]
    # Waves that start close together would print their names over each other: each label takes the
    # first of two rows where it fits, and a name that fits in neither stays in the marker's tooltip.
    row_ends = [float("-inf"), float("-inf")]
    for wave in report.waves:
        if wave.started_at:
            x = ax.x(wave.started_at)
            parts.append(
                f'<line class="wave-mark" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 8}" y2="{base}">'
                f"<title>{escape(wave.name)} starts {escape(time_text(wave.started_at))}</title></line>"
            )
            row = next((r for r, end in enumerate(row_ends) if x + 4 >= end), None)
            if row is not None:
                parts.append(_text(x + 4, top - 2 + 11 * row, wave.name, "wave-mark-label"))
                row_ends[row] = x + 4 + _LABEL_CHAR_PX * len(wave.name) + 6
    parts.append(f'<polygon class="area" points="{area}"/>')
    parts.append(f'<polyline class="line" points="{points}"/>')
    if report.capacity_gbps:
        cy = y(report.capacity_gbps)
        parts.append(
            f'<line class="capacity" x1="{LABEL}" x2="{WIDTH - RIGHT}" y1="{cy:.1f}" y2="{cy:.1f}"/>'
        )
        parts.append(
            _text(WIDTH - RIGHT, cy - 6, f"capacity {gbps_text(report.capacity_gbps)}", "cap-label", "end")
        )
    best = max(samples, key=lambda s: s.gbps)
    parts.append(
        f'<circle class="peak" cx="{ax.x(best.at):.1f}" cy="{y(best.gbps):.1f}" r="4">'
        f"<title>peak {escape(gbps_text(best.gbps))} at {escape(time_text(best.at))}</title></circle>"
    )
    return (
        f'<svg id="throughput" class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="Aggregate throughput over time" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )


def waves_vs_plan(report: MigrationReport) -> str:
    waves = [w for w in report.waves if w.duration_s is not None or w.planned_duration_s is not None]
    if not waves:
        return '<p class="empty">No wave has planned or actual figures yet.</p>'
    width, label, row = 440, 80, 34
    longest = max(
        max(w.duration_s or 0, w.planned_duration_s or 0, w.planned_lower_bound_s or 0) for w in waves
    )
    scale = (width - label - 90) / (longest or 1)
    parts = []
    for k, w in enumerate(waves):
        y = 10 + k * row
        parts.append(_text(0, y + 15, w.name[:16], "vm-label"))
        if w.planned_duration_s is not None:
            tip = f"planned {duration_text(w.planned_duration_s)}"
            parts.append(_rect("bar-planned", label, label + w.planned_duration_s * scale, y, 11, tip))
        if w.duration_s is not None:
            tip = f"actual {duration_text(w.duration_s)}"
            parts.append(_rect("bar-actual", label, label + w.duration_s * scale, y + 13, 11, tip))
        if w.planned_lower_bound_s:
            bx = label + w.planned_lower_bound_s * scale
            parts.append(f'<line class="bound" x1="{bx:.1f}" x2="{bx:.1f}" y1="{y - 2}" y2="{y + 26}"/>')
        shown = w.duration_s if w.duration_s is not None else w.planned_duration_s
        end = label + (shown or 0) * scale
        parts.append(
            _text(
                max(end, label + (w.planned_duration_s or 0) * scale) + 6,
                y + 17,
                duration_text(shown),
                "tick",
            )
        )
    height = 10 + len(waves) * row
    return (
        f'<svg id="waves-vs-plan" class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Planned and actual duration per wave" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )
