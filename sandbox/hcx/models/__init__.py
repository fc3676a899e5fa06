"""The HCX Manager backend: all the state of one simulated manager, composed from resource families.

`HcxBackend(world, side)` is plain Python state with methods named after API operations; the HTTP
layer (`sandbox.hcx.responses`) only reads requests, calls one method and renders the result. The
families live in their own modules (sessions, jobs, pairing, mesh, inventory, extensions,
migrations with their lifecycle) and meet here; time-driven state advances on the shared clock
(`world.now()`), never on the wall clock. A backend registers itself in `world.hcx[side]` if that slot
is empty, so its peer can find it. This module depends on the standard library, `sandbox.core` and
the families.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.hcx.exceptions import ServiceUnavailable
from sandbox.hcx.models.core import operation
from sandbox.hcx.models.extensions import ExtensionsMixin
from sandbox.hcx.models.migrations import MigrationsMixin
from sandbox.hcx.models.sessions import SessionsMixin

if TYPE_CHECKING:
    from sandbox.core.world import Side, World
    from sandbox.hcx.models.migration import Migration

__all__ = ["HcxBackend"]


class HcxBackend(MigrationsMixin, ExtensionsMixin, SessionsMixin):
    """All HCX state for one manager; implements `sandbox.core.world.HcxView`."""

    def __init__(self, world: World, side: Side) -> None:
        super().__init__(world, side)
        with world.lock:
            self._init_jobs()
            self._init_sessions()
            self._init_pairing()
            self._init_meshes()
            self._init_inventory()
            self._init_extensions()
            self._init_lifecycle()
            self._init_migrations()
            world.hcx.setdefault(side, self)

    def __repr__(self) -> str:
        return f"HcxBackend(side={self.side!r}, endpoint={self.endpoint_id!r})"

    def certificate_pem(self) -> str:
        """This manager's TLS certificate (PEM), as the Sandbox issued it."""
        pem = self.world.hcx_certificates.get(self.side)
        if pem is None:
            raise LookupError(f"no certificate has been issued for the {self.side} HCX Manager")
        return pem

    def check_available(self) -> None:
        """503 while the cloud's HCX add-on is not installed (every route answers so)."""
        with self.world.lock:
            edition = self.edition()
        if edition == "none":
            raise ServiceUnavailable(
                f"HCX is not installed on private cloud {self.world.cloud(self.side).name}; "
                "install the HCX add-on first"
            )

    @operation
    def introspect(self) -> dict[str, Any]:
        """A JSON-able picture of this manager for tests, benchmarks and `GET /_sandbox/hcx/{side}`."""
        return {
            "side": self.side,
            "endpointId": self.endpoint_id,
            "now": self.at(self.now).isoformat(),
            "edition": self.edition(),
            "migrations": [self._describe(m) for m in self.migrations.values()],
            "queued": [m.migration_id for m in self._queue],
            "starts": dict(self.starts),
            "pairings": [
                {
                    "endpointId": p.endpoint_id,
                    "remote": p.remote,
                    "url": p.display_url(self),
                    "removing": p.removing,
                }
                for p in self.pairings.values()
            ],
            "extensions": [
                {
                    "stretchId": e.stretch_id,
                    "network": e.network.name,
                    "state": e.state,
                    "appliance": e.appliance.name,
                    "mon": e.features["mobilityOptimizedNetworking"],
                    "segment": e.segment,
                }
                for e in self.extensions.values()
            ],
            "concurrency": {
                "active": self._active_total,
                "perMesh": {self.meshes[k].name: v for k, v in self._active_mesh.items() if k in self.meshes},
                "peaks": dict(self.peaks),
            },
            "trustedFingerprints": sorted(self.trusted_fingerprints),
        }

    def _describe(self, m: Migration) -> dict[str, Any]:
        def iso(t: float | None) -> str | None:
            return self.at(t).isoformat() if t is not None else None

        moving = self.timeline.moved(m.flow) if m.flow else 0.0
        return {
            "id": m.migration_id,
            "groupId": m.group_id,
            "vm": m.entity_name,
            "type": m.kind,
            "state": m.state,
            "attempt": m.attempt,
            "mesh": m.mesh.name,
            "appliance": m.appliance.name if m.appliance else None,
            "bytesTransferred": int(min(m.total, m.done + moving)),
            "bytesTotal": int(m.total),
            "seededBytes": int(m.seeded),
            "deltaSyncs": m.deltas,
            "created": iso(m.created),
            "transferStart": iso(m.transfer_start),
            "transferEnd": iso(m.transfer_end),
            "switchoverStart": iso(m.switchover_start),
            "switchoverEnd": iso(m.switchover_end),
            "completed": iso(m.completed),
            "errors": list(m.errors),
            "tags": list(m.request.tags),
        }
