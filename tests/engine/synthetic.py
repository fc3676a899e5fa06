"""Plans and prepared contexts made up in memory, for the engine's pure unit tests (no HCX here).

End-to-end tests build their `PreparedContext` from the sandbox instead (tests/engine/world.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.engine import HcxTarget, Observation, Tuning, WaveEngine
from shared.engine.observe import COMPLETE, LOST
from shared.engine.state import QUEUED, SWITCHOVER, TRANSFER, WAITING
from shared.hcx import NetworkTarget, PlacementRef, SiteRef
from shared.plan import MigrationPlan, parse_plan
from shared.prepared import CloudSide, MeshRef, PreparedContext, PreparedVm, PreparedWave, SitePairingRef

SUB = "00000000-0000-4000-8000-000000000001"
SOURCE = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.AVS/privateClouds/pc-a"
DESTINATION = f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.AVS/privateClouds/pc-b"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GB = 10**9


def plan(vms: int, migration: dict[str, Any] | None = None, **overrides: Any) -> MigrationPlan:
    data: dict[str, Any] = {
        "id": "unit-plan",
        "source": SOURCE,
        "destination": DESTINATION,
        "network_extensions": [
            {"source_network": "web", "gateway_cidr": "10.0.1.1/24", "destination_gateway": "T1"}
        ],
        "migration": {"type": "bulk", **(migration or {})},
        "waves": [{"name": "wave-a", "vms": [f"vm-{n:03d}" for n in range(vms)]}],
    }
    data.update(overrides)
    return parse_plan(data)


def prepared(
    the_plan: MigrationPlan,
    *,
    meshes: int = 1,
    sizes: list[int] | None = None,
    powered_off: set[str] = frozenset(),
) -> PreparedContext:
    names = the_plan.waves[0].vms
    sizes = sizes or [40 + n for n in range(len(names))]
    return PreparedContext(
        plan_id=the_plan.id,
        digest=the_plan.digest(),
        prepared_at=NOW,
        source=CloudSide(cloud_id=SOURCE, name="pc-a", region="westeurope", hcx_url="https://hcx-a"),
        destination=CloudSide(
            cloud_id=DESTINATION, name="pc-b", region="westeurope", hcx_url="https://hcx-b"
        ),
        pairing=SitePairingRef(
            source=SiteRef(endpoint_id="ep-a", resource_id="vc-a"),
            destination=SiteRef(endpoint_id="ep-b", resource_id="vc-b"),
        ),
        meshes=[MeshRef(service_mesh_id=f"mesh-{k}", name=f"mesh-{k}") for k in range(meshes)],
        waves=[
            PreparedWave(
                index=0,
                name="wave-a",
                type=the_plan.effective(0).migration.type,
                compute=PlacementRef(id="resgroup-1", name="Pool", type="ResourcePool"),
                datastore=PlacementRef(id="datastore-1", name="vsan", type="Datastore"),
                networks=[
                    NetworkTarget(
                        source_id="dvportgroup-1",
                        source_name="web",
                        destination_id="/infra/segments/L2E_web",
                        destination_name="L2E_web",
                    )
                ],
                vms=[
                    PreparedVm(
                        name=name,
                        entity_id=f"vm-id-{k}",
                        disk_bytes=sizes[k] * GB,
                        used_bytes=sizes[k] * GB // 2,
                        power_state="poweredOff" if name in powered_off else "poweredOn",
                        networks=["web"],
                    )
                    for k, name in enumerate(names)
                ],
            )
        ],
    )


def engine(
    the_plan: MigrationPlan, context: PreparedContext, *, tuning: dict[str, Any] | None = None, **extra: Any
) -> WaveEngine:
    data = {
        "plan": the_plan.model_dump(mode="json"),
        "prepared": context.model_dump(mode="json"),
        "wave": 0,
        "run": "run1",
        "tuning": Tuning.model_validate(tuning or {}).model_dump(mode="json"),
        **extra,
    }
    return WaveEngine.load(data)


def target() -> HcxTarget:
    return HcxTarget(hcx_url="https://hcx-a", cloud_id=SOURCE)


def validate_all(e: WaveEngine, now: datetime = NOW, refuse: dict[str, str] | None = None) -> None:
    refuse = refuse or {}
    while batches := e.validation_batches():
        for batch in batches:
            results = []
            for i in batch:
                name = e.spec.vms[i].name
                results.append([name not in refuse, [refuse[name]] if name in refuse else [], []])
            e.on_validated(batch, results, now)


def start_all(e: WaveEngine, now: datetime = NOW) -> list[str]:
    """Start what admission allows; each start succeeds with id `<vm>#<attempt>`. Returns the ids."""
    ids = []
    for batch in e.start_batches(now):
        results = []
        for item in batch:
            attempt = item.tag.rsplit(":", 1)[1]
            mid = f"{item.spec.vm_name}#{attempt}"
            ids.append(mid)
            results.append({"migration_id": mid, "group": "g1", "errors": [], "warnings": []})
        e.on_started(batch, results, now)
    return ids


def obs(mid: str, phase: str, done: int = 0, total: int = 100, error: str = "") -> Observation:
    return Observation(migration_id=mid, phase=phase, done=done, total=total, error=error, state=phase)


def poll(e: WaveEngine, seen: list[Observation], now: datetime = NOW) -> None:
    """What one query answers, as the query activity shapes it."""
    e.on_polled([o.migration_id for o in seen], [o.row() for o in seen], now)


PHASES = (QUEUED, TRANSFER, WAITING, SWITCHOVER, COMPLETE, LOST)
