"""Read an RVTools export (the vInfo and vNetwork sheets) into the planner's `InventoryVm` records.

RVTools writes either one workbook (xlsx) or one CSV per sheet (`RVTools_tabvInfo.csv`,
`RVTools_tabvNetwork.csv`). Column names vary by version: the workbook uses display names (`VM`,
`In Use MiB`; before 3.9 `In Use MB`), while 4.4+ CSV exports use internal names (`vInfoVMName`,
`vInfoInUse`). Every known spelling is accepted, compared without case, spaces or punctuation. A
missing required column, an unknown `--app-column` or an unreadable file raises `RvtoolsError` with
one line that names the file, the sheet and the column, and says what to do.

Templates and SRM placeholders are skipped (HCX does not migrate them). Networks come from vNetwork
(one row per adapter); without that sheet, from vInfo's `Network #1…#8` columns.

xlsx is read with openpyxl (the maintained pure-Python xlsx reader; already a dev dependency) in
read-only mode; CSV with the standard library, sniffing the delimiter (RVTools follows the Windows
list separator, so `;` is common) and trying UTF-8 then Windows-1252. This module depends on
`shared.planner` for the record type and on nothing of the CLI.
"""

from __future__ import annotations

import csv
import difflib
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conductor.errors import RvtoolsError
from shared.planner import InventoryVm

__all__ = ["RvtoolsInventory", "read_rvtools"]

# Canonical field -> accepted spellings. The first spelling is the one error messages show.
VINFO = {
    "vm": ("VM", "vInfoVMName", "VM Name"),
    "power": ("Powerstate", "vInfoPowerstate", "Power State"),
    "cpus": ("CPUs", "vInfoCPUs", "Num CPU"),
    "memory": ("Memory", "vInfoMemory", "Memory MiB", "Memory MB"),
    "provisioned": ("Provisioned MiB", "vInfoProvisioned", "Provisioned MB"),
    "in_use": ("In Use MiB", "vInfoInUse", "In Use MB"),
    "template": ("Template", "vInfoTemplate"),
    "srm": ("SRM Placeholder", "vInfoSRMPlaceHolder"),
    "folder": ("Folder", "vInfoFolder"),
    "annotation": ("Annotation", "vInfoNotes", "Notes"),
    "cluster": ("Cluster", "vInfoCluster"),
    "os": ("OS according to the configuration file", "vInfoOS", "OS"),
    "os_tools": ("OS according to the VMware Tools", "vInfoOSTools"),
    "ip": ("Primary IP Address", "vInfoPrimaryIPAddress"),
    **{f"net{n}": (f"Network #{n}", f"vInfoNetwork{n}") for n in range(1, 9)},
}
VINFO_REQUIRED = ("vm", "power", "memory", "provisioned", "in_use")
VNETWORK = {
    "vm": ("VM", "vNetworkVMName", "VM Name"),
    "network": ("Network", "vNetworkName", "Network Name"),
    "adapter": ("Adapter", "vNetworkAdapter"),
    "mac": ("Mac Address", "vNetworkMacAddress"),
    "ipv4": ("IPv4 Address", "vNetworkIpv4Address", "IP Address"),
    "template": ("Template", "vNetworkTemplate"),
}
VNETWORK_REQUIRED = ("vm", "network")
# Custom-attribute columns that name the application, tried in order when --app-column is not given.
APP_COLUMNS = ("Application", "App", "AppName", "Application Name")
POWER: dict[str, Literal["on", "off", "suspended"]] = {
    "poweredon": "on",
    "poweredoff": "off",
    "suspended": "suspended",
}
TRUE = {"true", "yes", "1", "wahr", "vrai"}


@dataclass
class RvtoolsInventory:
    vms: list[InventoryVm]
    source: str
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    warnings: list[str] = field(default_factory=list)


