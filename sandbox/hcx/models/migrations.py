"""Mobility migrations: validate, start, query (v2 `compat: 2.1` and legacy v1) and cancel.

The checks themselves live in `validation.py`; error codes are UPPER_SNAKE and inferred
(hcx-api.md §7.2).

Status codes (hcx-api.md §7.2, §7.3; from one client, PS-Blub): validate answers 202 when every item
passes and 400 with every item otherwise; start answers 202 with the started items and the refused
ones side by side, and 400 when none started (inferred: per-item outcomes, hcx-api.md §7.3).

Cancel (inferred paths, hcx-api.md §7.6): `?action=cancel` `{"migrationIds": [...]}` refuses a
migration already switching over; `mobility/migrations/forceCancel` `{"items": [{"migrationId" |
"migrationGroupId"}], "removeLongRecoveryData": bool}` cancels it anyway. A cancelled migration's
base-sync bytes stay as a seed checkpoint unless `removeLongRecoveryData` is true.

Schedule (inferred path for plain migrations, hcx-api.md §7.8): `mobility/groups/{groupId}/schedule`
with `{"mobilityGroupDefaults": {"switchover": {startTime, expiryTime, clearSchedule}}, "migrations":
[{"migrationId", "schedule": {...}}]}` moves the switchover window of migrations not yet switching
over; a migration waiting for its window re-evaluates it at once.

Every start is counted per VM in `world.stats` (`migration_starts`). This module depends on the
standard library and the backend mixins only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sandbox.hcx.exceptions import BadRequest, Conflict, HcxError, ItemsRejected, NotFound
from sandbox.hcx.models.core import operation
from sandbox.hcx.models.migration import (
    ACTIVE_STATES,
    CANCELLING,
    SWITCHOVER,
    WIRE_TYPES,
    Migration,
)
from sandbox.hcx.models.validation import ItemResult, ValidationMixin

__all__ = ["ItemResult", "MigrationsMixin", "QueryResult"]


@dataclass
class QueryResult:
    items: list[tuple[Migration, float]]  # each migration with the bytes its running flow has moved
    total: int
    offset: int
    page_size: int
    compat: bool  # v2 (`options.compat`) or the legacy v1 rows
    by_id: bool


def _set(value: object, where: str) -> set[str] | None:
    found = _strings(value, where)
    return set(found) if found is not None else None


def _strings(value: object, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise BadRequest(f"{where}: must be a string or a list of strings")


class MigrationsMixin(ValidationMixin):
    def _init_migrations(self) -> None:
        self.starts: Counter[str] = Counter()

    def pairing_dependents(self) -> list[str]:
        active = sum(1 for m in self.migrations.values() if m.state in ACTIVE_STATES)
        return [*super().pairing_dependents(), *([f"{active} active migration(s)"] if active else [])]

    # -- validate and start -----------------------------------------------------------------------

    @operation
    def validate_migrations(self, body: object) -> list[ItemResult]:
        results = [r for r, _, _ in self._check_all(body, "validate")]
        if any(r.errors for r in results):
            raise ItemsRejected([r.to_wire() for r in results])
        return results

    @operation
    def start_migrations(self, body: object, username: str) -> list[ItemResult]:
        checked = self._check_all(body, "start")
        group = self.ids.uuid()
        for result, req, found in checked:
            if result.errors or found.vm is None or found.mesh is None or found.datastore is None:
                continue
            vm, kind = found.vm, req.kind
            assert kind is not None
            self.starts[vm.name] += 1
            self.world.stats.count("migration_starts", vm.name)
            m = Migration(
                self.ids.uuid(),
                group,
                req,
                kind,
                vm,
                vm.name,
                found.mesh,
                found.datastore,
                username,
                self.starts[vm.name],
                self.now,
                updated=self.now,
            )
            m.log.append((self.now, m.message))
            m.seq = len(self.migrations)
            found.datastore.reserved_gb += vm.spec.disk_gb
            result.migration = m
            self.record(
                "migration_started", migration=m.migration_id, vm=vm.name, type=kind, attempt=m.attempt
            )
            self._enqueue(m)
        results = [r for r, _, _ in checked]
        # inferred: hcx-api.md §7.3 (per-item outcomes; 400 only when nothing started)
        if not any(r.migration for r in results):
            raise ItemsRejected([r.to_wire() for r in results])
        return results

    # -- query --------------------------------------------------------------------------------------

    @operation
    def query_migrations(self, body: object) -> QueryResult:
        body = body or {}
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        flt, options, paging = (body.get(k) or {} for k in ("filter", "options", "paging"))
        if not all(isinstance(x, dict) for x in (flt, options, paging)):
            raise BadRequest("filter, options and paging: must be objects")
        ids = _set(flt.get("migrationId"), "filter.migrationId") or _set(flt.get("id"), "filter.id")
        groups = _set(flt.get("migrationGroupId"), "filter.migrationGroupId")
        entities = _set(flt.get("entityId"), "filter.entityId")
        states = _set(flt.get("state"), "filter.state")
        types = _set(flt.get("migrationType"), "filter.migrationType")
        tags = _set(flt.get("tags"), "filter.tags")  # inferred: see request.py
        names = _set(flt.get("migrationGroupName"), "filter.migrationGroupName")
        # A query by id (how clients poll) looks its migrations up instead of scanning them all.
        pool = (
            sorted((self.migrations[i] for i in ids if i in self.migrations), key=lambda m: m.seq)
            if ids is not None
            else self.migrations.values()
        )
        rows = [
            m
            for m in pool
            if (groups is None or m.group_id in groups)
            and (entities is None or m.vm.vm_id in entities)
            and (states is None or m.state in states)
            and (types is None or WIRE_TYPES[m.kind][0] in types or m.kind in types)
            and (tags is None or not tags.isdisjoint(m.request.tags))
            and (names is None or m.request.group_name in names)
        ]
        offset = paging.get("offset") or paging.get("skipCount") or 0
        size = paging.get("pageSize") or max(1, len(rows))
        if not isinstance(offset, int) or offset < 0 or not isinstance(size, int) or size < 1:
            raise BadRequest("paging: offset must be a non-negative integer and pageSize a positive one")
        page = rows[offset : offset + size]
        return QueryResult(
            [(m, self.timeline.moved(m.flow) if m.flow else 0.0) for m in page],
            len(rows),
            offset,
            size,
            options.get("compat") is not None,
            ids is not None,
        )

    # -- schedule -----------------------------------------------------------------------------------

    @operation
    def schedule_migrations(self, group_id: str, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        members = {m.migration_id: m for m in self.migrations.values() if m.group_id == group_id}
        if not members:
            raise NotFound(f"migration group {group_id} does not exist")
        defaults = (body.get("mobilityGroupDefaults") or {}).get("switchover")
        entries = body.get("migrations")
        targets: list[tuple[str, object]] = []
        if entries:
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise BadRequest('migrations: must be a list of {"migrationId", "schedule"}')
            targets = [(str(e.get("migrationId")), e.get("schedule") or defaults) for e in entries]
        elif isinstance(defaults, dict):
            targets = [(mid, defaults) for mid in members]
        else:
            raise BadRequest("migrations or mobilityGroupDefaults.switchover: required")
        errors: dict[str, list[dict[str, str]]] = {}
        affected = 0
        for mid, schedule in targets:
            m = members.get(mid)
            try:
                if m is None:
                    raise NotFound(f"migration {mid} is not in group {group_id}")
                start, expiry = self._schedule_of(schedule, mid)
                if m.terminal or m.state in (SWITCHOVER, CANCELLING):
                    raise Conflict(f"migration {mid} is {m.state}; its schedule cannot change")
            except HcxError as exc:
                errors[mid] = [{"code": exc.code, "message": exc.message}]
                continue
            m.request.switchover_start_ms, m.request.switchover_expiry_ms = start, expiry
            echo = m.request.raw.get("switchoverParams") or {}
            window = {"startTime": start, "expiryTime": expiry}
            m.request.raw["switchoverParams"] = {**echo, "schedule": window}
            self._rescheduled(m)
            self.record("migration_rescheduled", migration=mid, start=start, expiry=expiry)
            affected += 1
        return {
            "affectedTransferScheduleCount": 0,
            "affectedSwitchoverScheduleCount": affected,
            "errors": errors,
        }

    def _schedule_of(self, schedule: object, mid: str) -> tuple[int, int]:
        if not isinstance(schedule, dict):
            raise BadRequest(f"migrations[{mid}].schedule: must be an object")
        if schedule.get("clearSchedule"):
            return 0, 0
        values = []
        for key in ("startTime", "expiryTime"):
            value = schedule.get(key) or 0
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BadRequest(f"schedule.{key}: must be epoch milliseconds (a number)")
            values.append(int(value))
        start, expiry = values
        if expiry and (expiry <= start or expiry <= self.epoch_ms(self.now)):
            raise BadRequest("schedule.expiryTime: must be after startTime and in the future")
        return start, expiry

    # -- cancel -------------------------------------------------------------------------------------

    @operation
    def cancel_migrations(self, body: object) -> list[dict[str, Any]]:
        ids = _strings(body.get("migrationIds") if isinstance(body, dict) else None, "migrationIds")
        if not ids:
            raise BadRequest('migrationIds: required, a non-empty list ({"migrationIds": [...]})')
        return self._cancel_all(ids, force=False, keep_seed=True)

    @operation
    def force_cancel_migrations(self, body: object) -> list[dict[str, Any]]:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise BadRequest('items: required, a non-empty list of {"migrationId"} or {"migrationGroupId"}')
        assert isinstance(body, dict)
        ids: list[str] = []
        for i, item in enumerate(items):
            if mid := item.get("migrationId"):
                ids.append(str(mid))
            elif gid := item.get("migrationGroupId"):
                ids += [m.migration_id for m in self.migrations.values() if m.group_id == gid] or [str(gid)]
            else:
                raise BadRequest(f"items[{i}].migrationId: required (or migrationGroupId)")
        return self._cancel_all(ids, force=True, keep_seed=not body.get("removeLongRecoveryData"))

    def _cancel_all(self, ids: list[str], *, force: bool, keep_seed: bool) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        refusals: list[HcxError] = []
        for mid in ids:
            try:
                m = self._cancellable(mid, force)
                if m.state != CANCELLING:
                    self._cancel(m, keep_seed)
                    self.record("migration_cancel", migration=mid, force=force)
                results.append({"migrationId": mid, "state": m.state, "errors": []})
            except HcxError as exc:
                refusals.append(exc)
                results.append({"migrationId": mid, "errors": [{"code": exc.code, "message": exc.message}]})
        if len(refusals) == len(ids):
            raise refusals[0]
        return results

    def _cancellable(self, mid: str, force: bool) -> Migration:
        m = self.migrations.get(mid)
        if m is None:
            raise NotFound(f"migration {mid} does not exist")
        if m.terminal:
            raise Conflict(f"migration {mid} is already {m.state}", code="MIGRATION_FINISHED")
        # inferred: hcx-api.md §7.6 ("cancel is only meaningful before switchover completes")
        if m.state == SWITCHOVER and not force:
            raise Conflict(
                f"migration {mid} is switching over; only a force cancel stops it",
                code="SWITCHOVER_IN_PROGRESS",
            )
        return m
