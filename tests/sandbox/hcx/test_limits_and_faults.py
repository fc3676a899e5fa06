"""HCX limits (300 per manager, 200 per mesh, queueing), shared bandwidth, and injected VM faults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from sandbox.hcx.exceptions import ItemsRejected

from .conftest import Env

GIB = 2**30
GBPS = 1e9 / 8
MANY: dict[str, Any] = {
    "source": {
        "vms": [],
        "vm_generators": [
            {
                "count": 350,
                "name_prefix": "vm",
                "disk_gb": [4, 4],
                "used_ratio": [0.5, 0.5],
                "networks": ["web"],
            }
        ],
    },
    "service_meshes": [{"name": "mesh-a"}, {"name": "mesh-b"}],
}


def names(count: int) -> list[str]:
    return [f"vm-{i:03d}" for i in range(1, count + 1)]


def states(env: Env) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in env.source.introspect()["migrations"]:
        out[m["state"]] = out.get(m["state"], 0) + 1
    return out


def test_a_mesh_runs_at_most_200_bulk_migrations_and_queues_the_rest(make_env: Callable[..., Env]) -> None:
    env = make_env(**MANY)
    ids = env.start(*(env.item(n, serviceMeshId="mesh-a") for n in names(250)))
    assert states(env) == {"TRANSFER_IN_PROGRESS": 200, "QUEUED": 50}
    assert env.world.stats.snapshot()["peaks"]["hcx:source:mesh:mesh-a:concurrent_migrations"] == 200
    # The first queued request is the first admitted when a slot frees (arrival order).
    env.advance(hours=12)
    first_queued, last = env.migration(ids[200]), env.migration(ids[-1])
    assert datetime.fromisoformat(first_queued["transferStart"]) <= datetime.fromisoformat(
        last["transferStart"]
    )
    assert states(env) == {"MIGRATION_COMPLETE": 250}
    assert env.source.introspect()["concurrency"]["peaks"]["mesh:mesh-a:concurrent_migrations"] == 200


def test_a_manager_runs_at_most_300_bulk_and_rav_migrations(make_env: Callable[..., Env]) -> None:
    env = make_env(**MANY)
    items = [
        env.item(n, "RAV" if i % 3 == 0 else "vSphereReplication", serviceMeshId=("mesh-a", "mesh-b")[i % 2])
        for i, n in enumerate(names(350))
    ]
    env.start(*items)
    assert states(env) == {"TRANSFER_IN_PROGRESS": 300, "QUEUED": 50}
    peaks = env.world.stats.snapshot()["peaks"]
    assert peaks["hcx:source:concurrent_migrations"] == 300
    assert peaks["hcx:source:mesh:mesh-a:concurrent_migrations"] == 150


def test_vmotion_and_cold_do_not_take_bulk_slots(make_env: Callable[..., Env]) -> None:
    env = make_env(**MANY)
    env.start(*(env.item(n, serviceMeshId="mesh-a") for n in names(200)))
    [vmotion] = env.start(env.item("vm-201", "vMotion", serviceMeshId="mesh-a"))
    assert env.state(vmotion) == "TRANSFER_IN_PROGRESS"


def test_flows_behind_one_appliance_share_1_6_gbps(env: Env) -> None:
    a, b, c = env.start(env.item("app01"), env.item("app02"), env.item("db01"))
    env.advance(seconds=10)
    moved = [env.migration(m)["bytesTransferred"] for m in (a, b, c)]
    assert moved == pytest.approx([10 * 1.6 / 3 * GBPS] * 3, rel=1e-6)


def test_the_link_is_shared_by_everything_in_flight(make_env: Callable[..., Env]) -> None:
    env = make_env(
        connectivity={"link_gbps": 1, "efficiency": 0.8},
        service_meshes=[{"name": "mesh-a", "ix_appliances": 2}],
    )
    a, b = env.start(env.item("app01"), env.item("app02"))
    env.advance(seconds=10)
    assert [env.migration(m)["appliance"] for m in (a, b)] == ["mesh-a-IX-I1", "mesh-a-IX-I2"]
    assert [env.migration(m)["bytesTransferred"] for m in (a, b)] == pytest.approx([4 * GBPS, 4 * GBPS])


def test_a_transfer_failure_fails_halfway_and_a_seeded_retry_resumes(make_env: Callable[..., Env]) -> None:
    env = make_env(
        faults={"vm_failures": [{"vm": "app01", "phase": "transfer", "message": "disk read error"}]}
    )
    [first] = env.start(env.item("app01"))
    env.advance(hours=1)
    failed = env.migration(first)
    assert failed["state"] == "TRANSFER_FAILED"
    assert failed["errors"] == ["disk read error"]
    assert failed["bytesTransferred"] == pytest.approx(25 * GIB)
    # Without longRecovery a retry starts from nothing; with it, from the 25 GiB already there.
    [plain] = env.start(env.item("app01"))
    assert env.migration(plain)["seededBytes"] == 0
    env.source.force_cancel_migrations({"items": [{"migrationId": plain}]})
    env.advance(minutes=1)
    [seeded] = env.start(
        env.item("app01", transferParams={"transferProfile": [{"option": "longRecovery", "value": True}]})
    )
    env.advance(hours=1)
    m = env.migration(seeded)
    assert m["state"] == "MIGRATION_COMPLETE"
    assert m["seededBytes"] == pytest.approx(25 * GIB)
    transfer = (
        datetime.fromisoformat(m["transferEnd"]) - datetime.fromisoformat(m["transferStart"])
    ).total_seconds()
    assert transfer == pytest.approx(25 * GIB / GBPS)
    assert m["attempt"] == 3
    assert env.world.stats.snapshot()["counters"]["migration_starts"]["app01"] == 3


def test_a_switchover_failure_powers_the_source_back_on_and_a_retry_succeeds(
    make_env: Callable[..., Env],
) -> None:
    env = make_env(
        faults={"vm_failures": [{"vm": "app01", "phase": "switchover", "message": "guest shutdown hung"}]}
    )
    [first] = env.start(env.item("app01"))
    env.advance(hours=1)
    assert env.migration(first)["state"] == "MIGRATION_FAILED"
    assert env.source.vm_by_name("app01").power_state == "on"  # type: ignore[union-attr]
    assert env.destination.vm_by_name("app01") is None
    [retry] = env.start(env.item("app01"))
    env.advance(hours=1)
    assert env.state(retry) == "MIGRATION_COMPLETE"


def test_a_start_failure_refuses_the_item_the_listed_number_of_times(make_env: Callable[..., Env]) -> None:
    env = make_env(faults={"vm_failures": [{"vm": "app01", "phase": "start", "times": 2, "message": "busy"}]})
    for _ in range(2):
        with pytest.raises(ItemsRejected) as caught:
            env.start(env.item("app01"))
        assert caught.value.items[0]["errors"] == [{"code": "START_FAILED", "message": "busy"}]
    assert len(env.start(env.item("app01"))) == 1
    # Refused starts are not starts.
    assert env.world.stats.snapshot()["counters"]["migration_starts"]["app01"] == 1


def test_a_start_with_one_bad_item_starts_the_good_ones(env: Env) -> None:
    bad = env.item("app02", networkParams={"networkMappings": []})
    results = env.source.start_migrations({"items": [env.item("app01"), bad]}, "tester")
    assert results[0].migration is not None
    assert results[1].migration is None
    assert results[1].errors[0]["code"] == "MISSING_NETWORK_MAPPING"
