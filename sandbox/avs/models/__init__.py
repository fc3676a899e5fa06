"""The Microsoft.AVS ARM backend: all ARM state of both private clouds, methods named after operations.

`ArmBackend` is composed of one mixin per resource family (moto's layout for large services):
private clouds and credentials (`clouds.py`), clusters and datastores (`clusters.py`), add-ons and
HCX keys (`addons.py`), cloud links, authorizations and Global Reach (`connectivity.py`), NSX
gateways and segments (`networks.py`); the shared machinery is in `base.py`. It implements
`sandbox.core.world.ArmView`, which the HCX simulators ask about the HCX add-on, connectivity and
segments. It knows nothing about HTTP.
"""

from __future__ import annotations

from typing import Any

from sandbox.avs.exceptions import ResourceNotFound
from sandbox.avs.models.addons import Addon, AddonsMixin, HcxEnterpriseSite
from sandbox.avs.models.base import DURATIONS, ArmResource, Operation, locked
from sandbox.avs.models.clouds import Cluster, Datastore, PrivateCloud
from sandbox.avs.models.clusters import ClustersMixin
from sandbox.avs.models.connectivity import Authorization, CloudLink, ConnectivityMixin, GlobalReachConnection
from sandbox.avs.models.networks import Gateway, NetworksMixin, Segment, WorkloadNetwork
from sandbox.core.world import World

__all__ = [
    "DURATIONS",
    "Addon",
    "ArmBackend",
    "ArmResource",
    "Authorization",
    "CloudLink",
    "Cluster",
    "Datastore",
    "Gateway",
    "GlobalReachConnection",
    "HcxEnterpriseSite",
    "Operation",
    "PrivateCloud",
    "Segment",
    "WorkloadNetwork",
]


class ArmBackend(AddonsMixin, ClustersMixin, ConnectivityMixin, NetworksMixin):
    """Both private clouds as ARM sees them, seeded from the world's scenario."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        with world.lock:
            self._seed_clouds()
            self._seed_addons()
            self._seed_connectivity()
            self._seed_networks()
        # A virtual clock announces its jumps: apply what fell due at once, so objects a test holds
        # are current. Other clocks flow; state catches up on the next call (every method settles).
        self._unsubscribe = world.clock.subscribe(self.settle)

    def close(self) -> None:
        """Stop following the clock (the backend keeps answering, lazily)."""
        self._unsubscribe()

    @locked
    def get_operation(self, operation_id: str) -> Operation:
        op = self.operations.get(operation_id)
        if op is None:
            raise ResourceNotFound(f"The operation '{operation_id}' was not found.")
        return op

    @locked
    def operation_result(self, operation_id: str) -> dict[str, Any] | None:
        """What a finished operation's Location monitor returns (PATCH: the resource; else nothing)."""
        return self.get_operation(operation_id).result()
