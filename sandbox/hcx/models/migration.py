"""One mobility migration: its record, its states, and how it looks on the wire (v2 and legacy v1).

States (v2 names). Only the terminal and failure names are verified (hcx-api.md §7.5); the
intermediate ones are the simulator's choice, consistent with the `progress.state` flags
(inferred: hcx-api.md §7.5):

* QUEUED: accepted, waiting for a concurrency slot (300 Bulk/RAV per manager, 200 per mesh), for the
  serial vMotion slot, or for its transfer schedule.
* TRANSFER_IN_PROGRESS: the base sync (Bulk, RAV) or the copy itself (vMotion, Cold) is running.
* WAITING_FOR_SWITCHOVER: replicated; delta syncs every 2 h until the switchover window opens (or,
  for RAV, until the appliance's one-at-a-time switchover is free).
* SWITCHOVER_IN_PROGRESS: power-off, final sync, power-on at the destination (per type).
* MIGRATION_COMPLETE: done; the VM is at the destination.
* TRANSFER_FAILED / MIGRATION_FAILED: failed during transfer / at or before switchover.
* CANCEL_IN_PROGRESS → MIGRATION_CANCELLED: cancelled by request.

This module depends on the standard library and the backend's record types only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.hcx.models.core import Core
    from sandbox.hcx.models.inventory import DatastoreRecord, VmRecord
    from sandbox.hcx.models.mesh import Appliance, Mesh
    from sandbox.hcx.models.request import MigrationRequest

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "Migration",
]

# inferred: hcx-api.md §7.5 (only the terminal and failure names below are verified)
QUEUED = "QUEUED"
TRANSFER = "TRANSFER_IN_PROGRESS"
WAITING = "WAITING_FOR_SWITCHOVER"
SWITCHOVER = "SWITCHOVER_IN_PROGRESS"
COMPLETE = "MIGRATION_COMPLETE"
TRANSFER_FAILED = "TRANSFER_FAILED"
FAILED = "MIGRATION_FAILED"
CANCELLING = "CANCEL_IN_PROGRESS"
CANCELLED = "MIGRATION_CANCELLED"
# verified: hcx-api.md §7.5 (MIGRATION_COMPLETE, TRANSFER_FAILED, MIGRATION_FAILED, MIGRATION_CANCELLED)
TERMINAL_STATES = frozenset({COMPLETE, TRANSFER_FAILED, FAILED, CANCELLED})
ACTIVE_STATES = frozenset({QUEUED, TRANSFER, WAITING, SWITCHOVER, CANCELLING})
# The legacy (nls 1.0) view has four states (hcx-api.md §7.7).
_V1_STATE = {
    COMPLETE: "MIGRATED",
    TRANSFER_FAILED: "MIGRATE_FAILED",
    FAILED: "MIGRATE_FAILED",
    CANCELLED: "MIGRATE_CANCELED",
}

BULK, RAV, VMOTION, COLD = "Bulk", "RAV", "vMotion", "Cold"
# kind -> (migrationType, transferType, switchoverType) on the wire.
# inferred: hcx-api.md §7.1 (only Bulk's triple is verified; the others follow the enums)
WIRE_TYPES = {
    BULK: ("vSphereReplication", "vSphereReplication", "vSphereReplication"),
    RAV: ("RAV", "vSphereReplication", "RAV"),
    VMOTION: ("vMotion", "NO_OP", "vMotion"),
    COLD: ("ColdMigration", "NO_OP", "ColdMigration"),
}


@dataclass
class Migration:
    migration_id: str
    group_id: str
    request: MigrationRequest
    kind: str
    vm: VmRecord  # the source VM's record (it changes name at a Bulk switchover)
    entity_name: str  # the name when the migration started
    mesh: Mesh
    datastore: DatastoreRecord  # the destination datastore, whose space is reserved
    username: str
    attempt: int
    created: float
    state: str = QUEUED
    seq: int = 0  # creation order: query answers in it
    updated: float = 0.0
    appliance: Appliance | None = None
    message: str = "Migration queued"
    errors: list[str] = field(default_factory=list)
    log: list[tuple[float, str]] = field(default_factory=list)
    # Bytes: `total` grows with every delta sync; `done` counts finished flows; `seeded` is what a
    # seed checkpoint already had at the destination.
    total: float = 0.0
    done: float = 0.0
    seeded: float = 0.0
    base_done: float = 0.0  # base-sync bytes at the destination (what a seed checkpoint keeps)
    flow: str | None = None
    flow_kind: str = ""  # base, delta, final, copy
    flow_seq: int = 0
    dirty_since: float = 0.0  # start of the last sync: data written since then is still to send
    transfer_start: float | None = None
    transfer_end: float | None = None
    switchover_start: float | None = None
    switchover_end: float | None = None
    completed: float | None = None
    timers: dict[str, int] = field(default_factory=dict)
    holds_slot: bool = False
    source_powered_off: bool = False
    deltas: int = 0

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def _progress(self, moving: float) -> tuple[float, int]:
        """(bytes transferred, percent complete): 100 only once complete, never past 99 before."""
        transferred = min(self.total, self.done + moving)
        if self.state == COMPLETE:
            return transferred, 100
        return transferred, min(99, int(100 * transferred / self.total) if self.total else 0)

    def to_wire(self, core: Core, moving: float) -> dict[str, Any]:
        """The v2 (`compat: 2.1`) query item; `moving` is the bytes the running flow has moved."""
        req = self.request
        m_type, t_type, s_type = WIRE_TYPES[self.kind]
        transferred, percent = self._progress(moving)
        failed = self.state in (TRANSFER_FAILED, FAILED)
        ms = core.epoch_ms

        def t(value: float | None) -> int:
            return ms(value) if value is not None else 0

        in_transfer = self.state in (TRANSFER, WAITING)
        return {
            "id": self.migration_id,
            "migrationId": self.migration_id,
            "migrationGroupId": self.group_id,
            "migrationGroupName": req.group_name or "",
            "tags": list(req.tags),
            "transferGroupId": self.group_id,
            "transferId": self.migration_id,
            "version": 2,
            "username": self.username,
            "creationDate": ms(self.created),
            "lastUpdated": ms(self.updated),
            "pairingId": req.destination_endpoint,
            "entityId": self.vm.vm_id,
            "entityType": "VirtualMachine",
            "migrationType": m_type,
            "state": self.state,
            "attempt": self.attempt,
            "serviceMeshId": self.mesh.mesh_id,
            "source": req.echo("source"),
            "destination": req.echo("destination"),
            "entity": {
                "entityId": self.vm.vm_id,
                "entityType": "VirtualMachine",
                "entityName": self.entity_name,
            },
            "summary": {
                "diskSize": int(self.vm.spec.disk_gb * 2**30),
                "usedSpace": int(self.vm.spec.used * 2**30),
                "numCpu": self.vm.spec.cpus,
                "memorySizeMB": self.vm.spec.memory_mb,
            },
            "transferParams": {**req.echo("transferParams"), "transferType": t_type},
            "switchoverParams": {**req.echo("switchoverParams"), "switchoverType": s_type},
            "placement": req.echo("placement", []),
            "storage": req.echo("storage"),
            "networkParams": req.echo("networkParams"),
            "progress": {
                "startTime": t(self.transfer_start),
                "endTime": t(self.completed if self.terminal else None),
                "message": self.message,
                "draftState": "",
                "isRescheduleAllowed": self.state in (QUEUED, TRANSFER, WAITING),
                "isCancelled": 1 if self.state == CANCELLED else 0,
                "isDone": self.terminal,
                "didFail": failed,
                "total": {"value": int(self.total), "bytesTransferred": int(transferred)},
                "percentComplete": percent,
                "error": {
                    "count": len(self.errors),
                    "value": len(self.errors),
                    "message": "; ".join(self.errors),
                },
                "transfer": {
                    "count": 1,
                    "startTime": t(self.transfer_start),
                    "endTime": t(self.transfer_end),
                    "progressCount": 1 if in_transfer else 0,
                    "progress": percent,
                    "completedCount": 1 if self.transfer_end is not None else 0,
                    "errorCount": 1 if self.state == TRANSFER_FAILED else 0,
                    "syncCount": self.deltas,
                },
                "switchover": {
                    "count": 1,
                    "startTime": t(self.switchover_start),
                    "endTime": t(self.switchover_end),
                    "progressCount": 1 if self.state == SWITCHOVER else 0,
                    "completedCount": 1 if self.state == COMPLETE else 0,
                    "errorCount": 1 if self.state == FAILED else 0,
                    "waitingCount": 1 if self.state == WAITING else 0,
                },
                "state": {
                    "status": self.state,
                    "errorsOccurred": failed,
                    "message": self.message,
                    "errorMessage": "; ".join(self.errors),
                    "isTransfer": int(in_transfer),
                    "isTransferProgress": int(self.state == TRANSFER),
                    "isTransferCompleted": int(self.transfer_end is not None),
                    "isSwitchover": int(self.state == SWITCHOVER),
                    "isSwitchoverProgress": int(self.state == SWITCHOVER),
                    "isSwitchoverCompleted": int(self.state == COMPLETE),
                    "isWaitingForMaintWindow": int(self.state == WAITING),
                    "isCanceled": int(self.state in (CANCELLING, CANCELLED)),
                    "isError": int(failed),
                    "isDone": self.terminal,
                    "isSwitchoverStarted": int(self.switchover_start is not None),
                },
                "log": [{"message": text, "lastUpdated": ms(at)} for at, text in self.log[-20:]],
            },
        }

    def to_wire_v1(self, core: Core, moving: float) -> dict[str, Any]:
        """The legacy (nls 1.0) row: `migrationInfo` + `jobInfo` (hcx-api.md §7.7)."""
        transferred, percent = self._progress(moving)
        return {
            "migrationId": self.migration_id,
            "migrationInfo": {
                "entityDetails": {"entityId": self.vm.vm_id, "entityName": self.entity_name},
                "progressDetails": {"progressPercentage": percent, "diskCopyBytes": int(transferred)},
                "message": self.message,
            },
            "jobInfo": {
                "state": _V1_STATE.get(self.state, "MIGRATING"),
                "username": self.username,
                "creationDate": core.epoch_ms(self.created),
                "lastUpdated": core.epoch_ms(self.updated),
            },
        }
