"""HCX v2 ("mobility") migrations: building request items, reading results and query items.

* `MigrationSpec` + `migration_item(spec)`: one item for `POST /mobility/migrations/{validate,start}`
  (hcx-api.md §7.1), from the plan's resolved settings and the inventory ids the caller looked up.
* `MigrationResult`: one entry of a validate/start answer (`migrationId`, errors, warnings).
* `Migration`: one item of `POST /migrations?action=query` with `compat: 2.1` (§7.4); v1 rows
  (`migrationInfo` + `jobInfo`) are read too, leniently.

State names: only the terminal ones are verified (MIGRATION_COMPLETE, MIGRATION_FAILED,
MIGRATION_CANCELLED, TRANSFER_FAILED and the v1 MIGRATED, MIGRATE_FAILED, MIGRATE_CANCELED). Any other
state counts as in progress, and `progress.isDone` / `progress.didFail` also end a migration.
This module depends on pydantic and `shared.hcx.models` only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, model_validator

from shared.hcx.envelope import messages
from shared.hcx.errors import HcxMessage
from shared.hcx.models import EpochMs, HcxModel, SiteRef

__all__ = [
    "FAILED_STATES",
    "SUCCEEDED_STATES",
    "TERMINAL_STATES",
    "WIRE_TYPES",
    "Migration",
    "MigrationResult",
    "MigrationSpec",
    "NetworkTarget",
    "PlacementRef",
    "SiteRef",
    "epoch_ms",
    "migration_item",
]

PlanType = Literal["bulk", "vmotion", "rav", "cold"]

# (migrationType, transferType, switchoverType) per plan type (hcx-api.md §7.1). Bulk is verified;
# inferred: hcx-api.md §7.1 for RAV, vMotion and Cold (enum values documented, mapping reasoned).
WIRE_TYPES: dict[str, tuple[str, str, str]] = {
    "bulk": ("vSphereReplication", "vSphereReplication", "vSphereReplication"),
    "rav": ("RAV", "vSphereReplication", "RAV"),
    "vmotion": ("vMotion", "NO_OP", "vMotion"),
    "cold": ("ColdMigration", "NO_OP", "ColdMigration"),
}
_DISK = {"thin": "thin", "thick": "thick", "same_as_source": "sameAsSource"}

SUCCEEDED_STATES = frozenset({"MIGRATION_COMPLETE", "MIGRATED"})
FAILED_STATES = frozenset({"MIGRATION_FAILED", "TRANSFER_FAILED", "MIGRATE_FAILED"})
CANCELLED_STATES = frozenset({"MIGRATION_CANCELLED", "MIGRATE_CANCELED"})
TERMINAL_STATES = SUCCEEDED_STATES | FAILED_STATES | CANCELLED_STATES


def epoch_ms(value: datetime | None) -> int:
    """An aware datetime as HCX's epoch milliseconds; None is 0 ("no schedule")."""
    if value is None:
        return 0
    return int(value.astimezone(UTC).timestamp() * 1000)


# --- building a request item ---------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlacementRef(_Spec):
    id: str
    name: str = ""
    # ResourcePool, ClusterComputeResource, Folder, Datacenter
    type: str


class NetworkTarget(_Spec):
    """A source network and the destination network its NICs move to, with HCX's ids."""

    source_id: str
    source_name: str
    source_type: str = "DistributedVirtualPortgroup"
    destination_id: str
    destination_name: str
    destination_type: str = "NsxtSegment"

    def to_wire(self) -> dict[str, Any]:
        return {
            "srcNetworkType": self.source_type,
            "srcNetworkValue": self.source_id,
            "srcNetworkHref": self.source_id,
            "srcNetworkName": self.source_name,
            "srcNetworkDisplayName": self.source_name,
            "srcNetworkId": self.source_id,
            "destNetworkType": self.destination_type,
            "destNetworkValue": self.destination_id,
            "destNetworkHref": self.destination_id,
            "destNetworkName": self.destination_name,
            "destNetworkDisplayName": self.destination_name,
            "destNetworkId": self.destination_id,
            "bindingType": "static",
        }


