"""The app's front door: what each trigger does, as plain functions over a Durable client.

`function_app.py` declares the triggers and turns a `Reply` into an `HttpResponse`; everything a
trigger decides lives here, the same for HTTP, the queue and Event Grid (docs/api.md):

* `submit(client, submission, links)`: start `migration` as `mig-{id}` unless the same plan already
  runs (idempotent), refuse another plan under a running id (409), re-run a plan whose last run was
  blocked or failed; always 202 with `Location` + `Retry-After` (Logic Apps' asynchronous pattern).
* `validate(client, submission, links)`: run `validate_migration` (preflight only, changes nothing)
  and wait a little for it: 200 with the findings, or 202 + `Location` to poll.
* `migration_status`, `validation_status`: 202 while running, 200 with the result when done.
* `list_migrations(client, filters)`: the root instances, filtered.
* `operate(client, plan_id, action, body, ...)`: `approve`, `cancel` or `retry` (optionally for a wave,
  a VM or a network) raised on the root and on the running wave or cutover (docs/engine.md); a cancel
  terminates the preparation child. `cancel(...)` is `operate(..., "cancel", ...)`.
* `from_queue(client, text)`, `from_event(client, ...)`: the same submission for queue messages and
  Event Grid events; a bad plan is reported (poison / log), never retried.

The bodies are built as plain dicts; the `*Body` models at the end are their wire shapes, which the
OpenAPI document (`shared.openapi`) publishes and a test checks the answers against.

The Durable client is used through its public async methods only (start_new, get_status,
get_status_by, raise_event, terminate). No secret passes through here: plans hold none, and the
function key echoed into `Location` (so a Logic App can poll it) is the caller's own. This module
depends on `shared.intake`, `shared.status`, `shared.plan` and pydantic.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import PlanError
from shared.findings import Finding
from shared.intake import (
    ACTIVE_STATUSES,
    BlobRequest,
    Existing,
    Ignored,
    PlanRequest,
    Submission,
    classify_event,
    decide,
    instance_id,
    plan_id_of,
    read_plan_blob,
    submission_from_data,
    submission_from_text,
    validation_id,
)
from shared.status import MigrationSummary, Snapshot, migration_view, summary_view

__all__ = [
    "ACTION_BODIES",
    "ROOT_ORCHESTRATOR",
    "VALIDATE_ORCHESTRATOR",
    "ActionAcceptedBody",
    "ApproveBody",
    "CancelAcceptedBody",
    "CancelBody",
    "ErrorBody",
    "FieldError",
    "Intake",
    "Links",
    "MigrationListBody",
    "PlanErrorBody",
    "Reply",
    "RetryBody",
    "SubmissionBody",
    "ValidationPendingBody",
    "ValidationResultBody",
    "cancel",
    "from_event",
    "from_queue",
    "list_migrations",
    "migration_status",
    "operate",
    "plan_error",
    "snapshot",
    "submit",
    "validate",
    "validation_status",
]

log = logging.getLogger("hcx_conductor.api")

ROOT_ORCHESTRATOR = "migration"
VALIDATE_ORCHESTRATOR = "validate_migration"
RETRY_AFTER_SECONDS = 15
# How long POST /validate waits for the preflight before answering 202 (wall seconds).
VALIDATE_WAIT_SECONDS = 25.0
_POLL_SECONDS = 0.2
_PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_VALIDATION_ID = re.compile(r"^val-[a-z0-9][a-z0-9-]{1,61}[a-z0-9]-[0-9a-f]{12}$")
_RUNTIME_STATUSES = ("Pending", "Running", "Completed", "Failed", "Terminated", "ContinuedAsNew", "Suspended")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, JSON body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return json.dumps(self.body, sort_keys=False, default=str)


@dataclass(frozen=True)
class Links:
    """Builds the app's own URLs; `code` (the caller's function key) rides along for pollers."""

    api_base: str
    code: str | None = None

    def _url(self, path: str) -> str:
        url = f"{self.api_base.rstrip('/')}/{path}"
        return f"{url}?{urlencode({'code': self.code})}" if self.code else url

    def migration(self, plan_id: str) -> str:
        return self._url(f"migrations/{quote(plan_id)}")

    def validation(self, instance: str) -> str:
        return self._url(f"validations/{quote(instance)}")


def plan_error(exc: PlanError) -> Reply:
    """400 naming every bad field by its JSON pointer (the findings say the same as PLAN_INVALID)."""
    return Reply(
        400,
        {
            "error": "the plan is invalid",
            "errors": exc.errors,
            "findings": [f.model_dump(mode="json") for f in exc.findings()],
        },
    )


def _error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": message, **extra})


def _accepted(body: dict[str, Any], location: str) -> Reply:
    return Reply(202, body, {"Location": location, "Retry-After": str(RETRY_AFTER_SECONDS)})


# --- reading Durable statuses ----------------------------------------------------------------------


def _parse(value: Any) -> Any:
    # The status API returns an instance's input as JSON text, and the Python client's start_new
    # encodes it twice (durable.md §8.3): undo up to two layers.
    for _ in range(2):
        if not (isinstance(value, str) and value[:1] in ("{", "[", '"')):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def _time(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value) if value else None


def snapshot(status: Any) -> Snapshot | None:
    """A `Snapshot` of a `DurableOrchestrationStatus`; None when the instance does not exist."""
    if not status or not getattr(status, "instance_id", None):
        return None
    runtime = status.runtime_status
    return Snapshot(
        instance_id=status.instance_id,
        runtime_status=getattr(runtime, "value", None) or str(runtime or ""),
        custom_status=_parse(status.custom_status),
        output=_parse(status.output),
        created=_time(status.created_time),
        updated=_time(status.last_updated_time),
        input=_parse(status.input_),
    )


async def _get(client: Any, instance: str, *, show_input: bool = False) -> Snapshot | None:
    return snapshot(await client.get_status(instance, show_input=show_input))


def _existing(found: Snapshot | None) -> Existing | None:
    if found is None:
        return None
    digest = found.custom.get("digest")
    if digest is None and isinstance(found.input, dict):
        digest = found.input.get("digest")
    return Existing(found.runtime_status, digest, found.custom.get("phase"))


# --- submitting ------------------------------------------------------------------------------------


async def submit(client: Any, submission: Submission, links: Links) -> Reply:
    """Start (or find) the migration of `submission`: 202 + Location, or 409 for another plan."""
    iid = submission.instance_id
    digest = submission.digest
    current = _existing(await _get(client, iid, show_input=True))
    decision = decide(current, digest)
    body = {
        "id": submission.plan.id,
        "instance_id": iid,
        "digest": digest,
        "status_url": links.migration(submission.plan.id),
    }
    if decision == "conflict":
        assert current is not None
        return _error(
            409,
            f"migration {submission.plan.id!r} is running with another version of the plan; cancel it or "
            "wait for it to end before submitting a changed plan",
            instance_id=iid,
            running_digest=current.digest,
            digest=digest,
        )
    if decision == "existing":
        log.info(
            "plan %s (digest %s) is already %s: nothing started",
            submission.plan.id,
            digest[:12],
            current and current.runtime_status,
        )
        return _accepted(
            {**body, "started": False, "decision": decision}, links.migration(submission.plan.id)
        )
    try:
        await client.start_new(ROOT_ORCHESTRATOR, instance_id=iid, client_input=submission.root_input())
    except Exception:
        # Another submission of this id won the race: decide again on what it started.
        again = _existing(await _get(client, iid, show_input=True))
        if decide(again, digest) != "existing":
            return _error(
                409,
                f"migration {submission.plan.id!r} was started concurrently with another plan",
                instance_id=iid,
            )
        decision = "existing"
    log.info("migration %s %s from %s (digest %s)", iid, decision, submission.source, digest[:12])
    started = decision in ("start", "restart")
    return _accepted({**body, "started": started, "decision": decision}, links.migration(submission.plan.id))


async def validate(
    client: Any, submission: Submission, links: Links, *, wait_seconds: float = VALIDATE_WAIT_SECONDS
) -> Reply:
    """Preflight only: 200 with findings when it finishes within `wait_seconds`, else 202 + Location."""
    iid = validation_id(submission.plan.id, submission.digest)
    current = await _get(client, iid)
    if current is None or current.finished:
        await client.start_new(
            VALIDATE_ORCHESTRATOR, instance_id=iid, client_input=submission.root_input(validate_only=True)
        )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        found = await _get(client, iid)
        if found is not None and found.finished:
            return _validation_reply(found)
        await asyncio.sleep(_POLL_SECONDS)
    return _accepted({"instance_id": iid, "status_url": links.validation(iid)}, links.validation(iid))


def _validation_reply(found: Snapshot) -> Reply:
    output = found.output if isinstance(found.output, dict) else {}
    findings = list(output.get("findings") or [])
    if found.runtime_status != "Completed":
        return _error(500, f"the validation ended {found.runtime_status}", instance_id=found.instance_id)
    valid = output.get("state") == "validated" and not any(f.get("severity") == "error" for f in findings)
    return Reply(
        200,
        {
            "instance_id": found.instance_id,
            "valid": valid,
            "findings": findings,
            "actions": output.get("actions", []),
        },
    )


async def validation_status(client: Any, instance: str, links: Links) -> Reply:
    if not _VALIDATION_ID.match(instance):
        return _error(400, "not a validation id (val-<plan id>-<12 hex digits>)")
    found = await _get(client, instance)
    if found is None:
        return _error(404, f"no validation {instance!r}")
    if not found.finished:
        return _accepted(
            {"instance_id": instance, "status_url": links.validation(instance)}, links.validation(instance)
        )
    return _validation_reply(found)


# --- reading migrations ----------------------------------------------------------------------------


async def migration_status(client: Any, plan_id: str, links: Links) -> Reply:
    """The domain view: 202 (+ Location, Retry-After) while the migration runs, 200 when it ended."""
    if not _PLAN_ID.match(plan_id):
        return _error(400, "the migration id must be a plan id (3-63 of a-z, 0-9 and '-')")
    iid = instance_id(plan_id)
    root = await _get(client, iid)
    if root is None:
        return _error(404, f"no migration {plan_id!r}")
    children = [
        s for s in (snapshot(x) for x in await client.get_status_by(instance_id_prefix=f"{iid}:")) if s
    ]
    view = migration_view(root, children)
    if root.finished:
        return Reply(200, view)
    return _accepted(view, links.migration(plan_id))


def _filters(params: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """Query parameters → get_status_by arguments; an error text for a bad one."""
    from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

    args: dict[str, Any] = {"instance_id_prefix": instance_id(params.get("prefix", "").strip())}
    statuses = [s.strip() for s in params.get("status", "").split(",") if s.strip()]
    for name in statuses:
        if name not in _RUNTIME_STATUSES:
            return args, f"status: {name!r} is not one of {', '.join(_RUNTIME_STATUSES)}"
    if statuses:
        args["runtime_status"] = [OrchestrationRuntimeStatus(s) for s in statuses]
    for key, arg in (("created_from", "created_time_from"), ("created_to", "created_time_to")):
        text = params.get(key, "").strip()
        if text:
            try:
                args[arg] = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return args, f"{key}: must be an ISO 8601 time, e.g. 2026-01-05T09:00:00Z"
    return args, None


async def list_migrations(client: Any, params: Mapping[str, str]) -> Reply:
    """`GET /api/migrations?status=&phase=&prefix=&created_from=&created_to=`."""
    args, problem = _filters(params)
    if problem:
        return _error(400, problem)
    phase = params.get("phase", "").strip() or None
    rows = []
    for status in await client.get_status_by(**args):
        found = snapshot(status)
        if found is None or plan_id_of(found.instance_id) is None:
            continue  # children and validations are not migrations
        row = summary_view(found)
        if phase is None or row["phase"] == phase:
            rows.append(row)
    rows.sort(key=lambda r: str(r.get("created") or ""), reverse=True)
    return Reply(200, {"migrations": rows, "count": len(rows)})


async def cancel(client: Any, plan_id: str, links: Links, by: str = "", body: Any = None) -> Reply:
    """Cancel a running migration, one wave (`{"wave"}`) or one VM (`{"vm"}`) (docs/engine.md)."""
    return await operate(client, plan_id, "cancel", body, links, by)


# The body each operator action accepts is its model's fields (`ACTION_BODIES`, at the end): names,
# never anything else; the OpenAPI document publishes the same models.


def _action_body(action: str, body: Any) -> tuple[dict[str, str], str | None]:
    if body in (None, b"", ""):
        return {}, None
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}, "the body must be a JSON object"
    if body is None:
        return {}, None
    if not isinstance(body, dict):
        return {}, "the body must be a JSON object"
    allowed = tuple(ACTION_BODIES[action].model_fields)
    extra = sorted(set(body) - set(allowed))
    if extra:
        return {}, f"{', '.join(extra)}: not accepted by {action} (allowed: {', '.join(allowed)})"
    for key, value in body.items():
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 255):
            return {}, f"{key}: must be a non-empty name"
    return {k: v for k, v in body.items() if v is not None}, None


async def operate(client: Any, plan_id: str, action: str, body: Any, links: Links, by: str = "") -> Reply:
    """approve, cancel or retry: the event goes to the root and to the wave or cutover that runs.

    The event carries a fresh `request_id`, so an instance that receives it twice applies it once.
    The preparation child is terminated by a cancel (it holds nothing half done that a cancel must
    wait for); a wave or the cutover is never terminated: they stop what has not switched over and
    end on their own. Unknown waves or networks are 400, a finished migration 409.
    """
    if not _PLAN_ID.match(plan_id):
        return _error(400, "the migration id must be a plan id (3-63 of a-z, 0-9 and '-')")
    fields, problem = _action_body(action, body)
    if problem:
        return _error(400, problem)
    iid = instance_id(plan_id)
    root = await _get(client, iid, show_input=True)
    if root is None:
        return _error(404, f"no migration {plan_id!r}")
    if root.finished:
        ended = root.custom.get("phase") or root.runtime_status
        return _error(409, f"migration {plan_id!r} is not running (it ended {ended})")
    problem = _unknown_target(root, fields)
    if problem:
        return _error(400, problem)
    payload = {**fields, "by": fields.get("by") or by or "http", "request_id": uuid.uuid4().hex}
    try:
        await client.raise_event(iid, action, payload)
    except Exception as exc:  # it ended between the two calls (410 Gone from the Durable API)
        log.info("migration %s: %s not raised (%s)", iid, action, exc)
        return _error(409, f"migration {plan_id!r} is not running")
    delivered, terminated = [iid], []
    for status in await client.get_status_by(instance_id_prefix=f"{iid}:"):
        child = snapshot(status)
        if child is None or child.runtime_status not in ACTIVE_STATUSES:
            continue
        name = child.instance_id
        try:
            if name.endswith(":prepare"):
                if action == "cancel" and not fields.get("wave") and not fields.get("vm"):
                    await client.terminate(name, f"migration {plan_id} cancelled")
                    terminated.append(name)
            elif ":wave-" in name or name.endswith(":cutover"):
                await client.raise_event(name, action, payload)
                delivered.append(name)
        except Exception as exc:  # it ended meanwhile
            log.info("migration %s: child %s already ended (%s)", iid, name, exc)
    log.info("migration %s: %s by %s delivered to %s", iid, action, payload["by"], delivered)
    answer: dict[str, Any] = {
        "id": plan_id,
        "instance_id": iid,
        "action": action,
        "request_id": payload["request_id"],
        "delivered_to": delivered,
    }
    if action == "cancel":
        answer.update({"cancelling": True, "terminated": terminated})
    return _accepted(answer, links.migration(plan_id))


def _unknown_target(root: Snapshot, fields: dict[str, str]) -> str | None:
    """A wave or network the migration's plan does not have (the plan is the root's input)."""
    data = root.input
    for _ in range(3):  # stored JSON may be encoded more than once (durable.md §8.3)
        if not isinstance(data, str):
            break
        try:
            data = json.loads(data)
        except ValueError:
            return None
    plan = data.get("plan") if isinstance(data, dict) else None
    if not isinstance(plan, dict):
        return None
    waves = {w.get("name") for w in plan.get("waves") or [] if isinstance(w, dict)}
    if fields.get("wave") and fields["wave"] not in waves:
        return f"wave: the plan has no wave {fields['wave']!r}"
    cutover = plan.get("network_cutover") or {}
    if fields.get("network") and fields["network"] not in (cutover.get("networks") or []):
        return f"network: {fields['network']!r} is not among the plan's networks to cut over"
    return None


# --- queue and Event Grid --------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    """What a queue message or an event led to: accepted (with the reply), or refused with a reason."""

    accepted: bool
    reason: str = ""
    reply: Reply | None = None


def _reasons(exc: PlanError) -> str:
    return "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in exc.errors)


async def _submit_or_refuse(client: Any, submission: Submission, where: str) -> Intake:
    reply = await submit(client, submission, Links(""))
    if reply.status == 409:
        reason = str(reply.body.get("error"))
        log.error("%s: refused: %s", where, reason)
        return Intake(False, reason, reply)
    return Intake(True, "", reply)


async def from_queue(client: Any, text: str, message_id: str = "") -> Intake:
    """A queue message holding a plan (JSON or YAML). Refused messages go to poison (the caller)."""
    where = f"queue message {message_id}".strip()
    try:
        submission = submission_from_text(
            text, None, "queue", f"queue:{message_id}" if message_id else "queue"
        )
    except PlanError as exc:
        log.error("%s: invalid plan, moved to poison: %s", where, _reasons(exc))
        return Intake(False, _reasons(exc))
    return await _submit_or_refuse(client, submission, where)


async def from_event(
    client: Any, event_type: str, subject: str | None, data: Any, environ: Mapping[str, str] | None = None
) -> Intake:
    """An Event Grid event: a MigrationRequested plan, or a Blob Created plan file read with the app's
    identity. A bad plan is logged and dropped (a retry would fail the same way)."""
    import os

    env = os.environ if environ is None else environ
    container = env.get("PLANS_CONTAINER", "").strip() or "plans"
    request = classify_event(event_type, subject, data, plans_container=container)
    if isinstance(request, Ignored):
        log.info("event %s ignored: %s", event_type, request.reason)
        return Intake(False, request.reason)
    where = f"event {event_type} ({subject or 'no subject'})"
    try:
        if isinstance(request, PlanRequest):
            submission = submission_from_data(request.data, "eventgrid", request.submitted_by)
        else:
            assert isinstance(request, BlobRequest)
            content, media = await asyncio.to_thread(read_plan_blob, request.url, env)
            submission = submission_from_text(content, media, "eventgrid", request.submitted_by)
    except PlanError as exc:
        log.error("%s: invalid plan, not started: %s", where, _reasons(exc))
        return Intake(False, _reasons(exc))
    return await _submit_or_refuse(client, submission, where)


# --- the wire shapes of the bodies above (shared.openapi publishes them) ------------------------------


class ErrorBody(BaseModel):
    """Any 4xx (and a validation that failed): `error` says what is wrong, in words."""

    error: str
    instance_id: str | None = Field(None, description="The Durable instance concerned, when there is one.")
    running_digest: str | None = Field(None, description="409 on submit: the digest of the running plan.")
    digest: str | None = Field(None, description="409 on submit: the digest of the plan just sent.")


class FieldError(BaseModel):
    path: str = Field(description="RFC 6901 JSON pointer into the plan; empty for the document itself.")
    message: str


class PlanErrorBody(BaseModel):
    """400 for a plan that cannot run: every bad field, and the same as PLAN_INVALID findings."""

    error: str
    errors: list[FieldError]
    findings: list[Finding]


class SubmissionBody(BaseModel):
    """202 to `POST /api/migrations`: what runs under the plan's id; poll `status_url` (= Location)."""

    id: str
    instance_id: str
    digest: str = Field(description="sha256 of the plan's canonical JSON: the idempotency key's version.")
    status_url: str
    started: bool = Field(description="False when the same plan was already running or done.")
    decision: Literal["start", "restart", "existing"]


