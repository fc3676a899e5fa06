"""Reading one v2 mobility migration item (`items[i]` of validate/start) into a typed request.

Real clients spell several things differently and the simulator accepts each variant
(hcx-api.md §7.1, §11): `networkParams.networkMappings` or `.defaultMappings`; the transfer options
`removeSnapshots`/`removeSnapshot` and `removeISOs`/`removeIso`, in `transferProfile`,
`switchoverProfile` or `switchoverParams.options`; `migrationType` as the wire value or the PowerCLI
name (`Bulk`, `Cold`). A seed checkpoint is asked for with `transferParams.longRecovery` or the
`longRecovery`/`seedCheckpoint` profile option (any true value wins, since PY-OSAM sends both with
different values). Schedules are epoch milliseconds; 0 or absent means "as soon as possible".

To let a client find again a migration it started (exactly-once starts), an item may carry `tags`
(a list of strings) and a `migrationGroupName`, the two labels Mobility Groups have (hcx-api.md §7.8);
query filters on both. Carrying them on a plain migration item is inferred (hcx-api.md §7.8). The
service mesh may be chosen per migration (`serviceMeshId`/`servicemeshId`, HCX 4.8+, hcx-api.md §9).

Structural mistakes raise `BadRequest` naming `items[i].<field>`. This module depends on the
standard library and the exceptions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.hcx.exceptions import BadRequest

__all__ = ["MigrationRequest", "parse_item"]

# Wire values and PowerCLI names; the RAV/vMotion/Cold wire values are inferred: hcx-api.md §7.1
_KINDS = {
    "vspherereplication": "Bulk",
    "bulk": "Bulk",
    "vr": "Bulk",
    "rav": "RAV",
    "replicationassistedvmotion": "RAV",
    "vmotion": "vMotion",
    "coldmigration": "Cold",
    "cold": "Cold",
}
_SNAPSHOT_OPTIONS = ("removeSnapshots", "removeSnapshot")
_ISO_OPTIONS = ("removeISOs", "removeIso", "removeISO", "removeIsos")
_SEED_OPTIONS = ("longRecovery", "seedCheckpoint")


@dataclass
class MigrationRequest:
    index: int
    kind: str | None  # Bulk, RAV, vMotion, Cold; None = a type the simulator does not run
    wire_type: str
    entity_id: str | None
    entity_name: str | None
    source_endpoint: str | None
    destination_endpoint: str | None
    mesh_ref: str | None
    mappings: list[dict[str, Any]]
    datastore_ref: str | None
    folder: str | None
    resource_pool: str | None
    remove_snapshots: bool
    remove_isos: bool
    long_recovery: bool
    transfer_start_ms: int
    switchover_start_ms: int
    switchover_expiry_ms: int
    tags: list[str] = field(default_factory=list)
    group_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def echo(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        if value is None:
            return {} if default is None else default
        return value

    def destination_network_for(self, network_id: str, network_name: str) -> dict[str, Any] | None:
        for m in self.mappings:
            refs = {m.get("srcNetworkId"), m.get("srcNetworkValue"), m.get("srcNetworkHref")}
            if network_id in refs or m.get("srcNetworkName") == network_name:
                return m
        return None


def _options(item: dict[str, Any]) -> dict[str, Any]:
    """Every {option, value} pair and options-dict entry the item carries; a true value wins."""
    found: dict[str, Any] = {}
    transfer = item.get("transferParams") or {}
    switchover = item.get("switchoverParams") or {}
    for profile in (transfer.get("transferProfile"), switchover.get("switchoverProfile")):
        for entry in profile or []:
            if isinstance(entry, dict) and isinstance(entry.get("option"), str):
                found[entry["option"]] = found.get(entry["option"]) or entry.get("value")
    options = switchover.get("options") or {}
    if isinstance(options, dict):
        for key, value in options.items():
            found[key] = found.get(key) or value
    return found


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _ms(value: object, where: str) -> int:
    if value in (None, "", 0):
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{where}: must be epoch milliseconds (a number)")
    return int(value)


def _section(item: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{where}.{key}: must be an object")
    return value


def parse_item(index: int, item: object, defaults: dict[str, Any]) -> MigrationRequest:
    """Read `items[index]`; `defaults` holds request-level labels (`tags`, `migrationGroupName`)."""
    where = f"items[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where}: must be an object")
    raw_type = item.get("migrationType")
    if not isinstance(raw_type, str) or not raw_type:
        raise BadRequest(
            f"{where}.migrationType: required, e.g. vSphereReplication, RAV, vMotion, ColdMigration"
        )
    kind = _KINDS.get(raw_type.lower())
    entity = _section(item, "entity", where)
    entity_id, entity_name = entity.get("entityId"), entity.get("entityName")
    if not entity_id and not entity_name:
        raise BadRequest(f"{where}.entity.entityId: required")
    source, destination = _section(item, "source", where), _section(item, "destination", where)
    transfer, switchover = _section(item, "transferParams", where), _section(item, "switchoverParams", where)
    network = _section(item, "networkParams", where)
    mappings = network.get("networkMappings") or network.get("defaultMappings") or []
    if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
        raise BadRequest(f"{where}.networkParams.networkMappings: must be a list of objects")
    storage = _section(item, "storage", where).get("defaultStorage") or {}
    if not isinstance(storage, dict):
        raise BadRequest(f"{where}.storage.defaultStorage: must be an object")
    placement = item.get("placement") or []
    if not isinstance(placement, list):
        raise BadRequest(f"{where}.placement: must be a list")
    by_type = {str(p.get("type", "")).lower(): p.get("name") for p in placement if isinstance(p, dict)}
    options = _options(item)
    # inferred: hcx-api.md §7.8 (Mobility Groups carry name and tags; a plain migration item carrying
    # them, and query filtering on them, are the simulator's choice)
    tags = item.get("tags", defaults.get("tags") or [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRequest(f"{where}.tags: must be a list of strings")
    group_name = item.get("migrationGroupName", defaults.get("migrationGroupName"))
    if group_name is not None and not isinstance(group_name, str):
        raise BadRequest(f"{where}.migrationGroupName: must be a string")
    t_schedule = transfer.get("schedule") or {}
    s_schedule = switchover.get("schedule") or {}
    if not isinstance(t_schedule, dict) or not isinstance(s_schedule, dict):
        raise BadRequest(f"{where}.switchoverParams.schedule: must be an object")
    return MigrationRequest(
        index=index,
        kind=kind,
        wire_type=raw_type,
        entity_id=str(entity_id) if entity_id else None,
        entity_name=str(entity_name) if entity_name else None,
        source_endpoint=source.get("endpointId"),
        destination_endpoint=destination.get("endpointId"),
        # inferred: hcx-api.md §9 (4.8+ picks the mesh per migration; the item field name is a guess)
        mesh_ref=item.get("serviceMeshId") or item.get("servicemeshId") or item.get("serviceMesh"),
        mappings=mappings,
        datastore_ref=storage.get("id") or storage.get("name"),
        folder=by_type.get("folder"),
        resource_pool=by_type.get("resourcepool"),
        remove_snapshots=any(_truthy(options.get(o)) for o in _SNAPSHOT_OPTIONS),
        remove_isos=any(_truthy(options.get(o)) for o in _ISO_OPTIONS),
        # inferred: hcx-api.md §7.1 (PY-OSAM sends both forms with different values; any true wins)
        long_recovery=_truthy(transfer.get("longRecovery"))
        or any(_truthy(options.get(o)) for o in _SEED_OPTIONS),
        transfer_start_ms=_ms(t_schedule.get("startTime"), f"{where}.transferParams.schedule.startTime"),
        switchover_start_ms=_ms(s_schedule.get("startTime"), f"{where}.switchoverParams.schedule.startTime"),
        switchover_expiry_ms=_ms(
            s_schedule.get("expiryTime"), f"{where}.switchoverParams.schedule.expiryTime"
        ),
        tags=list(tags),
        group_name=group_name,
        raw={
            k: item.get(k)
            for k in (
                "source",
                "destination",
                "transferParams",
                "switchoverParams",
                "placement",
                "storage",
                "networkParams",
            )
        },
    )
