"""Identifiers an HCX Manager hands out, reproducible from the scenario seed.

Some ids must be known to BOTH managers without either asking the other (the destination's endpoint
id appears in the source's site pairing, a mesh has one id on both sides), so they are pure functions
of the world and the side. Ids a manager mints at run time (jobs, migrations, stretches) come from an
`IdSource`, one seeded stream per manager, so the same requests in the same order give the same ids.

Formats follow hcx-api.md §10.7: endpoint ids are `yyyyMMddHHmmssSSS-<uuid>`, meshes
`servicemesh-<uuid>`; jobs, tasks and migrations are bare UUIDs (inferred: hcx-api.md §10.7).
This module depends on the standard library and `sandbox.core.world` only.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

    from sandbox.core.world import Side, World

__all__ = ["IdSource", "appliance_id", "endpoint_id", "mesh_id", "other_side", "uuid_from", "vcenter_uuid"]


def other_side(side: Side) -> Side:
    return "destination" if side == "source" else "source"


def uuid_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def endpoint_id(world: World, side: Side) -> str:
    """The HCX endpoint id of `side`'s manager: a 17-digit timestamp, then a UUID."""
    stamp = world.scenario.start.strftime("%Y%m%d%H%M%S") + "000"
    return f"{stamp}-{uuid_from(world.rng(f'hcx:endpoint:{side}'))}"


def vcenter_uuid(world: World, side: Side) -> str:
    """The instance UUID of `side`'s vCenter (HCX calls it `vcuuid`/`resourceId`)."""
    return uuid_from(world.rng(f"vcenter:{side}"))


def mesh_id(world: World, name: str) -> str:
    # One id on both managers: the mesh is one object seen from its two ends.
    return f"servicemesh-{uuid_from(world.rng(f'hcx:mesh:{name}'))}"


def appliance_id(world: World, side: Side, mesh: str, kind: str, index: int) -> str:
    return uuid_from(world.rng(f"hcx:appliance:{side}:{mesh}:{kind}:{index}"))


class IdSource:
    """The ids one manager mints, in the order it mints them."""

    def __init__(self, world: World, side: Side) -> None:
        self._rng = world.rng(f"hcx:ids:{side}")

    def uuid(self) -> str:
        return uuid_from(self._rng)
