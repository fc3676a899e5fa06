"""Plan contradictions (each with its JSON pointer), and the checks against the clouds' facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.cloud import CloudFacts
from shared.plan import PlanError, check_against, load_plan, parse_plan
from tests.shared.plan_data import DESTINATION, PLAN_YAML, SOURCE, full_plan, minimal_plan

Mutation = Callable[[dict[str, Any]], None]
WINDOW = {"start": "2026-01-10T22:00:00Z", "end": "2026-01-11T04:00:00Z"}


def errors_after(mutate: Mutation, base: Callable[[], dict[str, Any]] = full_plan) -> list[dict[str, str]]:
    data = base()
    mutate(data)
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    return caught.value.errors


def test_the_documented_example_is_coherent() -> None:
    assert load_plan(PLAN_YAML).id == "east-to-west-2026"


CONTRADICTIONS: list[tuple[str, Mutation, str, str]] = [
    (
        "a VM named in two waves",
        lambda d: d["waves"][1].update(vms=["app02"]),
        "/waves/1/vms/0",
        "VM 'app02' is already in wave 'wave-1' (/waves/0/vms/1)",
    ),
    (
        "a VM named twice in one wave",
        lambda d: d["waves"][0].update(vms=["app01", "app01"]),
        "/waves/0/vms/1",
        "already in this wave",
    ),
    (
        "two waves with one name",
        lambda d: d["waves"][2].update(name="wave-1"),
        "/waves/2/name",
        "wave name 'wave-1' is already used by /waves/0",
    ),
    (
        "a default mapping to an unknown network",
        lambda d: d["migration"]["network_mappings"].append({"source": "VLAN400", "destination": "nowhere"}),
        "/migration/network_mappings/1/destination",
        "neither extended by the plan",
    ),
    (
        "a wave mapping to an unknown network",
        lambda d: d["waves"][2]["migration"].update(
            network_mappings=[{"source": "VLAN9", "destination": "seg-x"}]
        ),
        "/waves/2/migration/network_mappings/0/destination",
        "'seg-x' is neither extended",
    ),
    (
        "a network mapped twice",
        lambda d: d["migration"]["network_mappings"].append({"source": "VLAN300", "destination": "VLAN100"}),
        "/migration/network_mappings/1/source",
        "mapped more than once",
    ),
    (
        "a window on a vMotion wave",
        lambda d: d["waves"][1]["migration"].update(switchover_window=WINDOW),
        "/waves/1/migration/switchover_window",
        "vmotion switchover cannot be scheduled",
    ),
    (
        "a vMotion wave inheriting the default window",
        lambda d: d["waves"][1]["migration"].pop("switchover_window"),
        "/waves/1/migration/type",
        "inherits /migration/switchover_window; set `switchover_window: immediate`",
    ),
    (
        "a window on Cold by default",
        lambda d: d["migration"].update(type="cold", approval={"required": False}),
        "/migration/switchover_window",
        "cold switchover cannot be scheduled",
    ),
    (
        "approval-gated switchover on a vMotion wave",
        lambda d: d["waves"][1]["migration"].update(approval={"required": True}),
        "/waves/1/migration/approval/required",
        "cannot wait for approval",
    ),
    (
        "a Cold wave inheriting required approval",
        lambda d: d["waves"][2]["migration"].update(type="cold", switchover_window="immediate"),
        "/waves/2/migration/type",
        "inherits /migration/approval/required",
    ),
    (
        "a window that ends before it starts",
        lambda d: d["migration"]["switchover_window"].update(end="2026-01-10T21:00:00Z"),
        "/migration/switchover_window/end",
        "the window must end after it starts",
    ),
    (
        "a wave window that ends when it starts",
        lambda d: d["waves"][2]["migration"].update(
            switchover_window={"start": WINDOW["start"], "end": WINDOW["start"]}
        ),
        "/waves/2/migration/switchover_window/end",
        "the window must end after it starts",
    ),
    (
        "the same cloud as source and destination (ids compare case-insensitively)",
        lambda d: d.update(destination=SOURCE.upper().replace("SUBSCRIPTIONS", "subscriptions")),
        "/destination",
        "the same private cloud as the source",
    ),
    (
        "a cutover of a network that is not extended",
        lambda d: d["network_cutover"]["networks"].append("VLAN300"),
        "/network_cutover/networks/2",
        "'VLAN300' is not extended by the plan",
    ),
    (
        "a network cut over twice",
        lambda d: d["network_cutover"]["networks"].append("VLAN100"),
        "/network_cutover/networks/2",
        "listed twice",
    ),
    (
        "RAV with an explicit Advanced licence",
        lambda d: (d["hcx"].update(licence="advanced"), d["network_extensions"][0].update(mon=False)),
        "/waves/2/migration/type",
        "RAV needs HCX Enterprise",
    ),
    (
        "MON with an explicit Advanced licence",
        lambda d: (d["hcx"].update(licence="advanced"), d["waves"][2]["migration"].update(type="bulk")),
        "/network_extensions/0/mon",
        "MON needs HCX Enterprise",
    ),
    (
        "a network extended twice",
        lambda d: d["network_extensions"].append(dict(d["network_extensions"][0], mon=False)),
        "/network_extensions/2/source_network",
        "already extended by /network_extensions/0",
    ),
    (
        "a declared destination network that is also an extension",
        lambda d: d["destination_networks"].append("VLAN200"),
        "/destination_networks/1",
        "ambiguous",
    ),
    (
        "a wave that names and selects nothing",
        lambda d: d["waves"].append({"name": "wave-4", "selection": {"exclude": ["x"]}}),
        "/waves/3",
        "names no VMs and selects none",
    ),
    (
        "cluster and resource pool in one scope",
        lambda d: d["waves"][2]["migration"]["placement"].update(cluster="Cluster-2"),
        "/waves/2/migration/placement",
        "either cluster or resource_pool",
    ),
    (
        "two webhooks with one name",
        lambda d: d["notifications"]["webhooks"].append({"name": "ops", "url_setting": "OTHER_URL"}),
        "/notifications/webhooks/1/name",
        "used twice",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [c[1:] for c in CONTRADICTIONS],
    ids=[c[0] for c in CONTRADICTIONS],
)
def test_each_contradiction_is_reported_at_its_json_pointer(
    mutate: Mutation, path: str, message: str
) -> None:
    errors = errors_after(mutate)
    assert [e["path"] for e in errors] == [path], errors
    assert message in errors[0]["message"]


def test_every_contradiction_is_reported_at_once() -> None:
    def several(d: dict[str, Any]) -> None:
        d["waves"][1].update(vms=["app01"])
        d["network_cutover"]["networks"].append("VLAN999")
        d["destination"] = d["source"]

    assert [e["path"] for e in errors_after(several)] == [
        "/destination",
        "/waves/1/vms/0",
        "/network_cutover/networks/2",
    ]


def test_a_contradictory_plan_cannot_be_built_in_code_either() -> None:
    from pydantic import ValidationError

    from shared.plan import MigrationPlan

    data = minimal_plan()
    data["waves"].append({"name": "wave-2", "vms": ["app01"]})
    with pytest.raises(ValidationError, match="already in wave"):
        MigrationPlan.model_validate(data)


class TestEffective:
    def test_a_wave_without_overrides_gets_the_defaults(self) -> None:
        plan = load_plan(PLAN_YAML)
        wave = plan.effective("wave-1")
        assert wave.migration == plan.migration
        assert (wave.index, wave.vms, wave.max_failures, wave.max_attempts) == (0, ["app01", "app02"], 2, 3)

    def test_overrides_replace_only_the_fields_they_set(self) -> None:
        plan = load_plan(PLAN_YAML)
        wave = plan.effective(1).migration
        assert wave.type == "vmotion"
        assert wave.switchover_window is None  # "immediate" cleared the inherited window
        assert wave.approval.required is False
        assert wave.approval.on_timeout == "skip_wave"  # inherited beside the overridden field
        assert wave.placement.datastore == "vsanDatastore"

    def test_setting_a_resource_pool_replaces_the_inherited_cluster(self) -> None:
        placement = load_plan(PLAN_YAML).effective("wave-3").migration.placement
        assert (placement.cluster, placement.resource_pool, placement.folder) == (None, "RP-DB", "Migrated")

    def test_wave_mappings_merge_with_the_defaults_by_source(self) -> None:
        data = full_plan()
        data["destination_networks"].append("seg-new")
        data["waves"][0]["migration"] = {
            "network_mappings": [
                {"source": "VLAN300", "destination": "VLAN100"},
                {"source": "VLAN500", "destination": "seg-new"},
            ]
        }
        plan = parse_plan(data)
        mappings = [(m.source, m.destination) for m in plan.effective(0).migration.network_mappings]
        assert mappings == [("VLAN300", "VLAN100"), ("VLAN500", "seg-new")]
        assert [(m.source, m.destination) for m in plan.effective(2).migration.network_mappings] == [
            ("VLAN300", "seg-reip")
        ]

    def test_an_extended_network_maps_to_its_extension_unless_mapped_explicitly(self) -> None:
        plan = load_plan(PLAN_YAML)
        mapped = plan.mapping_for("wave-1", "VLAN100")
        assert mapped is not None
        assert mapped.destination == "VLAN100"
        explicit = plan.mapping_for("wave-1", "VLAN300")
        assert explicit is not None
        assert explicit.destination == "seg-reip"
        assert plan.mapping_for("wave-1", "VLAN999") is None

    def test_a_wave_may_override_its_failure_limit(self) -> None:
        data = full_plan()
        data["waves"][0]["max_failures"] = 0
        assert parse_plan(data).effective("wave-1").max_failures == 0

    def test_unknown_waves_are_a_key_error(self) -> None:
        plan = load_plan(PLAN_YAML)
        with pytest.raises(KeyError):
            plan.effective("wave-9")
        with pytest.raises(KeyError):
            plan.effective(3)


def test_required_services_follow_the_migration_types_and_extensions() -> None:
    plan = load_plan(PLAN_YAML)
    assert plan.required_services() == {
        "INTERCONNECT",
        "BULK_MIGRATION",
        "VMOTION",
        "RAV",
        "NETWORK_EXTENSION",
    }
    assert parse_plan(minimal_plan()).required_services() == {"INTERCONNECT", "BULK_MIGRATION"}


def test_admission_is_the_lowest_of_the_plans_the_meshes_and_the_managers_limit() -> None:
    plan = load_plan(PLAN_YAML)  # max_concurrent_migrations: 100
    assert plan.admission_limit(service_meshes=1) == 100
    unbounded = parse_plan(minimal_plan())
    assert unbounded.admission_limit(service_meshes=1) == 200
    assert unbounded.admission_limit(service_meshes=3) == 300
    assert unbounded.admission_limit(service_meshes=3, manager_limit=600) == 600


def test_poll_cadence_follows_vm_size() -> None:
    poll = load_plan(PLAN_YAML).limits.poll
    assert [poll.interval_for(gb).total_seconds() for gb in (10, 49.9, 50, 1023, 1024, 5000)] == [
        60,
        60,
        300,
        300,
        900,
        900,
    ]


@pytest.mark.parametrize(
    ("mode", "regions", "expected"),
    [
        ("auto", ("eastus", "East US"), "interconnect"),
        ("auto", ("eastus", "westus"), "global_reach"),
        ("global_reach", ("eastus", "eastus"), "global_reach"),
    ],
)
def test_connectivity_auto_picks_by_region(mode: str, regions: tuple[str, str], expected: str) -> None:
    data = minimal_plan() | {"connectivity": {"mode": mode}}
    assert parse_plan(data).connectivity.resolve(*regions) == expected


def facts(side: str, **changes: Any) -> CloudFacts:
    values: dict[str, Any] = {
        "id": SOURCE if side == "source" else DESTINATION,
        "name": "pc-east" if side == "source" else "pc-west",
        "region": "eastus" if side == "source" else "westus",
        "generation": 1,
        "provisioning_state": "Succeeded",
        "hcx_url": f"https://hcx.{side}.example",
        "hcx_addon_offer": "VMware MaaS Cloud Provider (Enterprise)",
    }
    values.update(changes)
    return CloudFacts(**values)


class TestCheckAgainst:
    def test_a_coherent_plan_on_ready_gen1_clouds_has_no_findings(self) -> None:
        plan = load_plan(PLAN_YAML)
        assert (
            check_against(plan, facts("source"), facts("destination"), now=datetime(2026, 1, 5, tzinfo=UTC))
            == []
        )

    def test_mon_between_two_gen2_clouds_is_an_error_at_the_extension(self) -> None:
        plan = load_plan(PLAN_YAML)
        found = check_against(plan, facts("source", generation=2), facts("destination", generation=2))
        mon = [f for f in found if f.code == "MON_BETWEEN_GEN2"]
        assert [(f.severity, f.resource) for f in mon] == [("error", "/network_extensions/0/mon")]

    def test_mon_between_gen1_and_gen2_is_allowed(self) -> None:
        plan = load_plan(PLAN_YAML)
        found = check_against(plan, facts("source"), facts("destination", generation=2))
        assert "MON_BETWEEN_GEN2" not in {f.code for f in found}
        assert {f.code for f in found} == {"GEN2_CONNECTIVITY_EXTERNAL"}

    def test_rav_and_mon_on_an_advanced_addon_need_enterprise(self) -> None:
        plan = load_plan(PLAN_YAML)
        found = check_against(
            plan, facts("source", hcx_addon_offer="VMware MaaS Cloud Provider"), facts("destination")
        )
        [needs] = found
        assert needs.code == "HCX_ENTERPRISE_REQUIRED"
        assert needs.resource == SOURCE
        assert needs.details["uses"] == "/waves/2/migration/type, /network_extensions/0/mon"

    def test_a_missing_addon_is_a_finding_unless_the_plan_may_install_it(self) -> None:
        plan = load_plan(PLAN_YAML)
        found = check_against(plan, facts("source"), facts("destination", hcx_addon_offer=None))
        assert [(f.code, f.resource) for f in found] == [("HCX_ADDON_MISSING", DESTINATION)]
        data = full_plan()
        data["hcx"]["install_addon"] = True
        assert (
            check_against(parse_plan(data), facts("source"), facts("destination", hcx_addon_offer=None)) == []
        )

    def test_forced_interconnect_across_regions_is_an_error(self) -> None:
        data = full_plan() | {"connectivity": {"mode": "interconnect"}}
        [mismatch] = check_against(parse_plan(data), facts("source"), facts("destination"))
        assert (mismatch.code, mismatch.severity, mismatch.resource) == (
            "CONNECTIVITY_MODE_MISMATCH",
            "error",
            "/connectivity/mode",
        )

    def test_forced_global_reach_within_a_region_is_only_a_warning(self) -> None:
        data = full_plan() | {"connectivity": {"mode": "global_reach"}}
        [mismatch] = check_against(parse_plan(data), facts("source"), facts("destination", region="eastus"))
        assert (mismatch.code, mismatch.severity) == ("CONNECTIVITY_MODE_MISMATCH", "warning")

    def test_a_cloud_that_is_not_succeeded_is_reported(self) -> None:
        plan = load_plan(PLAN_YAML)
        [busy] = check_against(plan, facts("source", provisioning_state="Updating"), facts("destination"))
        assert (busy.code, busy.resource) == ("PRIVATE_CLOUD_NOT_READY", SOURCE)

    def test_a_window_that_has_ended_is_reported_when_the_time_is_given(self) -> None:
        plan = load_plan(PLAN_YAML)
        [passed] = check_against(
            plan, facts("source"), facts("destination"), now=datetime(2026, 2, 1, tzinfo=UTC)
        )
        assert (passed.code, passed.resource) == ("SWITCHOVER_WINDOW_PASSED", "/migration/switchover_window")
