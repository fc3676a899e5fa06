"""Migration activities: the wave engine's calls to the source HCX Manager, one bounded call each.

Each takes one `shared.engine` payload (validated first), logs in through `activities._clients`
(credentials fetched here, never in the payload) and returns short lists the engine applies:

* `validate_migrations(ValidateRequest)`: ONE HCX validate call for a batch of items →
  `[[ok, [errors], [[code, warning]]], ...]` in the order of the specs.
* `start_migrations(StartRequest)`: exactly-once starts. First ONE query for the batch's attempt tags
  finds any migration an earlier run of this activity already started (a crash, a lost answer, a
  Durable retry); only the items without one are started, in ONE start call, never retried by the
  client. → `[{migration_id, group, adopted, errors, warnings}, ...]`.
* `query_migrations(QueryRequest)`: ONE progress query for every migration of the wave in flight →
  `{"at": epoch s of HCX's answer | None, "rows": [Observation.row() | None, ...]}` in the order of
  the ids.
* `cancel_migrations(CancelRequest)`: ONE cancel call → `{"refused": message | None}`; HCX refuses a
  migration already switching over, which then ends as it ends.
* `reschedule_switchover(RescheduleRequest)`: one schedule call per migration group → `{"refused":
  {migration_id: message}}`.
* `verify_vms(VerifyRequest)`: each migrated VM at the destination with the expected power state and
  networks, and for Bulk the source copy powered off and renamed → `[[ok, [problems]], ...]`.
* `networks_in_use(NetworkUseRequest)`: the source VMs still on each network (cutover's check; the
  powered-off copies Bulk left of VMs this migration moved do not count) → `{network: [names]}`.

HCX's refusals come back as data; transport trouble (timeouts, 5xx, outages) raises so the
orchestrator's retry policy runs the activity again later, in durable time. This module depends on
`activities._clients`, `shared.engine` and `shared.hcx`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from activities import _clients
from shared.engine.observe import observe
from shared.engine.payloads import (
    CancelRequest,
    HcxTarget,
    NetworkUseRequest,
    QueryRequest,
    RescheduleRequest,
    StartRequest,
    ValidateRequest,
    VerifyRequest,
)
from shared.hcx import HcxClient, HcxConflict, HcxMessage, HcxNotFound, MigrationResult, migration_item

__all__ = [
    "bp",
    "cancel_migrations",
    "networks_in_use",
    "query_migrations",
    "reschedule_switchover",
    "start_migrations",
    "validate_migrations",
    "verify_vms",
]

bp = df.Blueprint()
log = logging.getLogger("hcx_conductor.migrations")


def _client(target: HcxTarget) -> Any:
    return _clients.hcx(target.side, target.cloud_id, target.hcx_url, target.pins)


def _texts(messages: list[HcxMessage]) -> list[str]:
    return [m.message or m.code or "refused" for m in messages]


def _warnings(messages: list[HcxMessage]) -> list[list[str]]:
    return [[m.code or "", m.message or ""] for m in messages]


def _by_entity(results: list[MigrationResult], entity_ids: list[str]) -> list[MigrationResult | None]:
    """HCX's per-item results in the order of the request (by entity id, else by position)."""
    if all(r.entity_id for r in results):
        found = {r.entity_id: r for r in results}
        return [found.get(e) for e in entity_ids]
    return [results[k] if k < len(results) else None for k in range(len(entity_ids))]


@bp.activity_trigger(input_name="payload")
def validate_migrations(payload: dict[str, Any]) -> list[list[Any]]:
    request = ValidateRequest.model_validate(payload)
    specs = request.batch.specs()
    if not specs:
        return []
    with _client(request.target) as hcx:
        results = hcx.validate_migrations([migration_item(spec) for spec in specs])
    out: list[list[Any]] = []
    for result in _by_entity(results, [spec.vm_id for spec in specs]):
        if result is None:
            out.append([False, ["HCX returned no result for this item"], []])
        else:
            out.append([result.ok, _texts(result.errors), _warnings(result.warnings)])
    return out


def _already_started(hcx: HcxClient, tags: list[str]) -> dict[str, Any]:
    """Migrations carrying one of `tags`, by tag (the filter is checked again on each answer)."""
    wanted = set(tags)
    found: dict[str, Any] = {}
    for migration in hcx.query_migrations(tags=tags):
        for tag in migration.tags or []:
            if tag in wanted and tag not in found:
                found[tag] = migration
    return found


@bp.activity_trigger(input_name="payload")
def start_migrations(payload: dict[str, Any]) -> list[dict[str, Any]]:
    request = StartRequest.model_validate(payload)
    specs = request.batch.specs()
    if not specs:
        return []
    tags = [spec.tags[0] for spec in specs]
    with _client(request.target) as hcx:
        # 1. Exactly once: did an earlier run of this very activity start some of them already?
        existing = _already_started(hcx, tags)
        todo = [(tag, spec) for tag, spec in zip(tags, specs, strict=True) if tag not in existing]
        started: list[MigrationResult | None] = []
        if todo:
            # 2. Start the rest in one call; the client never retries a start.
            results = hcx.start_migrations([migration_item(spec) for _, spec in todo])
            started = _by_entity(results, [spec.vm_id for _, spec in todo])
    answers = dict(zip([tag for tag, _ in todo], started, strict=True))
    out: list[dict[str, Any]] = []
    for tag in tags:
        if tag in existing:
            m = existing[tag]
            log.info("start %s: found migration %s already started, not starting again", tag, m.migration_id)
            out.append({"migration_id": m.migration_id, "group": m.migration_group_id, "adopted": True})
            continue
        result = answers.get(tag)
        if result is None:
            out.append({"migration_id": None, "errors": ["HCX returned no result for this item"]})
        elif result.migration_id and result.ok:
            out.append(
                {
                    "migration_id": result.migration_id,
                    "group": result.migration_group_id,
                    "adopted": False,
                    "warnings": _warnings(result.warnings),
                }
            )
        else:
            out.append(
                {
                    "migration_id": None,
                    "errors": _texts(result.errors),
                    "warnings": _warnings(result.warnings),
                }
            )
    return out


