"""The migration report: its model, and its renderings as JSON, Markdown and self-contained HTML.

    from shared.report import MigrationReport, render_html, render_json, render_markdown

    report = MigrationReport(plan_id=..., status=..., waves=[...], vms=[...], throughput=[...])
    Path("report.html").write_text(render_html(report))

The wave engine fills the model; `report_from_estimate` turns the planner's estimates into a forecast
that renders the same way. Modules: `model` (the data), `format` (durations, sizes, times for people),
`markdown`, `charts` (inline SVG), `html` (the page). docs/reports.md describes every figure.
"""

from shared.report.format import bytes_text, duration_text, gbps_text, time_text
from shared.report.html import render_html
from shared.report.markdown import render_markdown
from shared.report.model import (
    MigrationReport,
    ReportTotals,
    ThroughputSample,
    VmReport,
    WaveReport,
    report_from_estimate,
)

__all__ = [
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
]


def render_json(report: MigrationReport) -> str:
    """The report as indented JSON, totals and per-wave counts included."""
    return report.model_dump_json(indent=2) + "\n"
