"""The report activity: where it writes, and a report whose figures match the sandbox's own records."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from activities.report import report_target, write_report
from shared.errors import SettingsError
from shared.report import MigrationReport
from tests.engine import world
from tests.engine.rig import Rig


def call(function: Any, payload: dict[str, Any]) -> Any:
    return function._function.get_user_function()(payload)


def test_reports_go_to_a_container_or_a_directory() -> None:
    url = "https://acct.blob.core.windows.net/reports"
    assert report_target({"REPORT_CONTAINER_URL": url + "/"}).container_url == url
    derived = report_target({"IDENTITY_ENDPOINT": "http://x", "AzureWebJobsStorage__accountName": "acct"})
    assert derived.container_url == url
    assert report_target({"REPORT_DIR": "/tmp/r"}).directory == Path("/tmp/r")
    assert report_target({}).directory == Path("reports")
    with pytest.raises(SettingsError, match="https"):
        report_target({"REPORT_CONTAINER_URL": "http://acct.blob.core.windows.net/reports"})
    with pytest.raises(SettingsError, match="SAS"):
        report_target({"REPORT_CONTAINER_URL": url + "?sv=2024&sig=abc"})


@pytest.mark.slow
def test_the_reports_figures_match_the_sandboxs_records(tmp_path: Path) -> None:
    scenario = world.scenario(faults={"vm_failures": [{"vm": "web-02", "phase": "transfer", "times": 1}]})
    with Rig.open(tmp_path, scenario) as rig:
        rig.prepare([{"name": "web", "vms": ["web-01", "web-02", "app-01"]}])
        instance = rig.start_wave()
        rig.run()
        result = rig.status(instance)["output"]
        records = rig.hcx()["migrations"]
        assert rig.plan is not None
        assert rig.prepared is not None
        os.environ["REPORT_DIR"] = str(tmp_path / "reports")
        written = call(
            write_report,
            {
                "plan": rig.plan.model_dump(mode="json"),
                "prepared": rig.prepared.model_dump(mode="json"),
                "results": [result],
                "status": "completed",
                "started": "2026-01-05T10:00:00Z",
                "ended": rig.clock.now().isoformat(),
            },
        )
    folder = tmp_path / "reports" / "engine-test"
    assert sorted(Path(p).name for p in written["locations"]) == ["report.html", "report.json", "report.md"]
    report = MigrationReport.model_validate_json((folder / "report.json").read_text())
    by_vm: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r["attempt"]):
        by_vm.setdefault(record["vm"], []).append(record)
    assert {vm.name for vm in report.vms} == set(by_vm)
    for vm in report.vms:
        mine = by_vm[vm.name]
        assert vm.hcx_migration_ids == [r["id"] for r in mine]
        assert vm.attempts == len(mine)
        assert vm.bytes_transferred == sum(r["bytesTransferred"] for r in mine)
        assert vm.state == "migrated"
        assert vm.switchover_ended_at is not None
        # The engine keeps whole seconds.
        ended = datetime.fromisoformat(mine[-1]["switchoverEnd"]).replace(microsecond=0)
        assert vm.switchover_ended_at == ended
    assert report.totals.bytes_transferred == sum(r["bytesTransferred"] for r in records)
    assert report.totals.retried_vms == 1
    assert written["totals"]["bytes_transferred"] == report.totals.bytes_transferred
    data = json.loads((folder / "report.json").read_text())
    assert data["waves"][0]["planned_duration_s"] > 0
    for name in ("report.md", "report.html"):
        text = (folder / name).read_text()
        assert all(r["id"] in text for r in records)
