"""Which source VMs each wave migrates: explicit names, folders and patterns, and what goes wrong."""

from __future__ import annotations

from shared.plan import VmRef, load_plan, parse_plan
from tests.shared.plan_data import PLAN_YAML, minimal_plan

INVENTORY = [
    VmRef("app01", "Apps"),
    VmRef("app02", "Apps"),
    VmRef("web-1", "Web"),
    VmRef("web-legacy", "Web"),
    VmRef("frontend", "Web"),
    VmRef("db-1", "Data"),
    VmRef("db-2", "Data"),
    VmRef("other", "Misc"),
]


def test_waves_get_their_explicit_vms_and_their_selections() -> None:
    assignment = load_plan(PLAN_YAML).assign_vms(INVENTORY)
    assert assignment.waves == {
        "wave-1": ["app01", "app02"],
        "wave-2": ["web-1", "frontend"],  # folder Web or web-*, minus the excluded web-legacy
        "wave-3": ["db-1", "db-2"],
    }
    assert assignment.findings == []


def test_an_explicit_name_wins_over_an_earlier_waves_selection() -> None:
    data = minimal_plan()
    data["waves"] = [
        {"name": "all-web", "selection": {"folders": ["Web"]}},
        {"name": "legacy", "vms": ["web-legacy"]},
    ]
    assignment = parse_plan(data).assign_vms(INVENTORY)
    assert assignment.waves == {"all-web": ["web-1", "frontend"], "legacy": ["web-legacy"]}
    assert assignment.findings == []


def test_a_vm_selected_by_two_waves_goes_to_the_first_with_a_warning() -> None:
    data = minimal_plan()
    data["waves"] = [
        {"name": "by-folder", "selection": {"folders": ["Data"]}},
        {"name": "by-pattern", "selection": {"name_patterns": ["db-2", "other"]}},
    ]
    assignment = parse_plan(data).assign_vms(INVENTORY)
    assert assignment.waves == {"by-folder": ["db-1", "db-2"], "by-pattern": ["other"]}
    [warning] = assignment.findings
    assert (warning.code, warning.severity, warning.resource) == (
        "VM_SELECTED_BY_SEVERAL_WAVES",
        "warning",
        "/waves/1/selection",
    )
    assert "'db-2'" in warning.message


def test_patterns_are_case_sensitive_globs() -> None:
    data = minimal_plan()
    data["waves"] = [{"name": "w", "selection": {"name_patterns": ["WEB-*", "db-?"]}}]
    assert parse_plan(data).assign_vms(INVENTORY).waves == {"w": ["db-1", "db-2"]}


def test_missing_and_ambiguous_names_are_errors_and_empty_waves_warnings() -> None:
    data = minimal_plan()
    data["waves"] = [
        {"name": "w1", "vms": ["app01", "ghost"]},
        {"name": "w2", "selection": {"name_patterns": ["nothing-*"]}},
    ]
    inventory = [*INVENTORY, VmRef("app01", "Elsewhere")]
    findings = parse_plan(data).assign_vms(inventory).findings
    assert [(f.code, f.severity, f.resource) for f in findings] == [
        ("VM_NOT_FOUND_AT_SOURCE", "error", "/waves/0/vms/1"),
        ("VM_NAME_AMBIGUOUS_AT_SOURCE", "error", "app01"),
        ("WAVE_EMPTY", "warning", "/waves/1"),
    ]
