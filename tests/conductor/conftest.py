"""Fixtures for the CLI's tests: RVTools exports built fresh per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
