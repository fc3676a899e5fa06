"""What every part of one HCX Manager backend shares: world, side, ids, time line and lock.

Each resource family (sessions, pairing, mesh, extensions, inventory, migrations) is a mixin on top
of `Core`; `HcxBackend` composes them. Public methods are wrapped in `@operation`, which takes
`world.lock` and first brings every HCX backend of the world up to the clock's "now", so a request
always sees time-driven state (jobs, syncs, switchovers, expiry) as it is at that instant.

Times inside the backend are float seconds since `origin` (the clock's reading when the backend was
built); `epoch_ms` and `at` convert for the wire and the event log. This module depends on the
standard library, `sandbox.core.world` and the timeline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from sandbox.hcx.ids import IdSource, endpoint_id, other_side, vcenter_uuid
from sandbox.hcx.models.bandwidth import GBPS, FlowNetwork
from sandbox.hcx.models.timeline import Timeline

if TYPE_CHECKING:
    from sandbox.core.world import Side, World

__all__ = ["Core", "operation"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="Core")
Edition = Literal["none", "advanced", "enterprise"]


def operation(method: Callable[Concatenate[C, P], R]) -> Callable[Concatenate[C, P], R]:
    """Mark a public backend method: hold the world lock and catch time up before running it."""

    @functools.wraps(method)
    def wrapper(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.world.lock:
            self.catch_up()
            return method(self, *args, **kwargs)

    return wrapper


class Core:
    def __init__(self, world: World, side: Side) -> None:
        self.world = world
        self.side: Side = side
        self.peer_side: Side = other_side(side)
        self.ids = IdSource(world, side)
        self.origin: datetime = world.now()
        self._origin_ms = int(self.origin.timestamp() * 1000)
        conn = world.scenario.connectivity
        # inferred: anchors.md §5 gives one capacity per link; it is taken as full duplex, so each
        # manager's outbound migrations get all of it
        self.timeline = Timeline(FlowNetwork(link=conn.link_gbps * conn.efficiency * GBPS))
        self.endpoint_id = endpoint_id(world, side)
        self.vcenter_uuid = vcenter_uuid(world, side)
        self.source_name = f"hcx:{side}"
        self._catching_up = False

    # -- time -------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.timeline.now

    def epoch_ms(self, t: float) -> int:
        return self._origin_ms + round(t * 1000)

    def at(self, t: float) -> datetime:
        return self.origin + timedelta(seconds=t)

    def t_from_ms(self, ms: float) -> float:
        return (ms - self._origin_ms) / 1000

    def catch_up(self) -> None:
        """Apply everything due up to the clock's now, on every HCX backend of the world.

        Both managers move together because one's transitions show at the other (a migrated VM
        lands in the destination's inventory). A transition that runs while catching up never
        triggers another catch-up (the `_catching_up` guard), so timelines are never re-entered.
        """
        now = self.world.now()
        backends: list[Core] = [b for b in self.world.hcx.values() if isinstance(b, Core)]
        if self not in backends:
            backends.append(self)
        for backend in backends:
            if not backend._catching_up:
                backend._catching_up = True
                try:
                    backend.timeline.run_until((now - backend.origin).total_seconds())
                finally:
                    backend._catching_up = False

    # -- shared facts -------------------------------------------------------------------------------

    def edition(self) -> Edition:
        """The live HCX add-on edition of this cloud (ARM decides; the scenario when ARM is absent)."""
        if self.world.arm is not None:
            return self.world.arm.hcx_edition(self.side)
        return self.world.cloud(self.side).hcx.addon

    def record(self, kind: str, t: float | None = None, **detail: Any) -> None:
        self.world.record(self.source_name, kind, at=self.at(self.now if t is None else t), **detail)

    def manager_name(self, side: Side) -> str:
        return f"{self.world.cloud(side).name}-hcx"