def _key(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


class _Sheet:
    """One sheet's rows with canonical column lookup."""

    def __init__(self, where: str, header: Sequence[object], rows: Sequence[Sequence[object]]) -> None:
        self.where, self.header = where, [str(h).strip() if h is not None else "" for h in header]
        self.index = {_key(h): i for i, h in reversed(list(enumerate(self.header))) if h}
        self.rows = rows

    def resolve(self, spec: dict[str, tuple[str, ...]], required: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for name, spellings in spec.items():
            for spelling in spellings:
                if _key(spelling) in self.index:
                    found[name] = self.index[_key(spelling)]
                    break
        missing = [spec[name][0] for name in required if name not in found]
        if missing:
            raise RvtoolsError(
                f"{self.where}: missing column {missing[0]!r}{self._near(missing[0])}",
                "export the sheet from RVTools with its default columns, or rename the column to "
                f"{missing[0]!r}",
            )
        return found

    def column(self, name: str, flag: str) -> int:
        if _key(name) not in self.index:
            raise RvtoolsError(
                f"{self.where}: unknown column {name!r}{self._near(name)}",
                f"pass one of the sheet's columns to {flag}",
            )
        return self.index[_key(name)]

    def _near(self, name: str) -> str:
        close = difflib.get_close_matches(name, [h for h in self.header if h], n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def records(self, columns: dict[str, int]) -> Iterator[tuple[int, dict[str, object]]]:
        for number, row in enumerate(self.rows, start=2):  # row 1 is the header
            if not any(c not in (None, "") for c in row):
                continue
            yield number, {k: (row[i] if i < len(row) else None) for k, i in columns.items()}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: object, where: str) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):  # thousands separators, as Excel writes them
        text = re.sub(r"[.,]", "", text)
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise RvtoolsError(f"{where}: {value!r} is not a number", "fix or clear the cell") from None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        raise RvtoolsError(f"{path}: unknown text encoding", "save the CSV as UTF-8")
    if "\x00" in text:
        raise RvtoolsError(f"{path}: not a CSV file (binary content)", "pass an RVTools xlsx or CSV export")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(text.splitlines(), dialect))
    if not rows:
        raise RvtoolsError(f"{path}: the file is empty", "export the sheet again from RVTools")
    return rows[0], rows[1:]


def _csv_sheet(path: Path, label: str) -> _Sheet:
    header, rows = _read_csv(path)
    return _Sheet(f"{path.name} ({label})", header, list(rows))


def _xlsx_sheets(path: Path) -> dict[str, _Sheet]:
    import openpyxl  # deferred: only xlsx users pay for the import

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RvtoolsError(
            f"{path}: cannot read the workbook ({type(exc).__name__})",
            "pass the xlsx RVTools wrote, or its per-sheet CSV exports",
        ) from None
    sheets: dict[str, _Sheet] = {}
    try:
        for ws in workbook.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            if rows:
                sheets[_key(ws.title).removeprefix("tab")] = _Sheet(
                    f"{path.name} sheet {ws.title}", rows[0], rows[1:]
                )
    finally:
        workbook.close()
    return sheets


def _locate(path: Path) -> tuple[_Sheet, _Sheet | None]:
    """The vInfo sheet and, when present, the vNetwork sheet of an xlsx, a CSV or a CSV folder."""
    if not path.exists():
        raise RvtoolsError(f"{path}: no such file or directory", "check the path to the RVTools export")
    if path.is_dir():
        csvs = {_key(p.stem): p for p in path.glob("*.csv")}
        info = next((p for k, p in csvs.items() if k.endswith("vinfo")), None)
        if info is None:
            raise RvtoolsError(f"{path}: no vInfo CSV in this folder", "export vInfo from RVTools as CSV")
        path = info
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = _xlsx_sheets(path)
        if "vinfo" not in sheets:
            raise RvtoolsError(
                f"{path}: no vInfo sheet (found: {', '.join(sorted(sheets)) or 'none'})",
                "export with RVTools' 'Export all to Excel'",
            )
        return sheets["vinfo"], sheets.get("vnetwork")
    if path.suffix.lower() not in (".csv", ".txt"):
        raise RvtoolsError(f"{path}: not an RVTools export (.xlsx or .csv)", "pass the xlsx or the vInfo CSV")
    siblings = [p for p in path.parent.glob("*.csv") if _key(p.stem).endswith("vnetwork")]
    paired = [p for p in siblings if _key(p.stem).replace("vnetwork", "vinfo") == _key(path.stem)]
    candidates = paired or sorted(siblings)
    network = _csv_sheet(candidates[0], "vNetwork") if candidates else None
    return _csv_sheet(path, "vInfo"), network


