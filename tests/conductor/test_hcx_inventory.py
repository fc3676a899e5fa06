"""`plan draft --from-hcx` against the sandbox's source HCX Manager, over verified TLS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conductor.hcx_inventory import read_hcx_inventory
from runtime.clock import VirtualClock
from sandbox.core.scenario import parse_scenario
from sandbox.sandbox import Sandbox
from shared.plan import load_plan
from tests.conductor.test_cli import CLOUDS, one_line_error, run

SCENARIO = {
    "name": "conductor-draft",
    "seed": 11,
    "source": {
        "name": "pc-src",
        "resource_group": "rg-src",
        "region": "westeurope",
        "networks": [{"name": "web", "vlan": 101, "gateway_cidr": "10.1.1.1/24"}],
        "folders": ["Workloads", "Shop"],
        "vms": [
            {"name": "shop-web-01", "networks": ["web"], "disk_gb": 40, "used_gb": 20, "folder": "Shop"},
            {"name": "shop-web-02", "networks": ["web"], "disk_gb": 40, "used_gb": 25, "folder": "Shop"},
            {"name": "old-batch", "disk_gb": 80, "used_gb": 30, "power_state": "off"},
        ],
    },
    "destination": {"name": "pc-dst", "resource_group": "rg-dst", "region": "northeurope"},
    "service_meshes": [{"name": "mesh-1"}],
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    scenario = parse_scenario(SCENARIO)
    with Sandbox(scenario, clock=VirtualClock(scenario.start)) as sb:
        yield sb


def test_the_source_inventory_converts_sizes_power_folders_and_networks(sandbox: Sandbox) -> None:
    creds = sandbox.world.credentials["source"]
    vms = {
        vm.name: vm
        for vm in read_hcx_inventory(
            sandbox.hcx_url("source"),
            creds.username,
            creds.password,
            pins=[sandbox.hcx_fingerprint("source")],
        )
    }
    assert sorted(vms) == ["old-batch", "shop-web-01", "shop-web-02"]
    web = vms["shop-web-02"]
    assert web.used_mib == pytest.approx(25 * 1024)  # the sandbox's GB are GiB
    assert web.provisioned_mib == pytest.approx(40 * 1024)
    assert (web.folder, web.networks, web.power_state) == ("Shop", ("web",), "on")
    assert vms["old-batch"].power_state == "off"


def test_draft_from_hcx_writes_a_plan_with_every_source_vm(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    creds = sandbox.world.credentials["source"]
    monkeypatch.setenv("CONDUCTOR_HCX_PASSWORD", creds.password)
    target = tmp_path / "plan.yaml"
    code, out, err = run(
        capsys,
        "plan", "draft", "--from-hcx", "--hcx-url", sandbox.hcx_url("source"), "--hcx-user", creds.username,
        "--hcx-fingerprint", sandbox.hcx_fingerprint("source"), *CLOUDS, "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    plan = load_plan(target.read_text())
    assert sorted(vm for w in plan.waves for vm in w.vms) == ["old-batch", "shop-web-01", "shop-web-02"]
    assert {plan.effective(w.name).migration.type for w in plan.waves if "old-batch" in w.vms} == {"cold"}
    shop = [w for w in plan.waves if "shop-web-01" in w.vms]
    assert "shop-web-02" in shop[0].vms  # the Shop folder travels together
    assert creds.password not in out + err + target.read_text()


def test_an_unpinned_self_signed_manager_is_refused_with_its_fingerprint(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = sandbox.world.credentials["source"]
    monkeypatch.setenv("CONDUCTOR_HCX_PASSWORD", creds.password)
    code, out, err = run(
        capsys, "plan", "draft", "--from-hcx", "--hcx-url", sandbox.hcx_url("source"), *CLOUDS
    )
    assert code == 3
    line = one_line_error(err)
    assert "not trusted" in line
    assert "--hcx-fingerprint" in line
    assert creds.password not in out + err


def test_a_wrong_password_is_one_line_without_the_password(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_HCX_PASSWORD", "Wr0ng-Passw0rd-Value")
    code, out, err = run(
        capsys, "plan", "draft", "--from-hcx", "--hcx-url", sandbox.hcx_url("source"),
        "--hcx-fingerprint", sandbox.hcx_fingerprint("source"), *CLOUDS,
    )  # fmt: skip
    assert code == 3
    assert "refused the credentials" in one_line_error(err)
    assert "Wr0ng-Passw0rd-Value" not in out + err


def test_an_unreachable_manager_and_a_missing_password_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONDUCTOR_HCX_PASSWORD", raising=False)
    code, _, err = run(capsys, "plan", "draft", "--from-hcx", "--hcx-url", "https://127.0.0.1:9", *CLOUDS)
    assert code == 2  # tests run without a terminal: no prompt, a clear line instead
    assert "CONDUCTOR_HCX_PASSWORD" in one_line_error(err)
    monkeypatch.setenv("CONDUCTOR_HCX_PASSWORD", "anything")
    code, _, err = run(
        capsys,
        "plan",
        "draft",
        "--from-hcx",
        "--hcx-url",
        "https://127.0.0.1:9",
        "--hcx-fingerprint",
        "ab" * 32,
        *CLOUDS,
    )
    assert code == 3
    assert "cannot be reached" in one_line_error(err)
