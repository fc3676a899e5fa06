"""Getting a finished migration's report and writing it as HTML, Markdown and JSON.

The app writes the report itself when a migration ends (activities/report.py): `report.json`,
`report.md` and `report.html` under the migration's id, in a blob container (REPORT_CONTAINER_URL)
or a directory (REPORT_DIR). The status document's `result` names where. `fetch_report` reads the
JSON from there — a local file when the app runs on this machine, a blob with the operator's own
Azure sign-in (azure-identity's DefaultAzureCredential and azure-storage-blob, the SDKs Microsoft
ships; the operator needs Storage Blob Data Reader on the container) — and `write_report` renders it
again with `shared.report`, so every format comes from one parsed `MigrationReport`.

Depends on `shared.report`, `conductor.client` and `conductor.errors`; the Azure SDKs are imported
only when a report lives in a blob container.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from conductor.client import AppClient
from conductor.errors import InputError, ReportUnavailable
from shared.report import (
    MigrationReport,
    bytes_text,
    duration_text,
    gbps_text,
    render_html,
    render_json,
    render_markdown,
)

__all__ = ["FORMATS", "fetch_report", "read_report", "report_locations", "summary_line", "write_report"]

# --format name -> (file suffix, renderer)
FORMATS = {
    "html": (".html", render_html),
    "md": (".md", render_markdown),
    "json": (".json", render_json),
}


def report_locations(view: Mapping[str, Any]) -> list[str]:
    """Where the app wrote the report, from a finished migration's status document."""
    result = view.get("result")
    if not isinstance(result, Mapping):
        return []
    report = result.get("report")
    found: Any = report.get("locations") if isinstance(report, Mapping) else result.get("report_locations")
    return [str(x) for x in found or [] if isinstance(x, str)]


def _json_location(locations: Iterable[str]) -> str | None:
    return next((x for x in locations if urlsplit(x).path.endswith(".json") or x.endswith(".json")), None)


def _read_blob(url: str) -> str:
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import BlobClient

    credential = DefaultAzureCredential()
    try:
        with BlobClient.from_blob_url(url, credential=credential) as blob:
            return blob.download_blob(encoding="utf-8").readall()
    except ClientAuthenticationError:
        raise ReportUnavailable(
            f"cannot sign in to read {url}", "run `az login` (DefaultAzureCredential signs in with it)"
        ) from None
    except HttpResponseError as exc:
        raise ReportUnavailable(
            f"cannot read {url} ({exc.status_code})",
            "your account needs Storage Blob Data Reader on the reports container",
        ) from None
    except AzureError as exc:
        raise ReportUnavailable(f"cannot read {url} ({type(exc).__name__})", None) from None
    finally:
        credential.close()


def _read(location: str) -> str:
    if urlsplit(location).scheme == "https":
        return _read_blob(location)
    path = Path(location)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportUnavailable(
            f"{path}: no such file",
            "the app wrote its report on another machine; run `conductor report` there, or set "
            "REPORT_CONTAINER_URL so reports go to a blob container",
        ) from None
    except OSError as exc:
        raise ReportUnavailable(f"{path}: cannot read ({exc.strerror})", None) from None


def fetch_report(client: AppClient, plan_id: str) -> MigrationReport:
    """The report of a migration that has ended, parsed; `ReportUnavailable` says why there is none."""
    view = client.status(plan_id).body
    if not view.get("done"):
        raise ReportUnavailable(
            f"migration {plan_id} is still running ({view.get('phase')})",
            f"the report is written when it ends: `conductor watch {plan_id}`",
        )
    location = _json_location(report_locations(view))
    if location is None:
        raise ReportUnavailable(
            f"migration {plan_id} ended {view.get('phase')} without a report",
            "a migration stopped before its waves (blocked, cancelled early) has findings instead: "
            f"`conductor status {plan_id}`",
        )
    return read_report(location)


def read_report(location: str) -> MigrationReport:
    """The report JSON at `location` (a path or a blob URL), parsed."""
    text = _read(location)
    try:
        return MigrationReport.model_validate_json(text)
    except ValidationError as exc:
        raise ReportUnavailable(
            f"{location}: not a report this CLI can read ({exc.error_count()} problem(s))",
            "use the CLI of the app's version",
        ) from None


def write_report(report: MigrationReport, directory: Path, formats: Iterable[str], stem: str) -> list[Path]:
    """Write `report` as `<directory>/<stem>.<suffix>` per format; returns the paths written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{directory}: cannot create ({exc.strerror})", "choose another --out") from None
    written = []
    for name in formats:
        suffix, renderer = FORMATS[name]
        path = directory / f"{stem}{suffix}"
        try:
            path.write_text(renderer(report), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror})", "choose another --out") from None
        written.append(path.resolve())
    return written


def summary_line(report: MigrationReport) -> str:
    """The report's headline figures in one sentence: outcome, data, duration against the plan, rates."""
    t = report.totals
    moved = t.by_state.get("migrated", 0)
    parts = [f"{moved}/{t.vms} VMs migrated", f"{bytes_text(t.bytes_transferred)} moved"]
    if t.duration_s is not None:
        took = f"in {duration_text(t.duration_s)}"
        if t.planned_duration_s:
            bound = t.planned_lower_bound_s
            took += f" (planned {duration_text(t.planned_duration_s)}"
            took += f", lower bound {duration_text(bound)})" if bound else ")"
        parts.append(took)
    if t.average_gbps is not None:
        peak = f", peak {gbps_text(t.peak_gbps)}" if t.peak_gbps else ""
        parts.append(f"average {gbps_text(t.average_gbps)}{peak}")
    if t.retried_vms:
        parts.append(f"{t.retried_vms} VM(s) retried")
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = sum(1 for f in report.findings if f.severity == "warning")
    parts.append(f"{errors} error(s), {warnings} warning(s)")
    return "; ".join(parts)