def read_rvtools(path: str | Path, app_column: str | None = None) -> RvtoolsInventory:
    """Every migratable VM of the export, with its networks, sizes and grouping hints."""
    path = Path(path)
    info, network = _locate(path)
    cols = info.resolve(VINFO, VINFO_REQUIRED)
    app_at: int | None = None
    if app_column is not None:
        app_at = info.column(app_column, "--app-column")
    else:
        app_at = next((info.index[_key(c)] for c in APP_COLUMNS if _key(c) in info.index), None)
    if app_at is not None:
        cols["app"] = app_at

    nets: dict[str, list[str]] = {}
    ips: dict[str, list[str]] = {}
    if network is not None:
        ncols = network.resolve(VNETWORK, VNETWORK_REQUIRED)
        for _, rec in network.records(ncols):
            name, net = _text(rec["vm"]), _text(rec.get("network"))
            if name and net and net not in nets.setdefault(name, []):
                nets[name].append(net)
            ip = _text(rec.get("ipv4"))
            if name and ip:
                ips.setdefault(name, []).extend(a.strip() for a in re.split(r"[,;\s]+", ip) if a.strip())

    out = RvtoolsInventory(vms=[], source=str(path))
    for number, rec in info.records(cols):
        where = f"{info.where} row {number}"
        name = _text(rec["vm"])
        if name is None:
            raise RvtoolsError(f"{where}: the VM name is empty", "fix or delete the row")
        if (_text(rec.get("template")) or "").lower() in TRUE:
            out.skipped["template"] += 1
            continue
        if (_text(rec.get("srm")) or "").lower() in TRUE:
            out.skipped["SRM placeholder"] += 1
            continue
        power = POWER.get(_key(rec["power"]))
        if power is None:
            raise RvtoolsError(
                f"{where}: Powerstate {rec['power']!r} is not poweredOn, poweredOff or suspended",
                "fix the cell",
            )
        provisioned = _number(rec["provisioned"], f"{where} column {VINFO['provisioned'][0]!r}") or 0.0
        in_use = _number(rec["in_use"], f"{where} column {VINFO['in_use'][0]!r}")
        if in_use is None:  # unknown usage (e.g. an inaccessible VM): assume it is all used
            out.warnings.append(f"{name}: no In Use figure; planning with its provisioned size")
            in_use = provisioned
        vinfo_nets = [n for k in range(1, 9) if (n := _text(rec.get(f"net{k}")))]
        vm_ips = ips.get(name) or [a for a in [_text(rec.get("ip"))] if a]
        out.vms.append(
            InventoryVm(
                name=name,
                power_state=power,
                cpus=int(_number(rec.get("cpus"), f"{where} column 'CPUs'") or 0),
                memory_mib=_number(rec["memory"], f"{where} column 'Memory'") or 0.0,
                provisioned_mib=provisioned,
                used_mib=in_use,
                folder=_text(rec.get("folder")),
                app=_text(rec.get("app")),
                networks=tuple(nets.get(name) or vinfo_nets),
                ip_addresses=tuple(vm_ips),
                cluster=_text(rec.get("cluster")),
                guest_os=_text(rec.get("os")) or _text(rec.get("os_tools")),
                annotation=_text(rec.get("annotation")),
            )
        )
    duplicates = sorted(n for n, c in Counter(v.name for v in out.vms).items() if c > 1)
    if duplicates:
        raise RvtoolsError(
            f"{info.where}: VM names appear more than once: {', '.join(duplicates[:5])}",
            "export one vCenter at a time, or rename the duplicates",
        )
    if not out.vms:
        raise RvtoolsError(f"{info.where}: no VMs to migrate (all rows empty, templates or placeholders)")
    return out
