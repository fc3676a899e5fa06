"""The migration commands against the real app on the local runtime and the sandbox, over HTTP with a
function key: submit, status, the list, cancel, watch's exit code, preflight, and every way the
endpoint can be wrong — each one line, never the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conductor.conftest import KEY, REPO
from tests.conductor.helpers import closed_port_url, one_line_error, run

PLANS = REPO / "examples" / "plans"
SAME_REGION = PLANS / "same-region.yaml"
PLAN_ID = "weu-consolidation"


def app(stack) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--endpoint", stack.endpoint, "--key", KEY]


@pytest.fixture
def plan_id() -> str:
    import yaml

    return str(yaml.safe_load(SAME_REGION.read_text())["id"])


def test_submit_then_status_and_the_list_show_the_migration(
    app_stack, plan_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_stack("same-region", auto_advance=False) as stack:
        code, _, err = run(capsys, "submit", str(SAME_REGION), *app(stack))
        assert code == 0, err
        assert f"migration {plan_id} started" in err
        stack.settle()

        code, out, _ = run(capsys, "status", plan_id, "--json", *app(stack))
        assert code == 0
        view = json.loads(out)
        assert view["id"] == plan_id
        assert view["done"] is False
        # The clock stands still: preparation waits on its first durable timer.
        assert view["phase"] in ("preflight", "pairing", "service_mesh", "network_extension")

        code, out, _ = run(capsys, "status", *app(stack))
        assert code == 0
        assert plan_id in out

        # The same plan again starts nothing: the digest is the idempotency key.
        code, _, err = run(capsys, "submit", str(SAME_REGION), *app(stack))
        assert code == 0
        assert "already known: nothing new started" in err
        assert KEY not in out + err


def test_a_cancelled_migration_makes_watch_exit_4_with_the_outcome(
    app_stack, plan_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_stack("same-region", auto_advance=False) as stack:
        assert run(capsys, "submit", str(SAME_REGION), *app(stack))[0] == 0
        stack.settle()
        code, _, err = run(capsys, "cancel", plan_id, "--yes", *app(stack))
        assert code == 0, err
        assert "cancelling the whole migration" in err
        stack.wait_for(plan_id, lambda v: v["done"])

        code, out, _ = run(capsys, "watch", plan_id, "--interval", "0.2", *app(stack))
        assert code == 4
        assert f"migration {plan_id} ended cancelled" in out

        # Cancelling what has ended is the app's 409, as one line.
        code, _, err = run(capsys, "cancel", plan_id, "--yes", *app(stack))
        assert code == 1
        assert "is not running" in one_line_error(err)


def test_preflight_through_the_endpoint_passes_for_the_example_plan(
    app_stack, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_stack("cross-region") as stack:
        code, out, err = run(capsys, "plan", "validate", str(PLANS / "cross-region.yaml"), *app(stack))
    assert code == 0, err
    assert "preflight passed" in out


def test_preflight_lists_what_a_run_would_install_first(
    app_stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sandbox.core.scenario import HcxSpec

    plan = tmp_path / "plan.yaml"
    plan.write_text(
        (PLANS / "cross-region.yaml").read_text().replace("install_addon: false", "install_addon: true")
    )
    with app_stack(
        "cross-region", destination={"hcx": HcxSpec(addon="none", certificate="self-signed")}
    ) as stack:
        code, out, err = run(capsys, "plan", "validate", str(plan), *app(stack))
    assert code == 0, err
    assert "would install the HCX add-on (Enterprise) on the destination private cloud pc-neu-prod" in out


def test_preflight_reports_findings_and_fails_for_a_vm_the_source_lacks(
    app_stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(SAME_REGION.read_text().replace("[ops-jump-01, ", "[ops-jump-99, "))
    with app_stack("same-region") as stack:
        code, out, err = run(capsys, "plan", "validate", str(plan), *app(stack))
    assert code == 1
    assert "VM_NOT_FOUND_AT_SOURCE" in out
    assert "preflight found" in one_line_error(err)


def test_a_wrong_function_key_is_one_line_exit_3_and_never_echoed(
    app_stack, plan_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-key-but-still-secret-42"
    with app_stack("same-region", auto_advance=False) as stack:
        for args in (
            ["status", plan_id],
            ["submit", str(SAME_REGION)],
            ["approve", plan_id],
            ["report", plan_id],
        ):
            code, out, err = run(capsys, *args, "--endpoint", stack.endpoint, "--key", wrong)
            assert code == 3, args
            assert "refused the function key" in one_line_error(err)
            assert wrong not in out + err
        code, _, err = run(capsys, "status", plan_id, "--endpoint", stack.endpoint)
        assert code == 3
        assert "needs a key" in one_line_error(err)


def test_a_key_in_the_endpoint_url_is_used_and_not_shown(
    app_stack, plan_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_stack("same-region", auto_advance=False) as stack:
        code, out, err = run(capsys, "status", "--endpoint", f"{stack.endpoint}/api?code={KEY}")
        assert code == 0, err
        assert KEY not in out + err
        code, out, err = run(capsys, "status", "no-such-plan", "--endpoint", f"{stack.endpoint}?code={KEY}")
        assert code == 1
        assert "no migration 'no-such-plan'" in one_line_error(err)
        assert KEY not in out + err


def test_an_unreachable_or_wrong_endpoint_is_one_line_exit_3(
    app_stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_FUNCTION_KEY", KEY)
    monkeypatch.setenv("CONDUCTOR_ENDPOINT", closed_port_url())
    code, out, err = run(capsys, "watch", "some-plan")
    assert code == 3
    assert "cannot reach" in one_line_error(err)
    assert KEY not in out + err
    with app_stack("same-region", auto_advance=False) as stack:
        code, _, err = run(capsys, "status", "some-plan", "--endpoint", f"{stack.endpoint}/not-the-app")
    assert code == 3
    assert "is not served (404)" in one_line_error(err)


def test_a_missing_or_invalid_plan_never_reaches_the_app(
    app_stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SAME_REGION.read_text().replace("max_concurrent_migrations: 50", "max_concurrent_migrations: 0")
    )
    with app_stack("same-region", auto_advance=False) as stack:
        code, _, err = run(capsys, "submit", str(tmp_path / "missing.yaml"), *app(stack))
        assert code == 2
        assert "no such file" in one_line_error(err)
        code, _, err = run(capsys, "submit", str(bad), *app(stack))
        assert code == 2
        assert "invalid plan" in one_line_error(err)
        assert "/limits/max_concurrent_migrations" in err
        assert stack.runtime_get("api/migrations").json()["count"] == 0


def test_no_endpoint_at_all_says_how_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "some-plan")
    assert code == 2
    assert "CONDUCTOR_ENDPOINT" in one_line_error(err)


@pytest.mark.parametrize(
    "command", ["submit", "status", "watch", "approve", "cancel", "retry", "report", "demo"]
)
def test_every_migration_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert f"Usage: conductor {command}" in out


@pytest.mark.slow
def test_approve_watch_and_report_carry_a_migration_to_its_report(
    app_stack, plan_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_stack("same-region") as stack:
        assert run(capsys, "submit", str(SAME_REGION), *app(stack))[0] == 0
        # A wave the plan lacks is the app's 400, as one line.
        code, _, err = run(capsys, "approve", plan_id, "--wave", "no-such-wave", *app(stack))
        assert code == 1
        assert "the plan has no wave 'no-such-wave'" in one_line_error(err)
        # Approving before the wave asks is kept until it gets there (its window opens at 20:00).
        code, _, err = run(capsys, "approve", plan_id, "--wave", "databases", "--by", "ops-lead", *app(stack))
        assert code == 0, err
        assert "approved wave databases" in err

        code, out, err = run(capsys, "watch", plan_id, "--interval", "0.2", *app(stack))
        assert code == 0, out + err
        assert f"migration {plan_id} ended completed: 10/10 VMs migrated" in out

        code, out, err = run(capsys, "report", plan_id, "--out", str(tmp_path / "out"), *app(stack))
        assert code == 0, err
        written = sorted(p.name for p in (tmp_path / "out").iterdir())
        assert written == [f"{plan_id}.html", f"{plan_id}.json", f"{plan_id}.md"]
        report = json.loads((tmp_path / "out" / f"{plan_id}.json").read_text())
        assert report["totals"]["by_state"] == {"migrated": 10}
        databases = [vm for vm in report["vms"] if vm["wave"] == "databases"]
        assert {vm["name"] for vm in databases} == {"db-sql-01", "db-sql-02"}
        assert all(vm["ended_at"] >= "2026-01-05T20:00:00" for vm in databases)  # inside the window
        assert "<svg" in (tmp_path / "out" / f"{plan_id}.html").read_text()

        code, _, err = run(capsys, "report", plan_id, "--format", "pdf", *app(stack))
        assert code == 2
        assert "--format 'pdf'" in one_line_error(err)
        # The migration has ended: approving now is the app's 409.
        code, _, err = run(capsys, "approve", plan_id, *app(stack))
        assert code == 1
        assert "is not running (it ended completed)" in one_line_error(err)
        assert KEY not in out + err


def test_report_of_a_running_migration_says_when_it_will_exist(
    app_stack, plan_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with app_stack("same-region", auto_advance=False) as stack:
        assert run(capsys, "submit", str(SAME_REGION), *app(stack))[0] == 0
        code, _, err = run(capsys, "report", plan_id, *app(stack))
    assert code == 1
    assert f"migration {plan_id} is still running" in one_line_error(err)
    assert f"conductor watch {plan_id}" in err


@pytest.mark.slow
def test_retry_runs_a_halted_wave_again_to_completion(
    app_stack, plan_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sandbox.core.scenario import VmFailure

    # One attempt per VM and no failure tolerated: app-web-01's failed transfer halts the app wave.
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        SAME_REGION.read_text().replace(
            "limits: {max_concurrent_migrations: 50, max_failures_per_wave: 1}",
            "limits: {max_concurrent_migrations: 50, max_failures_per_wave: 0, max_attempts: 1}",
        )
    )
    failure = VmFailure(vm="app-web-01", phase="transfer", times=1, message="disk read error")
    with app_stack("same-region", faults={"vm_failures": [failure]}) as stack:
        assert run(capsys, "submit", str(plan), *app(stack))[0] == 0
        stack.wait_for(plan_id, lambda v: any(w.get("state") == "halted" for w in v["waves"]))

        code, out, _ = run(capsys, "status", plan_id, *app(stack))
        assert code == 0
        assert "halted" in out

        code, _, err = run(capsys, "retry", plan_id, "--wave", "app", *app(stack))
        assert code == 0, err
        assert "retry requested" in err
        code, out, err = run(capsys, "watch", plan_id, "--interval", "0.2", *app(stack))
        assert code == 0, out + err
        assert f"migration {plan_id} ended completed: 10/10 VMs migrated" in out


def test_ctrl_c_stops_watching_without_a_traceback_and_the_migration_goes_on(
    app_stack, plan_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    with app_stack("same-region", auto_advance=False) as stack:
        assert run(capsys, "submit", str(SAME_REGION), *app(stack))[0] == 0
        env = {**os.environ, "CONDUCTOR_ENDPOINT": stack.endpoint, "CONDUCTOR_FUNCTION_KEY": KEY}
        watcher = subprocess.Popen(
            [sys.executable, "-m", "conductor", "watch", plan_id, "--interval", "0.2"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A CI job started in the background inherits SIGINT ignored, and Python then keeps it
            # ignored; a person's terminal delivers it, which is what this test is about.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 30
        assert watcher.stdout is not None
        first = watcher.stdout.readline()  # a pipe gets one line per change: it has read the status
        assert plan_id in first
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert watcher.returncode == 130
        assert "Stopped watching; the migration goes on" in err
        assert "Traceback" not in out + err
        assert KEY not in first + out + err
        assert stack.view(plan_id)["done"] is False
