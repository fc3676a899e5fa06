"""The report as one self-contained HTML file: inline CSS and inline SVG, no script, no network.

The page is a Jinja2 template (shared/templates/report.html.j2; Jinja2 chosen for its autoescaping,
so VM names and HCX messages cannot inject markup) filled with the charts of `shared.report.charts`.
It opens offline, prints, and can be attached to a change ticket as is.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from shared.report import charts
from shared.report.format import bytes_text, duration_text, gbps_text, time_text
from shared.report.model import DONE_STATES, FAILED_STATES, STOPPED_STATES, MigrationReport

__all__ = ["render_html"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _colour(state: str) -> str:
    if state in DONE_STATES:
        return "var(--ok)"
    if state in FAILED_STATES:
        return "var(--bad)"
    if state in STOPPED_STATES:
        return "var(--stop)"
    if state == "planned":
        return "var(--transfer)"
    return "var(--switch)"  # in flight


def _versus(actual: float | None, planned: float | None) -> Markup:
    if actual is None or not planned:
        return Markup("—")
    delta = (actual - planned) / planned
    cls = "over" if delta > 0.05 else "under" if delta < -0.05 else ""
    return Markup('<span class="delta {}">{:+.0%}</span>').format(cls, delta)


def render_html(report: MigrationReport) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["j2", "html"]),
        keep_trailing_newline=True,
    )
    totals = report.totals
    order = {
        s: k for k, s in enumerate(["migrated", "completed", "planned", "failed", "cancelled", "skipped"])
    }
    states = sorted(totals.by_state.items(), key=lambda kv: (order.get(kv[0], 2.5), kv[0]))
    severity = {"error": 0, "warning": 1, "info": 2}
    delta = None
    if totals.duration_s is not None and totals.planned_duration_s and report.status != "planned":
        delta = (totals.duration_s - totals.planned_duration_s) / totals.planned_duration_s
    return env.get_template("report.html.j2").render(
        r=report,
        t=totals,
        done=sum(n for s, n in totals.by_state.items() if s in DONE_STATES)
        if report.status != "planned"
        else totals.vms,
        states=states,
        delta=delta,
        errors=sum(1 for f in report.findings if f.severity == "error"),
        warnings=sum(1 for f in report.findings if f.severity == "warning"),
        findings=sorted(report.findings, key=lambda f: severity[f.severity]),
        # The charts escape every text they draw (shared.report.charts), so their markup is trusted.
        gantt=Markup(charts.gantt(report)),  # noqa: S704
        throughput=Markup(charts.throughput(report)),  # noqa: S704
        versus_chart=Markup(charts.waves_vs_plan(report)),  # noqa: S704
        duration=duration_text,
        size=bytes_text,
        rate=gbps_text,
        time=time_text,
        versus=_versus if report.status != "planned" else (lambda actual, planned: "—"),
        colour=_colour,
    )
