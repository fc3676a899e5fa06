"""Fixtures for the CLI's tests: RVTools exports built fresh per test, and the app on the local runtime
against the sandbox for the commands that talk to it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_conductor_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads CONDUCTOR_* and HCX_CA_BUNDLE; a developer's shell must not steer the tests."""
    for name in list(os.environ):
        if name.startswith("CONDUCTOR_") or name == "HCX_CA_BUNDLE":
            monkeypatch.delenv(name)


@pytest.fixture
def rvtools_csv_dir(tmp_path: Path) -> Path:
    """A copy of the checked-in per-sheet CSV export (display-name headers, `;` separated)."""
    target = tmp_path / "export"
    target.mkdir()
    for name in ("RVTools_tabvInfo.csv", "RVTools_tabvNetwork.csv"):
        shutil.copy(FIXTURES / name, target / name)
    return target


@pytest.fixture
def rvtools_xlsx(tmp_path: Path) -> Path:
    """A small RVTools workbook with pre-3.9 headers (`Provisioned MB`, `In Use MB`) and vNetwork."""
    wb = openpyxl.Workbook()
    info = wb.active
    assert info is not None
    info.title = "vInfo"
    info.append(
        [
            "VM",
            "Powerstate",
            "Template",
            "CPUs",
            "Memory",
            "Provisioned MB",
            "In Use MB",
            "Folder",
            "Annotation",
            "Cluster",
            "OS according to the configuration file",
            "Network #1",
            "App",
        ]
    )
    info.append(
        ["web-01", "poweredOn", False, 2, 4096, 40960, 20480, "Shop", None, "C1", "Ubuntu", "Web", "shop"]
    )
    info.append(
        ["web-02", "poweredOn", False, 2, 4096, 40960, 10240, "Shop", None, "C1", "Ubuntu", "Web", "shop"]
    )
    info.append(
        ["db-01", "poweredOn", False, 8, 65536, 2097152, 1572864, "Shop", "db", "C1", "Windows", "Db", "shop"]
    )
    info.append([None] * 13)  # Excel often leaves blank rows at the end
    net = wb.create_sheet("vNetwork")
    net.append(
        ["VM", "Powerstate", "NIC label", "Adapter", "Network", "Connected", "Mac Address", "IPv4 Address"]
    )
    net.append(
        ["web-01", "poweredOn", "Network adapter 1", "Vmxnet3", "Web", True, "00:50:56:aa:00:01", "10.0.1.1"]
    )
    net.append(
        ["web-02", "poweredOn", "Network adapter 1", "Vmxnet3", "Web", True, "00:50:56:aa:00:02", "10.0.1.2"]
    )
    net.append(
        ["db-01", "poweredOn", "Network adapter 1", "Vmxnet3", "Db", True, "00:50:56:aa:00:03", "10.0.2.1"]
    )
    wb.create_sheet("vHost").append(["Host", "# CPU"])
    path = tmp_path / "RVTools_export_all.xlsx"
    wb.save(path)
    return path


# --- the app on the local runtime against the sandbox, for the commands that talk to it ---------------

REPO = Path(__file__).resolve().parents[2]
KEY = "conductor-test-function-key-0123456789"


@dataclass
class AppStack:
    """One world: the sandbox and the app's runtime on one virtual clock, with a function key."""

    sandbox: Any
    runtime: Any
    clock: Any
    reports: Path

    @property
    def endpoint(self) -> str:
        return self.runtime.base_url

    def settle(self, timeout: float = 120.0) -> None:
        assert self.runtime.wait_for_idle(timeout=timeout), "the runtime did not go idle"

    def view(self, plan_id: str) -> dict[str, Any]:
        return dict(self.runtime_get(f"api/migrations/{plan_id}").json())

    def runtime_get(self, path: str) -> Any:
        import httpx

        return httpx.get(f"{self.endpoint}/{path}", headers={"x-functions-key": KEY}, timeout=60)

    def wait_for(self, plan_id: str, done: Any, timeout: float = 180.0) -> dict[str, Any]:
        """Let the runtime work until `done(view)` holds; the view then."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.view(plan_id)
            if done(view):
                return view
            assert time.monotonic() < deadline, f"{plan_id} never got there: {view.get('phase')}"
            time.sleep(0.05)


@pytest.fixture
def app_stack(tmp_path: Path) -> Callable[..., AbstractContextManager[AppStack]]:
    """`with app_stack("same-region") as stack:` — a fresh sandbox and runtime; `auto_advance` jumps
    the virtual clock to the next timer whenever the runtime is idle."""
    import function_app
    from runtime import LocalRuntime, VirtualClock
    from sandbox import Sandbox, load_scenario

    counter = iter(range(100))

    @contextmanager
    def build(
        name: str,
        auto_advance: bool = True,
        destination: dict[str, Any] | None = None,
        faults: dict[str, Any] | None = None,
    ) -> Iterator[AppStack]:
        scenario = load_scenario(REPO / "examples" / "scenarios" / f"{name}.yaml")
        # Variants of the example: fields of the destination cloud or of the fault plan replaced.
        if destination:
            scenario = scenario.model_copy(
                update={"destination": scenario.destination.model_copy(update=destination)}
            )
        if faults:
            scenario = scenario.model_copy(update={"faults": scenario.faults.model_copy(update=faults)})
        clock = VirtualClock(scenario.start, auto_advance=auto_advance)
        n = next(counter)
        reports = tmp_path / f"reports-{n}"
        with Sandbox(scenario, clock=clock, state_dir=tmp_path / f"sandbox-{n}") as sb:
            settings = {**sb.app_settings(), "LOCAL_FUNCTION_KEYS": KEY, "REPORT_DIR": str(reports)}
            os.environ.pop("AzureWebJobsStorage", None)
            with LocalRuntime(
                function_app.app, tmp_path / f"state-{n}.sqlite", clock=clock, settings=settings, workers=4
            ) as rt:
                yield AppStack(sb, rt, clock, reports)

    return build
