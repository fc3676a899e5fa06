"""The report activity: build the migration report from the waves' results and write it three ways.

`write_report(ReportRequest)` assembles `shared.report.MigrationReport` with
`shared.engine.build_report` (every VM and wave, planned against actual, throughput, findings) and
writes `report.json`, `report.md` and `report.html` under the migration's id:

* to the blob container named by REPORT_CONTAINER_URL (`https://<account>.blob.core.windows.net/reports`)
  with the app's identity (managed identity in Azure, `DefaultAzureCredential` elsewhere; the role
  Storage Blob Data Contributor lets it create the container), TLS verified against the public roots
  plus REPORT_CA_BUNDLE if set. In Azure, when the setting is absent, the container `reports` of the
  app's own storage account (`AzureWebJobsStorage__accountName`) is used;
* otherwise to the directory REPORT_DIR (default `./reports`), as `<dir>/<migration id>/report.*`.

It returns `{"locations": [...], "totals": {...}}`. Writing is idempotent (same names, overwritten),
so a re-run after a crash writes the same report again. Reports hold names, sizes, times and HCX's
messages, never secrets. azure-storage-blob is the SDK Microsoft ships for Blob Storage; nothing here
is hand-written HTTP. This module depends on azure-storage-blob and `shared` (`shared.identity` signs in).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
from pydantic import BaseModel, ConfigDict, Field

from shared.engine import build_report
from shared.errors import SettingsError
from shared.findings import Finding
from shared.identity import app_credential
from shared.plan import MigrationPlan
from shared.prepared import PreparedContext
from shared.report import MigrationReport, render_html, render_json, render_markdown
from shared.settings import is_loopback
from shared.tls import combined_ca_bundle

__all__ = ["ReportRequest", "ReportTarget", "bp", "publish", "report_target", "write_report"]

bp = df.Blueprint()
log = logging.getLogger("hcx_conductor.report")

DEFAULT_DIR = "reports"
DEFAULT_CONTAINER = "reports"
FILES = {
    "report.json": ("application/json", render_json),
    "report.md": ("text/markdown; charset=utf-8", render_markdown),
    "report.html": ("text/html; charset=utf-8", render_html),
}


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: dict[str, Any]
    prepared: dict[str, Any]
    results: list[dict[str, Any]] = Field(default_factory=list)
    """What each wave orchestrator returned, in plan order (waves that never ran are absent)."""
    status: str
    started: datetime | None = None
    ended: datetime | None = None
    findings: list[Finding] = Field(default_factory=list)


class ReportTarget(BaseModel):
    """Where reports go: a blob container URL (and extra CAs to trust for it), or a local directory."""

    model_config = ConfigDict(frozen=True)

    container_url: str | None = None
    ca_bundle: str | None = None
    directory: Path = Path(DEFAULT_DIR)


def report_target(environ: Mapping[str, str] | None = None) -> ReportTarget:
    """REPORT_CONTAINER_URL, else (in Azure) the app's storage account's `reports`, else REPORT_DIR."""
    env = os.environ if environ is None else environ
    url = env.get("REPORT_CONTAINER_URL", "").strip().rstrip("/")
    if not url and env.get("IDENTITY_ENDPOINT") and env.get("AzureWebJobsStorage__accountName"):
        url = f"https://{env['AzureWebJobsStorage__accountName']}.blob.core.windows.net/{DEFAULT_CONTAINER}"
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(url)):
            raise SettingsError("REPORT_CONTAINER_URL: must be an https URL of a blob container")
        if parts.query or parts.username or parts.password:
            raise SettingsError(
                "REPORT_CONTAINER_URL: must not carry a SAS or credentials (the app's identity writes)"
            )
        return ReportTarget(container_url=url, ca_bundle=env.get("REPORT_CA_BUNDLE", "").strip() or None)
    return ReportTarget(directory=Path(env.get("REPORT_DIR", "").strip() or DEFAULT_DIR))


def _to_container(
    url: str, prefix: str, files: dict[str, tuple[str, str]], credential: Any, ca_bundle: str | None
) -> list[str]:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContainerClient, ContentSettings

    verify = combined_ca_bundle(ca_bundle)  # TLS always verified: public roots, plus extra CAs if any
    container = ContainerClient.from_container_url(url, credential=credential, connection_verify=verify)
    with container:
        with contextlib.suppress(ResourceExistsError):  # it exists: the usual case
            container.create_container()
        locations = []
        for name, (kind, text) in files.items():
            blob = f"{prefix}/{name}"
            container.upload_blob(
                blob,
                text.encode("utf-8"),
                overwrite=True,
                content_settings=ContentSettings(content_type=kind),
            )
            locations.append(f"{url}/{blob}")
    return locations


def _to_directory(directory: Path, prefix: str, files: dict[str, tuple[str, str]]) -> list[str]:
    folder = directory / prefix
    folder.mkdir(parents=True, exist_ok=True)
    locations = []
    for name, (_, text) in files.items():
        path = folder / name
        partial = path.with_suffix(path.suffix + ".tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # a reader never sees half a report
        locations.append(str(path.resolve()))
    return locations


def render(report: MigrationReport) -> dict[str, tuple[str, str]]:
    return {name: (kind, renderer(report)) for name, (kind, renderer) in FILES.items()}


def publish(report: MigrationReport, target: ReportTarget, credential: Any = None) -> list[str]:
    """Write the report's three files where `target` says; their locations (URLs or paths)."""
    files = render(report)
    if target.container_url:
        credential = credential or app_credential(os.environ)
        return _to_container(target.container_url, report.plan_id, files, credential, target.ca_bundle)
    return _to_directory(target.directory, report.plan_id, files)


@bp.activity_trigger(input_name="payload")
def write_report(payload: dict[str, Any]) -> dict[str, Any]:
    request = ReportRequest.model_validate(payload)
    plan = MigrationPlan.model_validate(request.plan)
    prepared = PreparedContext.model_validate(request.prepared)
    report = build_report(
        plan,
        prepared,
        request.results,
        status=request.status,
        started=request.started,
        ended=request.ended,
        findings=request.findings,
        generated=request.ended,
    )
    locations = publish(report, report_target())
    log.info("migration %s: report written to %s", plan.id, ", ".join(locations))
    totals = report.totals
    return {
        "locations": locations,
        "totals": {
            "vms": totals.vms,
            "by_state": totals.by_state,
            "bytes_transferred": totals.bytes_transferred,
            "attempts": totals.attempts,
            "retried_vms": totals.retried_vms,
            "duration_s": totals.duration_s,
            "planned_duration_s": totals.planned_duration_s,
        },
    }