class MigrationSpec(_Spec):
    """Everything one migration item needs, already resolved to HCX ids."""

    type: PlanType
    vm_id: str
    vm_name: str
    source: SiteRef
    destination: SiteRef
    placement: list[PlacementRef] = Field(default_factory=list)
    datastore: PlacementRef | None = None
    disk_provisioning: Literal["thin", "thick", "same_as_source"] = "same_as_source"
    networks: list[NetworkTarget] = Field(default_factory=list)
    window_start: datetime | None = None
    window_end: datetime | None = None
    retain_mac: bool = True
    remove_snapshots: bool = True
    remove_isos: bool = True
    force_power_off: bool = False
    upgrade_hardware: bool = False
    upgrade_tools: bool = False
    seed_checkpoint: bool = True
    service_mesh_id: str | None = None
    # Labels that let the caller find this migration again (exactly-once starts). inferred:
    # hcx-api.md §7.8 — Mobility Groups carry tags and a name; a plain item carrying them is a guess.
    tags: list[str] = Field(default_factory=list)
    group_name: str | None = None


def migration_item(spec: MigrationSpec) -> dict[str, Any]:
    """One v2 migration item (hcx-api.md §7.1) for validate and start."""
    migration_type, transfer_type, switchover_type = WIRE_TYPES[spec.type]
    replicated = spec.type in ("bulk", "rav")
    schedule = {"startTime": epoch_ms(spec.window_start), "expiryTime": epoch_ms(spec.window_end)}
    options = {
        "retainMac": spec.retain_mac,
        "forcePowerOffVm": spec.force_power_off,
        "upgradeHardware": spec.upgrade_hardware,
        "upgradeVMTools": spec.upgrade_tools,
        "removeISOs": spec.remove_isos,
        "removeSnapshots": spec.remove_snapshots,
    }
    item: dict[str, Any] = {
        "migrationType": migration_type,
        "entity": {"entityId": spec.vm_id, "entityName": spec.vm_name, "entityType": "VirtualMachine"},
        "source": spec.source.to_wire(),
        "destination": spec.destination.to_wire(),
        "transferParams": {
            "transferType": transfer_type,
            "schedule": {"startTime": 0, "expiryTime": 0},
            "continuousSync": False,
            # inferred: hcx-api.md §7.1 — longRecovery ("re-use seed data on target") is how the
            # API spells Seed Checkpoint; it only means something for replicated types.
            "longRecovery": bool(spec.seed_checkpoint and replicated),
            # The spelling differs between clients (removeSnapshots vs removeSnapshot); PY-OSAM's.
            "transferProfile": [
                {"option": "removeSnapshots", "value": spec.remove_snapshots},
                {"option": "removeISOs", "value": spec.remove_isos},
            ],
        },
        "switchoverParams": {
            "switchoverType": switchover_type,
            "schedule": schedule,
            "options": options,
            "switchoverProfile": [{"option": k, "value": v} for k, v in options.items()],
        },
        "placement": [{"id": p.id, "name": p.name, "type": p.type} for p in spec.placement],
        # networkMappings (PY-OSAM); PS-Blub sends defaultMappings. inferred: hcx-api.md §7.1
        "networkParams": {"networkMappings": [n.to_wire() for n in spec.networks]},
    }
    if spec.datastore is not None:
        item["storage"] = {
            "defaultStorage": {
                "id": spec.datastore.id,
                "name": spec.datastore.name,
                "type": "Datastore",
                "diskProvisionType": _DISK[spec.disk_provisioning],
            }
        }
    if spec.service_mesh_id:
        item["servicemeshId"] = spec.service_mesh_id  # HCX 4.8+ per-migration mesh (hcx-api.md §9)
    if spec.tags:
        item["tags"] = list(spec.tags)
    if spec.group_name:
        item["migrationGroupName"] = spec.group_name
    return item


# --- reading answers -----------------------------------------------------------------------------


class MigrationResult(HcxModel):
    """One entry of a validate or start answer."""

    migration_id: str | None = None
    migration_group_id: str | None = None
    entity_id: str | None = None
    errors: list[HcxMessage] = Field(default_factory=list)
    warnings: list[HcxMessage] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _messages(cls, value: Any) -> Any:
        if isinstance(value, dict):
            errors, warnings = messages({"errors": value.get("errors"), "warnings": value.get("warnings")})
            value = {**value, "errors": errors, "warnings": warnings}
        return value

    @property
    def ok(self) -> bool:
        return not self.errors


