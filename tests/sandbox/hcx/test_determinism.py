"""Determinism: the same scenario and seed give the same HCX events, however often clients poll."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sandbox.hcx
from sandbox.core.world import Event

from .conftest import Env

SCENARIO: dict[str, Any] = {
    "source": {
        "vm_generators": [
            {"count": 40, "name_prefix": "gen", "networks": ["web", "db"], "powered_off_ratio": 0.2}
        ],
    },
    "service_meshes": [{"name": "mesh-a", "ix_appliances": 2}, {"name": "mesh-b"}],
    "faults": {
        "vm_failures": [
            {"vm": "gen-003", "phase": "transfer"},
            {"vm": "gen-007", "phase": "switchover"},
        ]
    },
}


def drive(env: Env, step_minutes: float | None) -> list[Event]:
    items = []
    for i, vm in enumerate(v for v in env.source.vms.values() if v.name.startswith("gen")):
        kind = "ColdMigration" if vm.power_state == "off" else ("vSphereReplication", "RAV", "vMotion")[i % 3]
        window = (
            {"schedule": {"startTime": env.ms(hours=6), "expiryTime": env.ms(hours=30)}} if i % 4 == 0 else {}
        )
        mesh = ("mesh-a", "mesh-b")[i % 2] if kind != "vMotion" else "mesh-a"
        items.append(env.item(vm.name, kind, switchoverParams=window, serviceMeshId=mesh))
    env.start(*items)
    if step_minutes is None:
        env.advance(hours=36)
        env.source.introspect()
    else:
        elapsed = 0.0
        while elapsed < 36 * 60:
            env.advance(minutes=step_minutes)
            elapsed += step_minutes
            env.source.query_migrations({"options": {"compat": 2.1}})
    return [e for e in env.world.events if e.source.startswith("hcx:")]


def test_the_same_seed_gives_the_same_events_whatever_the_polling_cadence(
    make_env: Callable[..., Env],
) -> None:
    once = drive(make_env(**SCENARIO), None)
    polled = drive(make_env(**SCENARIO), 17)
    assert len(once) > 200
    assert once == polled
    kinds = {e.kind for e in once}
    assert {"migration_started", "migration_state", "delta_sync", "vm_arrived"} <= kinds


def test_a_different_seed_gives_different_ids(make_env: Callable[..., Env]) -> None:
    a = drive(make_env(**SCENARIO), None)
    b = drive(make_env(**SCENARIO, seed=12), None)
    assert [e.kind for e in a][:5] == [e.kind for e in b][:5]
    assert a != b


def test_the_package_surface_is_what_the_sandbox_uses() -> None:
    assert sandbox.hcx.__all__ == sorted(sandbox.hcx.__all__)
    assert {"HcxBackend", "create_app"} <= set(sandbox.hcx.__all__)


def test_introspection_is_json_and_reports_migrations_starts_and_peaks(env: Env) -> None:
    import json

    [mid] = env.start(env.item("app01", tags=["t1"]))
    env.advance(hours=1)
    data = json.loads(json.dumps(env.source.introspect()))
    [m] = data["migrations"]
    assert (m["id"], m["vm"], m["type"], m["state"], m["mesh"], m["tags"]) == (
        mid,
        "app01",
        "Bulk",
        "MIGRATION_COMPLETE",
        "mesh-1",
        ["t1"],
    )
    assert m["bytesTransferred"] == m["bytesTotal"] > 50 * 2**30
    assert data["starts"] == {"app01": 1}
    assert data["concurrency"]["peaks"]["concurrent_migrations"] == 1
    assert data["pairings"][0]["remote"] == "destination"
