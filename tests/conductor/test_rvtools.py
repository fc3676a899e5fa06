"""RVTools import from the CSV and xlsx forms, with the column variants real versions write."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conductor import rvtools
from conductor.errors import RvtoolsError
from conductor.rvtools import read_rvtools
from shared.planner import InventoryVm, plan_waves

FIXTURES = Path(__file__).parent / "fixtures"
MIB = 1024 * 1024


def by_name(path: Path, **kw: str) -> dict[str, InventoryVm]:
    return {vm.name: vm for vm in read_rvtools(path, **kw).vms}


def rewrite_header(src: Path, dst: Path, old: str, new: str) -> Path:
    rows = list(csv.reader(src.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    rows[0] = [new if h == old else h for h in rows[0]]
    with dst.open("w", newline="") as f:
        csv.writer(f, delimiter=";").writerows(rows)
    return dst


def test_the_vinfo_csv_reads_sizes_power_groups_and_networks_from_vnetwork(rvtools_csv_dir: Path) -> None:
    inventory = read_rvtools(rvtools_csv_dir / "RVTools_tabvInfo.csv")
    vms = {vm.name: vm for vm in inventory.vms}
    assert sorted(vms) == ["batch-01", "crm-db-01", "crm-web-01", "hr-app-01"]
    assert inventory.skipped == {"template": 1}
    db = vms["crm-db-01"]
    assert (db.cpus, db.memory_mib) == (8, 32768)
    assert db.provisioned_mib == 1_048_576  # "1.048.576": Excel's thousands separators
    assert db.used_mib == 786_432
    assert db.networks == ("VLAN200-Db", "VLAN300-Backup")  # one vNetwork row per adapter
    assert db.ip_addresses == ("10.1.200.21", "10.1.30.21")
    assert (db.app, db.folder, db.cluster) == ("crm", "CRM", "Cluster-1")
    assert db.guest_os == "Microsoft Windows Server 2022 (64-bit)"
    assert db.annotation is not None
    assert vms["hr-app-01"].power_state == "off"
    assert vms["hr-app-01"].app is None  # an empty custom attribute is no group


def test_a_vm_without_an_in_use_figure_is_planned_at_its_provisioned_size(rvtools_csv_dir: Path) -> None:
    inventory = read_rvtools(rvtools_csv_dir)
    batch = next(vm for vm in inventory.vms if vm.name == "batch-01")
    assert batch.power_state == "suspended"
    assert batch.used_mib == batch.provisioned_mib == 20480
    assert any("batch-01" in w for w in inventory.warnings)


def test_a_folder_of_rvtools_4_4_csvs_with_internal_column_names() -> None:
    vms = by_name(FIXTURES / "rvtools-4.4-csv")
    assert sorted(vms) == ["app-01", "app-02"]  # the SRM placeholder is skipped
    assert vms["app-02"].networks == ("Prod-A", "Prod-B")  # from vInfo's Network #n without vNetwork
    assert vms["app-01"].used_mib == 30720
    assert vms["app-01"].ip_addresses == ("10.2.0.5",)
    assert vms["app-01"].guest_os == "Debian GNU/Linux 12 (64-bit)"


def test_an_xlsx_workbook_with_pre_3_9_mb_headers(rvtools_xlsx: Path) -> None:
    vms = by_name(rvtools_xlsx)
    assert sorted(vms) == ["db-01", "web-01", "web-02"]
    assert vms["db-01"].used_mib == 1_572_864
    assert vms["db-01"].networks == ("Db",)
    assert vms["web-01"].app == "shop"  # the App custom attribute
    assert vms["web-01"].ip_addresses == ("10.0.1.1",)


def test_the_app_column_can_be_named(rvtools_xlsx: Path) -> None:
    vms = by_name(rvtools_xlsx, app_column="Cluster")
    assert {vm.app for vm in vms.values()} == {"C1"}


def test_an_unknown_app_column_is_one_clear_error(rvtools_xlsx: Path) -> None:
    with pytest.raises(RvtoolsError, match=r"unknown column 'Aplication'") as exc:
        read_rvtools(rvtools_xlsx, app_column="Aplication")
    assert "--app-column" in exc.value.line()


def test_a_missing_required_column_names_it_and_suggests_the_near_one(tmp_path: Path) -> None:
    path = rewrite_header(
        FIXTURES / "RVTools_tabvInfo.csv", tmp_path / "vinfo.csv", "In Use MiB", "In-Use MiBs"
    )
    with pytest.raises(RvtoolsError) as exc:
        read_rvtools(path)
    line = exc.value.line()
    assert "missing column 'In Use MiB'" in line
    assert "did you mean 'In-Use MiBs'" in line
    assert "\n" not in line


def test_a_vnetwork_sheet_without_a_network_column_is_refused(tmp_path: Path) -> None:
    info = tmp_path / "RVTools_tabvInfo.csv"
    info.write_bytes((FIXTURES / "RVTools_tabvInfo.csv").read_bytes())
    rewrite_header(
        FIXTURES / "RVTools_tabvNetwork.csv", tmp_path / "RVTools_tabvNetwork.csv", "Network", "Net"
    )
    with pytest.raises(RvtoolsError, match=r"vNetwork.*missing column 'Network'"):
        read_rvtools(info)


def test_a_corrupt_workbook_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(RvtoolsError, match="cannot read the workbook"):
        read_rvtools(path)


def test_a_workbook_without_vinfo_lists_the_sheets_it_has(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "vHost"
    ws.append(["Host"])
    wb.save(tmp_path / "hosts.xlsx")
    with pytest.raises(RvtoolsError, match=r"no vInfo sheet \(found: vhost\)"):
        read_rvtools(tmp_path / "hosts.xlsx")


def test_missing_files_and_wrong_kinds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RvtoolsError, match="no such file"):
        read_rvtools(tmp_path / "nope.xlsx")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.7")
    with pytest.raises(RvtoolsError, match=r"not an RVTools export"):
        read_rvtools(tmp_path / "notes.pdf")
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01\x02VM")
    with pytest.raises(RvtoolsError, match="binary"):
        read_rvtools(tmp_path / "binary.csv")


def test_a_bad_number_names_the_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "vinfo.csv"
    path.write_text("VM,Powerstate,Memory,Provisioned MiB,In Use MiB\nweb,poweredOn,lots,100,50\n")
    with pytest.raises(RvtoolsError, match=r"row 2 column 'Memory': 'lots' is not a number"):
        read_rvtools(path)


def test_an_unknown_power_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vinfo.csv"
    path.write_text("VM,Powerstate,Memory,Provisioned MiB,In Use MiB\nweb,sleeping,1,100,50\n")
    with pytest.raises(RvtoolsError, match="Powerstate 'sleeping'"):
        read_rvtools(path)


def test_duplicate_vm_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "vinfo.csv"
    path.write_text(
        "VM,Powerstate,Memory,Provisioned MiB,In Use MiB\nweb,poweredOn,1,1,1\nweb,poweredOn,1,1,1\n"
    )
    with pytest.raises(RvtoolsError, match="more than once: web"):
        read_rvtools(path)


def test_windows_1252_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "vinfo.csv"
    path.write_bytes(
        "VM;Powerstate;Memory;Provisioned MiB;In Use MiB;Annotation\nweb;poweredOn;1;1;1;Zürich\n".encode(
            "cp1252"
        )
    )
    assert read_rvtools(path).vms[0].annotation == "Zürich"


def test_the_imported_inventory_plans_into_waves(rvtools_csv_dir: Path) -> None:
    plan = plan_waves(read_rvtools(rvtools_csv_dir).vms)
    waves = {v.name: w.name for w in plan.waves for v in w.vms}
    assert waves["crm-web-01"] == waves["crm-db-01"]  # same application, 768 GiB fits a wave
    assert len(waves) == 4


def test_the_module_surface_is_listed() -> None:
    assert set(rvtools.__all__) == {"RvtoolsInventory", "read_rvtools"}