class MigrationProgress(HcxModel):
    percent_complete: float | None = None
    bytes_transferred: int | None = Field(
        default=None, validation_alias=AliasPath("total", "bytesTransferred")
    )
    bytes_total: int | None = Field(default=None, validation_alias=AliasPath("total", "value"))
    message: str | None = None
    is_done: bool = False
    did_fail: bool = False
    start_time: EpochMs = None
    end_time: EpochMs = None
    switchover_started: bool = Field(
        default=False, validation_alias=AliasPath("state", "isSwitchoverStarted")
    )
    waiting_for_window: bool = Field(
        default=False, validation_alias=AliasPath("state", "isWaitingForMaintWindow")
    )
    error_message: str | None = Field(default=None, validation_alias=AliasPath("state", "errorMessage"))
    # Phase times (hcx-api.md §7.4 documents transfer.startTime/endTime and switchover.endTime;
    # inferred: switchover.startTime, which not every manager may send).
    transfer_end: EpochMs = Field(default=None, validation_alias=AliasPath("transfer", "endTime"))
    switchover_start: EpochMs = Field(default=None, validation_alias=AliasPath("switchover", "startTime"))
    switchover_end: EpochMs = Field(default=None, validation_alias=AliasPath("switchover", "endTime"))


class Migration(HcxModel):
    """One migration from a query: v2 items (`compat: 2.1`) or v1 rows."""

    migration_id: str
    migration_group_id: str | None = None
    entity_id: str | None = Field(
        default=None, validation_alias=AliasChoices("entityId", AliasPath("entity", "entityId"))
    )
    entity_name: str | None = Field(default=None, validation_alias=AliasPath("entity", "entityName"))
    migration_type: str | None = None
    state: str = ""
    version: int | None = None
    username: str | None = None
    creation_date: EpochMs = None
    last_updated: EpochMs = None
    window_start: EpochMs = Field(
        default=None, validation_alias=AliasPath("switchoverParams", "schedule", "startTime")
    )
    window_end: EpochMs = Field(
        default=None, validation_alias=AliasPath("switchoverParams", "schedule", "expiryTime")
    )
    progress: MigrationProgress = Field(default_factory=MigrationProgress)
    # inferred: hcx-api.md §7.8 (labels a query may echo; None when the manager sends none)
    tags: list[str] | None = None
    migration_group_name: str | None = None
    service_mesh_id: str | None = Field(
        default=None, validation_alias=AliasChoices("serviceMeshId", "servicemeshId")
    )

    @model_validator(mode="before")
    @classmethod
    def _from_v1(cls, value: Any) -> Any:
        # v1 rows: migrationInfo{entityDetails, progressDetails, message} + jobInfo{state, ...}.
        if not isinstance(value, dict) or "migrationInfo" not in value:
            return value
        info = value.get("migrationInfo") or {}
        job = value.get("jobInfo") or {}
        details = info.get("entityDetails") or {}
        progress = info.get("progressDetails") or {}
        return {
            **value,
            "entity": {"entityId": details.get("entityId"), "entityName": details.get("entityName")},
            "state": value.get("state") or job.get("state", ""),
            "username": job.get("username"),
            "creationDate": job.get("creationDate"),
            "lastUpdated": job.get("lastUpdated"),
            "version": value.get("version", 1),
            "progress": {
                "percentComplete": progress.get("progressPercentage"),
                "total": {"bytesTransferred": progress.get("diskCopyBytes")},
                "message": info.get("message"),
            },
        }

    @property
    def succeeded(self) -> bool:
        return self.state.upper() in SUCCEEDED_STATES or (
            self.progress.is_done and not self.progress.did_fail and self.state.upper() not in TERMINAL_STATES
        )

    @property
    def failed(self) -> bool:
        return self.state.upper() in FAILED_STATES or self.progress.did_fail

    @property
    def cancelled(self) -> bool:
        return self.state.upper() in CANCELLED_STATES

    @property
    def finished(self) -> bool:
        """Terminal: a verified terminal state, or HCX's own done/failed flags. Unknown = running."""
        return self.state.upper() in TERMINAL_STATES or self.progress.is_done or self.progress.did_fail

    @property
    def percent(self) -> float | None:
        p = self.progress
        if self.version == 2 and p.bytes_total:
            return round(100.0 * (p.bytes_transferred or 0) / p.bytes_total, 1)
        return p.percent_complete