class ValidationPendingBody(BaseModel):
    """202 while a validation runs: poll `status_url` (= Location)."""

    instance_id: str
    status_url: str


class ValidationResultBody(BaseModel):
    """200 once a validation ended: `valid` is false when any finding is an error."""

    instance_id: str
    valid: bool
    findings: list[Finding]
    actions: list[str] = Field(description="What a real run would fix or create first.")


class MigrationListBody(BaseModel):
    migrations: list[MigrationSummary] = Field(description="Newest first.")
    count: int


# A name in an action's body: what `_action_body` accepts (not blank, at most 255 characters).
_Name = Annotated[str | None, Field(min_length=1, max_length=255, pattern=r"\S")]


class _ActionBody(BaseModel):
    # Unknown fields are refused (400), so the schema says so (additionalProperties: false).
    model_config = ConfigDict(extra="forbid")

    by: _Name = Field(default=None, description="Who acts, for the timeline and the events.")


class ApproveBody(_ActionBody):
    """The optional body of approve: nothing (the whole migration), a wave, or a network's cutover."""

    wave: _Name = Field(default=None, description="Approve this wave's switchovers only.")
    network: _Name = Field(default=None, description="Approve this network's cutover only.")


class CancelBody(_ActionBody):
    """The optional body of cancel: nothing (the whole migration), a wave, or a VM."""

    wave: _Name = Field(default=None, description="Cancel this wave only.")
    vm: _Name = Field(default=None, description="Cancel this VM only.")


class RetryBody(_ActionBody):
    """The optional body of retry: nothing (every failed VM), a wave, or a VM."""

    wave: _Name = Field(default=None, description="Retry this wave's failed VMs only.")
    vm: _Name = Field(default=None, description="Retry this VM only.")


class ActionAcceptedBody(BaseModel):
    """202 to approve or retry: the event was raised on the migration and the wave that runs."""

    id: str
    instance_id: str
    action: str
    request_id: str = Field(description="Carried by the event; an instance applies it once.")
    delivered_to: list[str] = Field(description="The instances the event was raised on.")


class CancelAcceptedBody(BaseModel):
    """202 to a cancel: the event was raised; the migration ends `cancelled` (poll Location)."""

    id: str
    instance_id: str
    cancelling: bool
    terminated: list[str] = Field(description="The child instances terminated now (preparation).")
    action: str | None = None
    request_id: str | None = None
    delivered_to: list[str] = Field(
        default_factory=list, description="The instances the event was raised on."
    )


ACTION_BODIES: dict[str, type[_ActionBody]] = {
    "approve": ApproveBody,
    "cancel": CancelBody,
    "retry": RetryBody,
}
