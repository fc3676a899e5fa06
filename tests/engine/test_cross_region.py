"""The issue's bar: the cross-region example plan (about 200 VMs, five waves of four types, a window
with an approval, three networks cut over) migrates completely on the sandbox, through the local
runtime, over HTTP, and its report matches the sandbox's record of what moved."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest
import yaml

from sandbox.core.scenario import parse_scenario
from shared.report import MigrationReport
from tests.engine.rig import Rig

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "examples" / "plans" / "cross-region.yaml"
SCENARIO = REPO / "examples" / "scenarios" / "cross-region.yaml"


def test_the_cross_region_example_migrates_completely_and_its_report_matches_the_sandbox(
    tmp_path: Path,
) -> None:
    os.environ["REPORT_DIR"] = str(tmp_path / "reports")
    plan = yaml.safe_load(PLAN.read_text())
    with Rig.open(tmp_path, parse_scenario(yaml.safe_load(SCENARIO.read_text()))) as rig:
        api = f"{rig.runtime.base_url}/api"
        submitted = httpx.post(
            f"{api}/migrations", content=PLAN.read_bytes(), headers={"Content-Type": "application/yaml"}
        )
        assert submitted.status_code == 202
        deadline = time.monotonic() + 300
        while True:
            rig.run(300)
            answer = httpx.get(f"{api}/migrations/{plan['id']}", timeout=60)
            if answer.status_code == 200:
                break
            assert time.monotonic() < deadline, answer.text[:2000]
            time.sleep(0.1)
        view = answer.json()
        records = rig.hcx()["migrations"]
        starts = rig.sandbox.stats()["migration_starts"]
        history = rig.runtime.stats.max_history
    assert (view["phase"], view["result"]["status"]) == ("completed", "completed"), view.get("detail")
    assert [w["state"] for w in view["waves"]] == ["completed"] * 5
    assert {n["name"]: n["state"] for n in view["networks"]} == {
        "web": "cut_over",
        "app": "cut_over",
        "db": "cut_over",
    }
    [location] = [p for p in view["result"]["report"]["locations"] if p.endswith("report.json")]
    report = MigrationReport.model_validate_json(Path(location).read_text())
    # What moved, per the sandbox: one completed migration per VM, started once.
    assert len(report.vms) == len(records) == len(starts) > 190
    assert set(starts.values()) == {1}
    assert {r["state"] for r in records} == {"MIGRATION_COMPLETE"}
    assert report.totals.by_state == {"migrated": len(records)}
    assert {vm.name: vm.hcx_migration_ids for vm in report.vms} == {r["vm"]: [r["id"]] for r in records}
    assert {vm.name: vm.bytes_transferred for vm in report.vms} == {
        r["vm"]: r["bytesTransferred"] for r in records
    }
    assert report.totals.bytes_transferred == sum(r["bytesTransferred"] for r in records)
    kinds = {r["vm"]: r["type"] for r in records}
    assert {vm.name: vm.migration_type for vm in report.vms} == {
        name: {"Bulk": "bulk", "vMotion": "vmotion", "Cold": "cold", "RAV": "rav"}[kind]
        for name, kind in kinds.items()
    }
    assert history <= 1000
    assert json.loads(Path(location).read_text())["waves"][2]["planned_duration_s"] > 0