@bp.activity_trigger(input_name="payload")
def query_migrations(payload: dict[str, Any]) -> dict[str, Any]:
    request = QueryRequest.model_validate(payload)
    if not request.migration_ids:
        return {"at": None, "rows": []}
    with _client(request.target) as hcx:
        found = {m.migration_id: m for m in hcx.query_migrations(migration_ids=request.migration_ids)}
        at = hcx.server_time
    # One row per requested id, in its order (None: HCX did not return it); `at` is when HCX measured
    # the progress (its `Date`), so throughput is timed by HCX and not by when this activity ran.
    return {
        "at": at.timestamp() if at is not None else None,
        "rows": [observe(found[mid]).row() if mid in found else None for mid in request.migration_ids],
    }


@bp.activity_trigger(input_name="payload")
def cancel_migrations(payload: dict[str, Any]) -> dict[str, Any]:
    request = CancelRequest.model_validate(payload)
    if not request.migration_ids:
        return {"refused": None}
    with _client(request.target) as hcx:
        try:
            hcx.cancel_migrations(request.migration_ids)
        except (HcxConflict, HcxNotFound) as exc:
            # Every one refused: switching over already, or finished. The next poll shows which.
            return {"refused": str(exc)[:300]}
    return {"refused": None}


@bp.activity_trigger(input_name="payload")
def reschedule_switchover(payload: dict[str, Any]) -> dict[str, Any]:
    request = RescheduleRequest.model_validate(payload)
    start = datetime.fromtimestamp(request.start, tz=UTC) if request.start else None
    end = datetime.fromtimestamp(request.end, tz=UTC) if request.end else None
    refused: dict[str, str] = {}
    with _client(request.target) as hcx:
        for group, ids in sorted(request.groups.items()):
            try:
                answer = hcx.reschedule_switchover(group, ids, start, end)
            except (HcxConflict, HcxNotFound) as exc:
                refused.update({mid: str(exc)[:300] for mid in ids})
                continue
            refused.update({mid: "; ".join(_texts(messages))[:300] for mid, messages in answer.items()})
    return {"refused": refused}


@bp.activity_trigger(input_name="payload")
def verify_vms(payload: dict[str, Any]) -> list[list[Any]]:
    request = VerifyRequest.model_validate(payload)
    if not request.vms:
        return []
    bulk = [vm.entity_id for vm in request.vms if vm.type == "bulk"]
    with _client(request.target) as hcx:
        arrived = hcx.virtual_machines(request.destination_endpoint, names=[vm.name for vm in request.vms])
        sources = hcx.virtual_machines(request.source_endpoint, ids=bulk) if bulk else []
    at_destination: dict[str, list[Any]] = {}
    for vm in arrived:
        at_destination.setdefault(vm.name, []).append(vm)
    at_source = {vm.id: vm for vm in sources}
    out: list[list[Any]] = []
    for expected in request.vms:
        problems: list[str] = []
        copies = at_destination.get(expected.name, [])
        if len(copies) != 1:
            problems.append(f"{len(copies)} VMs named {expected.name} at the destination (expected 1)")
        else:
            vm = copies[0]
            if vm.powered_on != expected.powered_on:
                want = "on" if expected.powered_on else "off"
                problems.append(
                    f"powered {'on' if vm.powered_on else 'off'} at the destination, expected {want}"
                )
            # inferred: hcx-api.md has no VM inventory example (shared.hcx.InventoryVm); a manager that
            # lists no networks for a VM says nothing about them, so only a list that differs fails.
            if vm.networks and sorted(vm.networks) != sorted(expected.networks):
                problems.append(f"networks {vm.networks} at the destination, expected {expected.networks}")
        source = at_source.get(expected.entity_id)
        if expected.type == "bulk" and source is not None:
            # Bulk leaves the source behind powered off and renamed (anchors.md §1.1).
            if source.powered_on:
                problems.append("the source VM is still powered on")
            if source.name == expected.name:
                problems.append("the source VM was not renamed")
        out.append([not problems, problems])
    return out


@bp.activity_trigger(input_name="payload")
def networks_in_use(payload: dict[str, Any]) -> dict[str, list[str]]:
    request = NetworkUseRequest.model_validate(payload)
    wanted = set(request.networks)
    moved = set(request.moved)
    with _client(request.target) as hcx:
        inventory = hcx.virtual_machines(request.source_endpoint)
    use: dict[str, list[str]] = {name: [] for name in request.networks}
    for vm in inventory:
        if vm.id in moved and not vm.powered_on:
            continue  # what Bulk left behind of a VM this migration moved
        for network in set(vm.networks) & wanted:
            use[network].append(vm.name)
    return {name: sorted(names) for name, names in use.items()}
