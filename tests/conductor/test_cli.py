"""The `conductor` CLI: plan validate, draft and estimate, their help, and their one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conductor import cli
from shared.plan import load_plan
from tests.conductor.helpers import closed_port_url, one_line_error, run

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "/subscriptions/00000000-0000-4000-8000-000000000001"
SOURCE = f"{SUBSCRIPTION}/resourceGroups/rg-a/providers/Microsoft.AVS/privateClouds/avs-a"
DESTINATION = f"{SUBSCRIPTION}/resourceGroups/rg-b/providers/Microsoft.AVS/privateClouds/avs-b"
CLOUDS = ["--source", SOURCE, "--destination", DESTINATION]
GB_IN_MIB = 1e9 / 2**20


def write_plan(path: Path, waves: str) -> Path:
    path.write_text(f"id: test-plan\nsource: {SOURCE}\ndestination: {DESTINATION}\nwaves:\n{waves}")
    return path


@pytest.mark.parametrize(
    "command",
    [[], ["plan"], ["plan", "validate"], ["plan", "draft"], ["plan", "estimate"]],
)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert "Usage: conductor" in out


def test_draft_from_rvtools_csvs_writes_a_valid_plan_with_every_vm_once(
    capsys: pytest.CaptureFixture[str], rvtools_csv_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "plan.yaml"
    code, _, err = run(
        capsys,
        "plan",
        "draft",
        "--from-rvtools",
        str(rvtools_csv_dir),
        *CLOUDS,
        "--id",
        "crm-move",
        "-o",
        str(target),
    )
    assert code == 0, err
    plan = load_plan(target.read_text())
    assert plan.id == "crm-move"
    names = [vm for wave in plan.waves for vm in wave.vms]
    assert sorted(names) == ["batch-01", "crm-db-01", "crm-web-01", "hr-app-01"]
    types = {plan.effective(w.name).migration.type for w in plan.waves if "hr-app-01" in w.vms}
    assert types == {"cold"}  # powered off
    assert "Networks the VMs use: VLAN100-Web, VLAN200-Db, VLAN300-Backup" in target.read_text()
    assert "Read 4 VMs" in err


def test_draft_from_xlsx_to_stdout_respects_the_wave_size(
    capsys: pytest.CaptureFixture[str], rvtools_xlsx: Path
) -> None:
    code, out, _ = run(
        capsys, "plan", "draft", "--from-rvtools", str(rvtools_xlsx), *CLOUDS, "--max-wave-vms", "1"
    )
    assert code == 0
    plan = load_plan(out)
    assert [len(w.vms) for w in plan.waves] == [1, 1, 1]


def test_draft_source_flags_are_exclusive(capsys: pytest.CaptureFixture[str], rvtools_xlsx: Path) -> None:
    code, _, err = run(capsys, "plan", "draft", *CLOUDS)
    assert code == 2
    assert "exactly one of --from-rvtools" in one_line_error(err)
    code, _, err = run(capsys, "plan", "draft", "--from-hcx", "--from-rvtools", str(rvtools_xlsx), *CLOUDS)
    assert code == 2
    code, _, err = run(capsys, "plan", "draft", "--from-hcx", *CLOUDS)
    assert code == 2
    assert "--hcx-url" in one_line_error(err)


def test_an_unknown_app_column_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], rvtools_xlsx: Path
) -> None:
    code, _, err = run(
        capsys, "plan", "draft", "--from-rvtools", str(rvtools_xlsx), *CLOUDS, "--app-column", "Owner"
    )
    assert code == 2
    assert "unknown column 'Owner'" in one_line_error(err)


def test_an_unreadable_rvtools_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "export.xlsx"
    broken.write_bytes(os.urandom(256))
    code, _, err = run(capsys, "plan", "draft", "--from-rvtools", str(broken), *CLOUDS)
    assert code == 2
    line = one_line_error(err)
    assert "cannot read the workbook" in line
    assert "RVTools" in line  # says what to pass instead


def test_validate_accepts_a_good_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", "  - name: w1\n    vms: [a, b]\n")
    code, out, _ = run(capsys, "plan", "validate", str(plan))
    assert code == 0
    assert "plan test-plan is valid" in out
    assert "2 VMs named" in out


def test_validate_names_each_bad_field_by_pointer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", "  - name: w1\n    vms: [a]\n    colour: blue\n")
    code, _, err = run(capsys, "plan", "validate", str(plan))
    assert code == 2
    assert "invalid plan (1 problem)" in one_line_error(err)
    assert "/waves/0/colour: unknown field" in err


def test_validate_a_missing_plan_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "plan", "validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "no such file" in one_line_error(err)


def test_validate_with_an_unreachable_endpoint_says_so_in_one_line_and_hides_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = write_plan(tmp_path / "plan.yaml", "  - name: w1\n    vms: [a]\n")
    key = "s3cr3t-function-key-value"
    code, out, err = run(capsys, "plan", "validate", str(plan), "--endpoint", closed_port_url(), "--key", key)
    assert code == 3
    assert "cannot reach" in one_line_error(err)
    assert key not in out + err


def test_estimate_matches_the_hand_computed_figures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # One 100 GB Bulk VM on an unconstrained link: 800 s at 1 Gbps, then a 5-minute switchover.
    inventory = tmp_path / "vinfo.csv"
    inventory.write_text(
        f"VM,Powerstate,Memory,Provisioned MiB,In Use MiB\napp,poweredOn,4096,200000,{100 * GB_IN_MIB}\n"
    )
    plan = write_plan(tmp_path / "plan.yaml", "  - name: w1\n    vms: [app]\n")
    args = [
        "plan",
        "estimate",
        str(plan),
        "--inventory",
        str(inventory),
        "--link-gbps",
        "100",
        "--efficiency",
        "1",
    ]
    code, out, err = run(capsys, *args, "--churn", "0", "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["duration_s"] == pytest.approx(1100)
    assert figures["lower_bound_s"] == pytest.approx(800)
    assert figures["waves"][0]["vms"][0]["transfer_end_s"] == pytest.approx(800)
    code, out, _ = run(capsys, *args, "--churn", "0", "--vms")
    assert code == 0
    assert "18 min" in out  # 1100 s, as a person reads it
    assert "13 min" in out  # the 800 s lower bound


def test_estimate_writes_the_forecast_report(
    capsys: pytest.CaptureFixture[str], rvtools_csv_dir: Path, tmp_path: Path
) -> None:
    plan = write_plan(
        tmp_path / "plan.yaml",
        "  - name: crm\n    vms: [crm-web-01, crm-db-01]\n"
        "  - name: rest\n    selection: {folders: [HR, Workloads]}\n",
    )
    html, md = tmp_path / "forecast.html", tmp_path / "forecast.md"
    code, _, err = run(
        capsys,
        "plan",
        "estimate",
        str(plan),
        "--inventory",
        str(rvtools_csv_dir),
        "--html",
        str(html),
        "--markdown",
        str(md),
    )
    assert code == 0, err
    page = html.read_text()
    assert "Forecast" in page
    assert page.count('class="bar-transfer"') == 4
    assert "| batch-01 | rest |" in md.read_text()


def test_estimate_reports_vms_missing_from_the_inventory(
    capsys: pytest.CaptureFixture[str], rvtools_csv_dir: Path, tmp_path: Path
) -> None:
    plan = write_plan(tmp_path / "plan.yaml", "  - name: w1\n    vms: [crm-web-01, ghost]\n")
    code, _, err = run(capsys, "plan", "estimate", str(plan), "--inventory", str(rvtools_csv_dir))
    assert code == 2
    assert "VM_NOT_FOUND_AT_SOURCE" in err
    assert "'ghost'" in err
    assert "inventory lacks" in one_line_error(err)


def test_estimate_needs_an_inventory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", "  - name: w1\n    vms: [a]\n")
    code, _, err = run(capsys, "plan", "estimate", str(plan))
    assert code == 2
    assert "--inventory" in one_line_error(err)


def test_the_console_script_prints_no_traceback_unless_debug(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUCTOR_")}
    missing = str(tmp_path / "missing.yaml")
    quiet = subprocess.run(
        [sys.executable, "-m", "conductor", "plan", "validate", missing],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert quiet.returncode == 2
    assert quiet.stderr.strip().startswith("error:")
    assert "Traceback" not in quiet.stderr
    loud = subprocess.run(
        [sys.executable, "-m", "conductor", "--debug", "plan", "validate", missing],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert loud.returncode != 0
    assert "Traceback" in loud.stderr
    assert "PlanFileError" in loud.stderr


def test_a_usage_error_exits_2_with_typer_s_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conductor", "plan", "draft", "--meshes", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "--meshes" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_module_surface_is_listed() -> None:
    assert set(cli.__all__) == {"app", "main"}
