"""Admission control: which VMs may start now, and on which service mesh.

HCX's own limits (anchors.md §1.5; hcx-api.md §8) and the plan's:

* Bulk, RAV and Cold migrations in flight never exceed `WaveSpec.admission_limit`, the lowest of the
  plan's `max_concurrent_migrations`, 200 per service mesh times the meshes, and 300 per HCX Manager
  (`MigrationPlan.admission_limit`). Cold is counted with them: HCX documents no Cold limit ("small
  scale"), and `shared.estimate` counts it the same way, so plans and runs agree (inferred).
* No mesh carries more than 200 of them; each start goes to the least loaded mesh (ties: plan order
  of the meshes), so migrations spread across meshes that pair the same sites.
* vMotion runs one VM at a time ("only serial HCX vMotion", anchors.md §1.1).

A VM counts as in flight from the moment its start is recorded until HCX reports its migration over
(queued and cancelling included: HCX still holds the slot). Retries go first, then the largest VMs
(the order `shared.estimate` assumes finishes a wave soonest). Pure functions of the spec and state;
this module depends on `shared.engine` only.
"""

from __future__ import annotations

from typing import NamedTuple

from shared.engine.spec import WaveSpec
from shared.engine.state import ACTIVE, READY, WaveState
from shared.plan import PER_SERVICE_MESH

__all__ = ["Admission", "capacity", "choose_starts", "mesh_loads"]


class Admission(NamedTuple):
    """One VM to start: its index in the wave and the mesh (index into `spec.meshes`, -1 = HCX picks)."""

    vm: int
    mesh: int


def in_flight(state: WaveState) -> int:
    return sum(1 for vm in state.vms if vm.state in ACTIVE)


def capacity(spec: WaveSpec, state: WaveState) -> int:
    """How many more migrations may start now."""
    limit = spec.admission_limit if spec.slotted else 1
    return max(0, limit - in_flight(state))


def mesh_loads(spec: WaveSpec, state: WaveState) -> list[int]:
    """Migrations in flight per mesh of the spec."""
    loads = [0] * len(spec.meshes)
    for vm in state.vms:
        if vm.state in ACTIVE and 0 <= vm.mesh < len(loads):
            loads[vm.mesh] += 1
    return loads


def choose_starts(spec: WaveSpec, state: WaveState, limit: int | None = None) -> list[Admission]:
    """The VMs to start now (at most `limit`), each with its mesh, within every admission limit."""
    free = capacity(spec, state)
    if limit is not None:
        free = min(free, limit)
    if free <= 0:
        return []
    ready = [i for i, vm in enumerate(state.vms) if vm.state == READY]
    ready.sort(key=lambda i: (state.vms[i].attempts == 0, -spec.vms[i].used_bytes, i))
    loads = mesh_loads(spec, state)
    chosen: list[Admission] = []
    for i in ready[:free]:
        if not loads:
            chosen.append(Admission(i, -1))
            continue
        mesh = min(range(len(loads)), key=lambda m: (loads[m], m))
        if spec.slotted and loads[mesh] >= PER_SERVICE_MESH:
            break  # every mesh is full
        loads[mesh] += 1
        chosen.append(Admission(i, mesh))
    return chosen
