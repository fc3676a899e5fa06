"""Estimator arithmetic against cases computed by hand (the figures in anchors.md §5 among them)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared import estimate
from shared.estimate import (
    BandwidthModel,
    VmLoad,
    Window,
    estimate_plan,
    estimate_vm,
    estimate_wave,
    transfer_lower_bound_s,
)

# A link fast enough that the IX appliance (1.6 Gbps) is the only shared bottleneck.
FAST = BandwidthModel(link_gbps=100, efficiency=1.0)


def test_100_gb_alone_takes_800_seconds_at_the_per_migration_ceiling() -> None:
    vm = estimate_vm(VmLoad(name="app01", used_gb=100), FAST)
    assert vm.transfer_end_s == pytest.approx(800)  # 100e9 B × 8 / 1e9 bit/s = 13.3 min
    assert vm.lower_bound_s == pytest.approx(800)
    # Bulk switches over right after its transfer: 5 minutes, no churn to sync.
    assert vm.switchover_start_s == pytest.approx(800)
    assert vm.switchover_end_s == pytest.approx(800 + 300)
    assert vm.duration_s == pytest.approx(1100)
    assert vm.bytes == 100 * 10**9


def test_one_terabyte_takes_at_least_2_2_hours() -> None:
    vm = estimate_vm(VmLoad(name="db", used_gb=1000), FAST)
    assert vm.lower_bound_s == pytest.approx(8000)  # 2.22 h


def test_50_tb_over_one_mesh_is_bounded_by_the_ix_appliance() -> None:
    # 500 × 100 GB: 200 in flight at a time share 1.6 Gbps; the IX is saturated throughout.
    vms = [VmLoad(name=f"vm{i:03}", used_gb=100) for i in range(500)]
    wave = estimate_wave(vms, FAST)
    assert wave.lower_bound_s == pytest.approx(250_000)  # 50e12 × 8 / 1.6e9 = 69.4 h
    assert wave.transfer_s == pytest.approx(250_000)
    ends = sorted({round(v.transfer_end_s) for v in wave.vms})
    assert ends == [100_000, 200_000, 250_000]  # three rounds: 200, 200, 100 VMs


def test_four_meshes_on_a_10_gbps_link_at_80_percent_are_bounded_by_their_ix_appliances() -> None:
    bw = BandwidthModel(link_gbps=10, efficiency=0.8, meshes=4)
    assert bw.aggregate_gbps == pytest.approx(6.4)  # min(10 × 0.8, 4 × 1.6)
    assert "4 IX" in bw.bottleneck
    assert "link" in BandwidthModel(link_gbps=10, efficiency=0.8, meshes=6).bottleneck
    vms = [VmLoad(name=f"vm{i:03}", used_gb=100) for i in range(500)]
    assert transfer_lower_bound_s(vms, bw) == pytest.approx(62_500)  # 17.4 h


def test_a_small_vm_finishing_first_leaves_the_large_one_at_the_per_migration_ceiling() -> None:
    # Both at 0.8 Gbps until the 10 GB VM finishes at 100 s (80 Gbit); the 100 GB VM has 720 Gbit
    # left, moved at 1 Gbps: 820 s. The lower bound is the large VM alone: 800 s.
    wave = estimate_wave([VmLoad(name="big", used_gb=100), VmLoad(name="small", used_gb=10)], FAST)
    by_name = {v.name: v for v in wave.vms}
    assert by_name["small"].transfer_end_s == pytest.approx(100)
    assert by_name["big"].transfer_end_s == pytest.approx(820)
    assert wave.lower_bound_s == pytest.approx(800)
    assert wave.duration_s == pytest.approx(820 + 300)


def test_the_plan_concurrency_limit_queues_migrations() -> None:
    bw = BandwidthModel(link_gbps=100, efficiency=1.0, meshes=2, plan_concurrency=1)
    assert bw.concurrency == 1
    wave = estimate_wave([VmLoad(name="a", used_gb=100), VmLoad(name="b", used_gb=100)], bw)
    starts = sorted(v.transfer_start_s for v in wave.vms)
    assert starts == pytest.approx([0, 800])
    assert wave.transfer_s == pytest.approx(1600)


def test_concurrency_is_the_lowest_of_plan_mesh_and_manager_limits() -> None:
    assert BandwidthModel(meshes=1).concurrency == 200
    assert BandwidthModel(meshes=2).concurrency == 300
    assert BandwidthModel(meshes=4, manager_concurrency=600).concurrency == 600
    assert BandwidthModel(meshes=4, plan_concurrency=50).concurrency == 50


def test_rav_switchovers_run_one_at_a_time_per_ix_appliance() -> None:
    vms = [VmLoad(name=f"rav{i}", used_gb=16, migration_type="rav") for i in range(3)]
    # Three transfers share 1.6 Gbps: 3 × 128 Gbit / 1.6 Gbps = 240 s, then 10-minute switchovers.
    one_ix = estimate_wave(vms, FAST)
    assert one_ix.transfer_s == pytest.approx(240)
    assert sorted(v.switchover_start_s for v in one_ix.vms) == pytest.approx([240, 840, 1440])
    assert one_ix.duration_s == pytest.approx(240 + 1800)
    assert one_ix.switchover_phase_s == pytest.approx(1800)
    two_ix = estimate_wave(vms, BandwidthModel(link_gbps=100, efficiency=1.0, ix_per_mesh=2))
    # Two IX appliances: 3.2 Gbps shared, each transfer capped at 1 Gbps: 128 s; two lanes.
    assert two_ix.transfer_s == pytest.approx(128)
    assert two_ix.duration_s == pytest.approx(128 + 1200)


def test_rav_switchover_moves_memory_at_the_per_migration_ceiling() -> None:
    vm = estimate_vm(VmLoad(name="r", used_gb=0, memory_gb=10, migration_type="rav"), FAST)
    assert vm.switchover_end_s - vm.switchover_start_s == pytest.approx(600 + 80)


def test_vmotions_run_serially_and_carry_memory() -> None:
    vms = [
        VmLoad(name="v1", used_gb=8, memory_gb=2, migration_type="vmotion"),
        VmLoad(name="v2", used_gb=8, memory_gb=2, migration_type="vmotion"),
    ]
    wave = estimate_wave(vms, FAST)
    # Each moves 10 GB at 1 Gbps (80 s) then holds its turn 1 minute: 140 s each, one after the other.
    spans = sorted((v.transfer_start_s, v.switchover_end_s) for v in wave.vms)
    assert spans == [pytest.approx((0, 140)), pytest.approx((140, 280))]
    assert wave.lower_bound_s == pytest.approx(160)  # serial data: 20 GB at 1 Gbps


def test_vmotion_ignores_the_switchover_window() -> None:
    vm = estimate_vm(VmLoad(name="v", used_gb=8, migration_type="vmotion"), FAST, Window(opens_after_s=36000))
    assert vm.switchover_end_s == pytest.approx(64 + 60)


def test_waiting_for_the_window_delta_syncs_every_two_hours() -> None:
    vm = estimate_vm(
        VmLoad(name="app", used_gb=100, churn_gb_per_hour=1.0), FAST, Window(opens_after_s=10 * 3600)
    )
    # Transfer ends at 800 s; it waits 35 200 s = 4 full RPOs (28 800 s) + 6 400 s.
    assert vm.delta_syncs == 4
    final_gb = 6400 / 3600  # churn since the last sync
    assert vm.delta_bytes == pytest.approx((4 * 2 + final_gb) * 1e9, rel=1e-9)
    assert vm.switchover_start_s == pytest.approx(36000)
    assert vm.switchover_end_s == pytest.approx(36000 + 300 + final_gb * 8)


def test_immediate_switchover_syncs_the_churn_written_during_the_transfer() -> None:
    vm = estimate_vm(VmLoad(name="app", used_gb=100, churn_gb_per_hour=3.6), FAST)
    # 800 s of transfer at 1 MB/s of churn = 0.8 GB final sync, 6.4 s at 1 Gbps.
    assert vm.delta_syncs == 0
    assert vm.delta_bytes == pytest.approx(0.8e9)
    assert vm.switchover_end_s == pytest.approx(800 + 300 + 6.4)


def test_a_window_opening_before_transfers_end_is_reported() -> None:
    wave = estimate_wave([VmLoad(name="slow", used_gb=100)], FAST, Window(opens_after_s=60))
    assert any("still transferring" in w for w in wave.warnings)
    assert wave.vms[0].switchover_start_s == pytest.approx(800)


def test_a_window_without_a_time_opens_when_the_last_transfer_ends() -> None:
    wave = estimate_wave([VmLoad(name="a", used_gb=100), VmLoad(name="b", used_gb=10)], FAST, Window())
    assert all(v.switchover_start_s == pytest.approx(820) for v in wave.vms)
    assert wave.switchover_phase_s == pytest.approx(300, abs=1)


def test_churn_beyond_the_link_is_warned_about() -> None:
    bw = BandwidthModel(link_gbps=1, efficiency=0.5)
    wave = estimate_wave([VmLoad(name="hot", used_gb=1, churn_gb_per_hour=500)], bw)
    assert any("RPO" in w for w in wave.warnings)


def test_cold_migrations_share_the_link_then_power_on() -> None:
    vms = [VmLoad(name=f"c{i}", used_gb=8, migration_type="cold") for i in range(2)]
    wave = estimate_wave(vms, FAST, Window(opens_after_s=36000))  # Cold cannot be scheduled
    # 2 × 64 Gbit share 1.6 Gbps: 80 s, then 2 minutes to power on at the destination.
    assert wave.duration_s == pytest.approx(80 + 120)


def test_a_plan_runs_its_waves_one_after_another() -> None:
    waves = [[VmLoad(name="a", used_gb=100)], [VmLoad(name="b", used_gb=100), VmLoad(name="c", used_gb=100)]]
    plan = estimate_plan(waves, FAST)
    assert plan.duration_s == pytest.approx(1100 + 1000 + 300)
    assert plan.lower_bound_s == pytest.approx(800 + 1000)
    assert plan.bytes == 300 * 10**9
    with pytest.raises(ValueError, match="windows"):
        estimate_plan(waves, FAST, windows=[None])


def test_an_empty_wave_takes_no_time() -> None:
    wave = estimate_wave([], FAST)
    assert (wave.duration_s, wave.lower_bound_s, wave.vms) == (0.0, 0.0, [])


def test_bad_bandwidth_input_names_the_field() -> None:
    with pytest.raises(ValidationError, match="efficiency"):
        BandwidthModel(efficiency=1.5)
    with pytest.raises(ValidationError, match="used_gb"):
        VmLoad(name="x", used_gb=-1)


def test_the_module_surface_is_listed() -> None:
    assert set(estimate.__all__) == {
        "CAPPED_TYPES",
        "BandwidthModel",
        "MigrationType",
        "PlanEstimate",
        "VmEstimate",
        "VmLoad",
        "WaveEstimate",
        "Window",
        "estimate_plan",
        "estimate_vm",
        "estimate_wave",
        "transfer_lower_bound_s",
    }


vm_loads = st.lists(
    st.builds(
        VmLoad,
        name=st.text(alphabet="abcdefgh", min_size=1, max_size=6),
        used_gb=st.floats(min_value=0, max_value=5000),
        memory_gb=st.floats(min_value=0, max_value=512),
        churn_gb_per_hour=st.floats(min_value=0, max_value=50),
        migration_type=st.sampled_from(["bulk", "rav", "vmotion", "cold"]),
    ),
    max_size=30,
)
bandwidths = st.builds(
    BandwidthModel,
    link_gbps=st.floats(min_value=0.1, max_value=100),
    efficiency=st.floats(min_value=0.1, max_value=1),
    meshes=st.integers(min_value=1, max_value=4),
    ix_per_mesh=st.integers(min_value=1, max_value=3),
    plan_concurrency=st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)


@settings(max_examples=150, deadline=None)
@given(vms=vm_loads, bw=bandwidths)
def test_the_expected_time_never_beats_the_lower_bound(vms: list[VmLoad], bw: BandwidthModel) -> None:
    wave = estimate_wave(vms, bw)
    assert wave.transfer_s >= wave.lower_bound_s * (1 - 1e-9) - 1e-6
    assert len(wave.vms) == len(vms)
    for vm in wave.vms:
        assert vm.transfer_start_s <= vm.transfer_end_s <= vm.switchover_start_s <= vm.switchover_end_s
        assert vm.duration_s >= vm.lower_bound_s * (1 - 1e-9) - 1e-6


@settings(max_examples=100, deadline=None)
@given(vms=vm_loads, bw=bandwidths)
def test_no_more_parallel_transfers_overlap_than_the_cap_and_vmotions_never_overlap(
    vms: list[VmLoad], bw: BandwidthModel
) -> None:
    wave = estimate_wave(vms, bw)
    pooled = [
        v
        for v in wave.vms
        if v.migration_type in ("bulk", "rav", "cold") and v.transfer_end_s > v.transfer_start_s
    ]
    for probe in pooled:
        t = probe.transfer_start_s
        overlapping = sum(1 for v in pooled if v.transfer_start_s <= t < v.transfer_end_s)
        assert overlapping <= bw.concurrency
    serial = sorted(
        (v.transfer_start_s, v.switchover_end_s) for v in wave.vms if v.migration_type == "vmotion"
    )
    for (_, end_a), (start_b, _) in itertools.pairwise(serial):
        assert start_b >= end_a - 1e-6
