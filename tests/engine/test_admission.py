"""Admission control as a pure function: limits, meshes, serial vMotion, order."""

from __future__ import annotations

from shared.engine.admission import capacity, choose_starts, mesh_loads
from shared.engine.state import QUEUED, READY, WAITING
from tests.engine import synthetic as syn


def ready_engine(vms: int, *, meshes: int = 1, limit: int | None = None, kind: str = "bulk", sizes=None):  # type: ignore[no-untyped-def]
    limits = {"max_concurrent_migrations": limit} if limit else {}
    plan = syn.plan(vms, {"type": kind}, limits=limits)
    e = syn.engine(plan, syn.prepared(plan, meshes=meshes, sizes=sizes))
    syn.validate_all(e)
    return e


def test_the_plans_limit_caps_migrations_in_flight() -> None:
    e = ready_engine(10, limit=3)
    assert capacity(e.spec, e.state) == 3
    assert len(syn.start_all(e)) == 3
    assert capacity(e.spec, e.state) == 0
    assert syn.start_all(e) == []


def test_the_largest_vms_start_first_and_retries_before_them() -> None:
    e = ready_engine(5, limit=2, sizes=[10, 50, 30, 40, 20])
    picks = choose_starts(e.spec, e.state)
    assert [e.spec.vms[p.vm].name for p in picks] == ["vm-001", "vm-003"]
    e.state.vms[0].attempts = 1  # vm-000 failed once and waits to retry
    picks = choose_starts(e.spec, e.state)
    assert [e.spec.vms[p.vm].name for p in picks] == ["vm-000", "vm-001"]


def test_migrations_spread_across_meshes_and_none_exceeds_200() -> None:
    e = ready_engine(450, meshes=2)
    assert e.spec.admission_limit == 300  # 2 x 200 per mesh, but 300 per manager
    started = []
    while batch := syn.start_all(e):
        started += batch
    assert len(started) == 300
    assert mesh_loads(e.spec, e.state) == [150, 150]


def test_one_mesh_never_holds_more_than_200() -> None:
    e = ready_engine(250, meshes=1)
    assert e.spec.admission_limit == 200
    while syn.start_all(e):
        pass
    assert mesh_loads(e.spec, e.state) == [200]


def test_vmotion_runs_one_vm_at_a_time() -> None:
    e = ready_engine(4, kind="vmotion")
    assert len(syn.start_all(e)) == 1
    assert syn.start_all(e) == []
    first = next(vm for vm in e.state.vms if vm.state == QUEUED)
    first.state = WAITING  # still in flight
    assert capacity(e.spec, e.state) == 0
    first.state = "m"
    assert capacity(e.spec, e.state) == 1
    assert sum(1 for vm in e.state.vms if vm.state == READY) == 3


def test_a_wave_without_meshes_lets_hcx_choose() -> None:
    plan = syn.plan(2)
    e = syn.engine(plan, syn.prepared(plan, meshes=0))
    syn.validate_all(e)
    assert [p.mesh for p in choose_starts(e.spec, e.state)] == [-1, -1]
