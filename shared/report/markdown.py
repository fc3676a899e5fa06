"""The report as Markdown: the same figures as the HTML page, for tickets, wikis and pull requests.

Tables render on GitHub and Azure DevOps; throughput is a one-line Unicode sparkline so the shape
survives plain text. Standard library only (plus the report model).
"""

from __future__ import annotations

from shared.report.format import bytes_text, duration_text, gbps_text, time_text
from shared.report.model import MigrationReport

__all__ = ["render_markdown"]

SPARK = "▁▂▃▄▅▆▇█"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _delta(actual: float | None, planned: float | None) -> str:
    if actual is None or not planned:
        return "—"
    return f"{(actual - planned) / planned:+.0%}"


def sparkline(values: list[float], width: int = 60) -> str:
    """Values squeezed into `width` block characters, each the mean of its bucket."""
    if not values:
        return ""
    buckets = [values[i * len(values) // width : (i + 1) * len(values) // width] for i in range(width)]
    means = [sum(b) / len(b) for b in buckets if b]
    top = max(means) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1) + 0.5))] for v in means)


def render_markdown(report: MigrationReport) -> str:
    t = report.totals
    lines = [f"# Migration report: {report.plan_id}", ""]
    if report.status == "planned":
        lines += ["> Forecast from the plan's estimates: nothing has moved yet.", ""]
    route = f"{report.source or 'source'} → {report.destination or 'destination'}"
    lines += [
        f"**Status:** {report.status} · **Route:** {route} · **Generated:** {time_text(report.generated_at)}",
        "",
        "| | |",
        "| --- | --- |",
        f"| Started | {time_text(report.started_at)} |",
        f"| Ended | {time_text(report.ended_at)} |",
        f"| Duration (actual / planned / lower bound) | {duration_text(t.duration_s)} / "
        f"{duration_text(t.planned_duration_s)} / {duration_text(t.planned_lower_bound_s)} |",
        f"| VMs | {t.vms} ({', '.join(f'{n} {s}' for s, n in sorted(t.by_state.items())) or 'none'}) |",
        f"| Data moved | {bytes_text(t.bytes_transferred)} |",
        f"| Throughput (average / peak) | {gbps_text(t.average_gbps)} / {gbps_text(t.peak_gbps)} |",
        f"| HCX migrations (attempts) | {t.attempts}, {t.retried_vms} VM(s) retried |",
        "",
    ]
    if report.throughput:
        peak = max(s.gbps for s in report.throughput)
        lines += [
            "## Throughput",
            "",
            f"`{sparkline([s.gbps for s in report.throughput])}` peak {gbps_text(peak)}",
            "",
        ]
    lines += [
        "## Waves",
        "",
        "| wave | state | VMs | started | ended | actual | planned | vs plan | lower bound |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for w in report.waves:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(w.counts.items()))
        cells = [
            _cell(w.name),
            w.state,
            f"{sum(w.counts.values())} ({counts})",
            time_text(w.started_at),
            time_text(w.ended_at),
            duration_text(w.duration_s),
            duration_text(w.planned_duration_s),
            _delta(w.duration_s, w.planned_duration_s),
            duration_text(w.planned_lower_bound_s),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Virtual machines",
        "",
        "| VM | wave | type | state | attempts | actual | planned | vs plan | data | HCX migration ids |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for vm in report.vms:
        ids = ", ".join(f"`{i}`" for i in vm.hcx_migration_ids) or "—"
        lines.append(
            f"| {_cell(vm.name)} | {_cell(vm.wave)} | {vm.migration_type} | {vm.state} | {vm.attempts} "
            f"| {duration_text(vm.duration_s)} | {duration_text(vm.planned_duration_s)} "
            f"| {_delta(vm.duration_s, vm.planned_duration_s)} | {bytes_text(vm.bytes_transferred)} | {ids} |"
        )
    failed = [vm for vm in report.vms if vm.error]
    if failed:
        lines += ["", "### Errors", ""]
        lines += [f"- **{_cell(vm.name)}** (attempt {vm.attempts}): {_cell(vm.error)}" for vm in failed]
    lines += ["", "## Findings", ""]
    if not report.findings:
        lines.append("No findings.")
    for f in sorted(report.findings, key=lambda f: ("error", "warning", "info").index(f.severity)):
        where = f" ({_cell(f.resource)})" if f.resource else ""
        lines.append(
            f"- **{f.severity.upper()} `{f.code}`**{where}: {_cell(f.message)} — *{_cell(f.remedy)}*"
        )
    return "\n".join(lines) + "\n"
