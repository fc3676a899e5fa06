"""The wave planner: properties over generated inventories, and the grouping rules by example."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared import planner
from shared.estimate import BandwidthModel
from shared.planner import InventoryVm, PlannerError, PlannerOptions, plan_waves, wave_problems

GIB = 1024  # MiB


def vm(name: str, used_gib: float = 50, **kw: object) -> InventoryVm:
    return InventoryVm(name=name, used_mib=used_gib * GIB, memory_mib=4 * GIB, **kw)  # type: ignore[arg-type]


def wave_of(plan: planner.WavePlan) -> dict[str, str]:
    return {v.name: w.name for w in plan.waves for v in w.vms}


inventories = st.lists(
    st.builds(
        InventoryVm,
        name=st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=8),
        power_state=st.sampled_from(["on", "on", "on", "off"]),
        used_mib=st.floats(min_value=0, max_value=1_500_000),
        memory_mib=st.floats(min_value=0, max_value=65536),
        app=st.one_of(st.none(), st.sampled_from(["crm", "erp", "web", "hr"])),
        folder=st.one_of(st.none(), st.sampled_from(["Workloads", "Finance", "Shop"])),
        networks=st.lists(st.sampled_from(["net-a", "net-b", "net-c", "net-d"]), max_size=2).map(tuple),
        churn_gb_per_hour=st.one_of(st.none(), st.floats(min_value=0, max_value=12)),
    ),
    max_size=40,
    unique_by=lambda v: v.name,
)
option_sets = st.builds(
    PlannerOptions,
    bandwidth=st.builds(
        BandwidthModel,
        link_gbps=st.sampled_from([1.0, 10.0]),
        meshes=st.integers(min_value=1, max_value=2),
        plan_concurrency=st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
    ),
    migration_type=st.sampled_from(["bulk", "rav", "vmotion"]),
    switchover_window_hours=st.one_of(st.none(), st.sampled_from([0.5, 2.0, 4.0])),
    max_transfer_hours=st.one_of(st.none(), st.sampled_from([1.0, 8.0, 24.0])),
    max_wave_vms=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
    isolate_per_wave=st.integers(min_value=1, max_value=3),
    pilot_vms=st.integers(min_value=0, max_value=4),
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(inventory=inventories, options=option_sets)
def test_every_vm_lands_in_exactly_one_wave(inventory: list[InventoryVm], options: PlannerOptions) -> None:
    plan = plan_waves(inventory, options)
    placed = Counter(v.name for w in plan.waves for v in w.vms)
    assert placed == Counter(v.name for v in inventory)
    assert all(w.vms for w in plan.waves)


@PROPERTY
@given(inventory=inventories, options=option_sets)
def test_every_wave_respects_the_limits_unless_one_vm_alone_cannot(
    inventory: list[InventoryVm], options: PlannerOptions
) -> None:
    plan = plan_waves(inventory, options)
    for wave in plan.waves:
        capped = sum(1 for v in wave.vms if v.migration_type in ("bulk", "rav", "cold"))
        est = wave.estimate
        within = (
            capped <= options.bandwidth.concurrency
            and (options.max_wave_vms is None or len(wave.vms) <= options.max_wave_vms)
            and (
                options.switchover_window_hours is None
                or est.switchover_phase_s <= options.switchover_window_hours * 3600 + 1e-6
            )
            and (
                options.max_transfer_hours is None
                or est.transfer_s <= options.max_transfer_hours * 3600 + 1e-6
            )
        )
        if len(wave.vms) > 1:
            assert within, (wave.name, wave_problems(wave.vms, options))
            assert not wave.warnings
        elif not within:
            assert wave.warnings
            assert "alone" in wave.warnings[0]


@PROPERTY
@given(inventory=inventories, options=option_sets)
def test_application_groups_stay_together_when_they_fit(
    inventory: list[InventoryVm], options: PlannerOptions
) -> None:
    plan = plan_waves(inventory, options)
    # A group is an application's VMs of one migration type: a wave holds one type.
    members: dict[tuple[str, str], list[planner.PlannedVm]] = {}
    for wave in plan.waves:
        for v in wave.vms:
            if v.group and not v.isolated_because:
                members.setdefault((v.group, v.migration_type), []).append(v)
    where = wave_of(plan)
    for group, vms in members.items():
        if not wave_problems(vms, options):
            assert len({where[v.name] for v in vms}) == 1, group


@PROPERTY
@given(inventory=inventories, options=option_sets)
def test_each_wave_holds_one_migration_type(inventory: list[InventoryVm], options: PlannerOptions) -> None:
    for wave in plan_waves(inventory, options).waves:
        assert len({v.migration_type for v in wave.vms}) == 1, wave.name


@PROPERTY
@given(inventory=inventories, options=option_sets)
def test_large_and_write_heavy_vms_get_waves_of_their_own(
    inventory: list[InventoryVm], options: PlannerOptions
) -> None:
    plan = plan_waves(inventory, options)
    for wave in plan.waves:
        heavy = [v for v in wave.vms if v.isolated_because]
        if wave.kind == "isolated":
            assert heavy == wave.vms
            assert len(wave.vms) <= options.isolate_per_wave
        else:
            assert not heavy
    pilots = [w for w in plan.waves if w.kind == "pilot"]
    assert len(pilots) <= 1
    if pilots:
        assert plan.waves[0] is pilots[0]
        assert len(pilots[0].vms) <= options.pilot_vms


@settings(max_examples=25, deadline=None)
@given(inventory=inventories, seed=st.integers(min_value=0, max_value=1000))
def test_the_plan_does_not_depend_on_inventory_order(inventory: list[InventoryVm], seed: int) -> None:
    shuffled = list(inventory)
    random.Random(seed).shuffle(shuffled)
    assert wave_of(plan_waves(inventory)) == wave_of(plan_waves(shuffled))


def test_an_application_folder_groups_vms_but_a_generic_folder_does_not() -> None:
    inventory = [
        vm("fin-1", folder="Finance"),
        vm("fin-2", folder="/Finance"),
        vm("w1", folder="Workloads"),
        vm("w2", folder="Discovered virtual machine"),
    ]
    planned = {v.name: v for w in plan_waves(inventory).waves for v in w.vms}
    assert planned["fin-1"].group == "folder:Finance"
    assert planned["w1"].group is None
    assert planned["w2"].group is None
    assert planned["fin-2"].group == "folder:/Finance"


def test_the_app_tag_wins_over_the_folder() -> None:
    planned = plan_waves([vm("a", app="crm", folder="Finance")]).waves[0].vms[0]
    assert planned.group == "app:crm"


def test_networks_fill_waves_together() -> None:
    # Two VMs per wave at most: the two VMs of each network share a wave.
    inventory = [
        vm("a1", networks=("net-a",)),
        vm("b1", networks=("net-b",)),
        vm("a2", networks=("net-a",)),
        vm("b2", networks=("net-b",)),
    ]
    plan = plan_waves(inventory, PlannerOptions(max_wave_vms=2))
    assert sorted(tuple(w.networks) for w in plan.waves) == [("net-a",), ("net-b",)]


def test_a_group_too_large_for_one_wave_is_split_and_reported() -> None:
    inventory = [vm(f"erp-{i}", app="erp") for i in range(5)]
    plan = plan_waves(inventory, PlannerOptions(max_wave_vms=2))
    assert [len(w.vms) for w in plan.waves] == [2, 2, 1]
    assert any("split" in w and "app:erp" in w for w in plan.warnings)


def test_large_and_write_heavy_vms_are_isolated_after_the_others() -> None:
    inventory = [
        vm("db", used_gib=2000, app="erp"),
        vm("logger", churn_gb_per_hour=20, app="erp"),
        vm("app", app="erp"),
        vm("web", app="erp"),
    ]
    plan = plan_waves(inventory)
    assert [(w.kind, [v.name for v in w.vms]) for w in plan.waves] == [
        ("standard", ["app", "web"]),
        ("isolated", ["db"]),
        ("isolated", ["logger"]),
    ]
    reasons = {v.name: v.isolated_because for w in plan.waves for v in w.vms}
    assert reasons["db"] == "large"
    assert reasons["logger"] == "write-heavy"


def test_powered_off_vms_migrate_cold() -> None:
    plan = plan_waves([vm("off", power_state="off"), vm("on")], PlannerOptions(migration_type="rav"))
    types = {v.name: v.migration_type for w in plan.waves for v in w.vms}
    assert types == {"off": "cold", "on": "rav"}


def test_the_pilot_takes_the_smallest_whole_groups_first() -> None:
    inventory = [
        vm("big", used_gib=500),
        vm("tiny-1", used_gib=1, app="t"),
        vm("tiny-2", used_gib=1, app="t"),
    ]
    plan = plan_waves(inventory, PlannerOptions(pilot_vms=2))
    assert plan.waves[0].name == "wave-01-pilot"
    assert [v.name for v in plan.waves[0].vms] == ["tiny-1", "tiny-2"]


def test_a_pilot_with_no_group_small_enough_is_reported() -> None:
    plan = plan_waves([vm(f"erp-{i}", app="erp") for i in range(5)], PlannerOptions(pilot_vms=3))
    assert [w.kind for w in plan.waves] == ["standard"]
    assert any("no pilot wave" in w for w in plan.warnings)


def test_rav_switchovers_bound_the_wave_by_the_window() -> None:
    # Each RAV switchover takes 10 min (no memory, no churn) and they run one at a time on the one IX:
    # a 1 h 3 min window holds six.
    inventory = [InventoryVm(name=f"r{i:02}", used_mib=GIB, churn_gb_per_hour=0) for i in range(14)]
    plan = plan_waves(inventory, PlannerOptions(migration_type="rav", switchover_window_hours=1.05))
    assert [len(w.vms) for w in plan.waves] == [6, 6, 2]


def test_a_vm_that_cannot_fit_alone_gets_its_own_wave_with_a_warning() -> None:
    # 900 GiB at 1 Gbps takes about 2.1 h, beyond a 1 h transfer budget.
    plan = plan_waves([vm("huge", used_gib=900), vm("small")], PlannerOptions(max_transfer_hours=1))
    lonely = next(w for w in plan.waves if w.vms[0].name == "huge")
    assert len(lonely.vms) == 1
    assert "huge alone does not fit" in lonely.warnings[0]


def test_duplicate_vm_names_are_refused_by_name() -> None:
    with pytest.raises(PlannerError, match=r"duplicate VM names.*web"):
        plan_waves([vm("web"), vm("web"), vm("db")])


def test_bad_options_name_the_field() -> None:
    with pytest.raises(ValidationError, match="switchover_window_hours"):
        PlannerOptions(switchover_window_hours=0)


def test_the_module_surface_is_listed() -> None:
    assert set(planner.__all__) == {
        "InventoryVm",
        "PlannedVm",
        "PlannedWave",
        "PlannerError",
        "PlannerOptions",
        "WavePlan",
        "plan_waves",
        "wave_problems",
    }
