"""The HTTP API's contract: an OpenAPI 3.1 document generated from the app's pydantic models.

    from shared.openapi import openapi_document, documented_routes

    openapi_document("https://func-x.azurewebsites.net/api")  # what GET /api/openapi.json serves
    documented_routes()                                      # {("POST", "migrations"), ...}

`OPERATIONS` is the table of what the API offers: one `Operation` per route and method, naming the
models of its request and of each answer. The schemas themselves are never written here: they come
from the models that shape the wire (`shared.plan.MigrationPlan`, the `*Body` models of `shared.api`,
`MigrationStatus`/`MigrationSummary` of `shared.status`, `shared.findings.Finding`). The generator does
not read `function_app.py`; a test compares `documented_routes()` with the routes the app registers,
so a route added on one side only fails CI (tests/app/test_openapi.py).

Authentication: every route takes a function key (`x-functions-key` or `?code=`) except the document
itself, which is anonymous: it holds no instance data and no secret, only what docs/api.md already
says, and the tools that import a contract (API Management, Logic Apps custom connectors, client
generators) fetch it without one.

Library choice: pydantic's own `models_json_schema` generates every schema into one
`components/schemas` with OpenAPI references; OpenAPI 3.1 takes JSON Schema 2020-12, which is what
pydantic emits, so nothing is converted. The envelope (paths, parameters, headers, security) is a
small dict built here. FastAPI would mean declaring the routes a second time in another framework,
openapi-pydantic would add a runtime dependency to the Function App for typed versions of these few
dicts, and apispec is built around marshmallow. CI validates the result with openapi-spec-validator.

`python -m shared.openapi` prints the document; `--write` refreshes docs/openapi.json (a test checks
that the checked-in copy is current). This module depends on pydantic and the model modules named
above only: not on azure-functions, the Durable client or the app.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.api import (
    RETRY_AFTER_SECONDS,
    ActionAcceptedBody,
    ApproveBody,
    CancelAcceptedBody,
    CancelBody,
    ErrorBody,
    MigrationListBody,
    PlanErrorBody,
    RetryBody,
    SubmissionBody,
    ValidationPendingBody,
    ValidationResultBody,
)
from shared.plan import MigrationPlan
from shared.status import PHASES, MigrationStatus

__all__ = [
    "API_VERSION",
    "DOC_PATH",
    "OPERATIONS",
    "Answer",
    "Operation",
    "Param",
    "document_text",
    "documented_routes",
    "openapi_document",
    "openapi_path",
]

# The contract's own version: raise the minor for an addition, the major for a breaking change.
API_VERSION = "1.0.0"
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
_REF = "#/components/schemas/{model}"
_PLAN_MEDIA = ("application/json", "application/yaml")
_Refs = dict[tuple[Any, JsonSchemaMode], Any]  # (model, mode) -> {"$ref": ...}
_ROUTE_PARAM = re.compile(r"\{([^}:?]+)(?::[^}]*)?\??\}")


@dataclass(frozen=True)
class Answer:
    """One response: its status, when it is given, and the model of its JSON body (None: no body)."""

    status: int
    description: str
    model: type[BaseModel] | None = ErrorBody
    # 202s of the asynchronous pattern carry Location (poll it) and Retry-After (seconds to wait).
    polling: bool = False
    schema: dict[str, Any] | None = None  # a body that no model describes (the document itself)


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query"]
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    """One route and method, as `function_app.py` declares it (route without the `api/` prefix)."""

    method: str
    route: str
    operation_id: str  # the function's name in function_app.py
    summary: str
    description: str
    answers: tuple[Answer, ...]
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None
    body_media: tuple[str, ...] = ("application/json",)
    body_required: bool = True
    anonymous: bool = False
    tag: str = "migrations"


def _plan_id_schema() -> dict[str, Any]:
    # The same rule as the plan's `id` field: one place for it.
    prop = MigrationPlan.model_json_schema()["properties"]["id"]
    return {"type": "string", "pattern": prop["pattern"]}


_ID = Param("id", "path", "The plan's id (the migration's instance is `mig-{id}`).", _plan_id_schema())
_BAD_ID = Answer(400, "Not a plan id (3-63 of a-z, 0-9 and '-').")
_BAD_PLAN = Answer(400, "The plan is invalid: every bad field by its JSON pointer.", PlanErrorBody)
_NO_MIGRATION = Answer(404, "No migration with this id.")
_BAD_ACTION = Answer(
    400,
    "Not a plan id; a body that is not a JSON object, has a field the action does not take or a blank "
    "name; or a wave or network the plan lacks.",
)
_NOT_RUNNING = Answer(409, "The migration is not running.")
_VALIDATED = Answer(
    200, "The validation ended: its findings and the fixes a real run would make.", ValidationResultBody
)
_VALIDATING = Answer(202, "The validation still runs: poll Location.", ValidationPendingBody, polling=True)
_VALIDATION_FAILED = Answer(500, "The validation itself failed (not the plan: see the app's logs).")


def _action(
    action: str, summary: str, description: str, accepted: Answer, body: type[BaseModel]
) -> Operation:
    """POST migrations/{id}/<action>: an operator's action on a running migration, optional JSON body."""
    return Operation(
        "POST",
        f"migrations/{{id}}/{action}",
        f"{action}_migration",
        summary,
        description,
        (accepted, _BAD_ACTION, _NO_MIGRATION, _NOT_RUNNING),
        params=(_ID,),
        body=body,
        body_required=False,
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "migrations",
        "submit_migration",
        "Submit a migration plan",
        "Starts the migration `mig-{id}`, or finds the one already running the same plan (same digest). "
        "Always answers 202 with Location: poll it until it answers 200, then read `phase`.",
        (
            Answer(202, "Accepted: poll Location.", SubmissionBody, polling=True),
            _BAD_PLAN,
            Answer(409, "Another version of the plan is running under this id; cancel it or let it end."),
        ),
        body=MigrationPlan,
        body_media=_PLAN_MEDIA,
    ),
    Operation(
        "POST",
        "migrations/validate",
        "validate_plan",
        "Validate a plan against both clouds (preflight only; changes nothing)",
        "Runs the preflight as `val-{id}-{digest[:12]}` and waits up to about 25 s for it.",
        (_VALIDATED, _VALIDATING, _BAD_PLAN, _VALIDATION_FAILED),
        body=MigrationPlan,
        body_media=_PLAN_MEDIA,
    ),
    Operation(
        "GET",
        "validations/{instance}",
        "validation_status",
        "A validation that answered 202",
        "202 while it runs, then 200 with the findings.",
        (
            _VALIDATED,
            _VALIDATING,
            Answer(400, "Not a validation id (val-<plan id>-<12 hex digits>)."),
            Answer(404, "No such validation."),
            _VALIDATION_FAILED,
        ),
        params=(Param("instance", "path", "The validation's instance id, from Location."),),
        tag="validations",
    ),
    Operation(
        "GET",
        "migrations",
        "list_migrations",
        "List migrations",
        "One line per migration, newest first; every filter is optional. The Durable client returns at "
        "most 100 instances per query, children included: filter on a busy task hub.",
        (
            Answer(200, "The migrations that match.", MigrationListBody),
            Answer(400, "A filter is malformed; the message names it."),
        ),
        params=(
            Param(
                "status",
                "query",
                "Durable runtime statuses, comma-separated (e.g. Running,Completed).",
            ),
            Param(
                "phase", "query", "Only migrations in this phase.", {"type": "string", "enum": list(PHASES)}
            ),
            Param("prefix", "query", "Only plan ids that start with this."),
            Param(
                "created_from",
                "query",
                "Created at or after (ISO 8601).",
                {"type": "string", "format": "date-time"},
            ),
            Param(
                "created_to",
                "query",
                "Created at or before (ISO 8601).",
                {"type": "string", "format": "date-time"},
            ),
        ),
    ),
    Operation(
        "GET",
        "migrations/{id}",
        "migration_status",
        "A migration's status document",
        "202 (with Location and Retry-After) while the migration runs; 200 once it ended, well or not: "
        "`phase` says how (completed, prepared, blocked, failed, cancelled).",
        (
            Answer(200, "The migration ended; `phase` says how.", MigrationStatus),
            Answer(202, "The migration runs: poll Location.", MigrationStatus, polling=True),
            _BAD_ID,
            _NO_MIGRATION,
        ),
        params=(_ID,),
    ),
    _action(
        "cancel",
        "Cancel a running migration, one wave or one VM",
        "Raises `cancel` on the migration and on the wave or cutover that runs (the preparation is "
        "terminated). Migrations already switching over end as they end. Body (optional): "
        '`{"wave"}` or `{"vm"}`; without one the whole migration ends `cancelled`.',
        Answer(202, "Cancelling: poll Location.", CancelAcceptedBody, polling=True),
        CancelBody,
    ),
    _action(
        "approve",
        "Approve switchovers (the migration, one wave) or one network's cutover",
        'Releases switchovers held for approval (docs/engine.md). Body (optional): `{"wave"}`, '
        '`{"network"}`, `{"by"}`; without a target it approves the whole migration, waves '
        "started later included.",
        Answer(202, "Approved: poll Location.", ActionAcceptedBody, polling=True),
        ApproveBody,
    ),
    _action(
        "retry",
        "Retry the failed VMs",
        "Gives failed, blocked and skipped VMs a fresh set of attempts: the running wave at once, a "
        'halted wave runs again, an earlier wave once more. Body (optional): `{"wave"}`, `{"vm"}`.',
        Answer(202, "Retrying: poll Location.", ActionAcceptedBody, polling=True),
        RetryBody,
    ),
    Operation(
        "GET",
        "openapi.json",
        "openapi_document",
        "This document",
        "The API's OpenAPI 3.1 contract, generated from the app's models. Anonymous: it holds no data.",
        (Answer(200, "The OpenAPI document.", None, schema={"type": "object"}),),
        anonymous=True,
        tag="contract",
    ),
)


def openapi_path(route: str) -> str:
    """A Functions route template as an OpenAPI path: `migrations/{id:regex(..)}` → `/migrations/{id}`."""
    return "/" + _ROUTE_PARAM.sub(lambda m: "{" + m.group(1) + "}", route.strip("/"))


def documented_routes() -> set[tuple[str, str]]:
    """Every (METHOD, route) the document describes, routes as function_app.py spells them."""
    return {(op.method, op.route) for op in OPERATIONS}


def _schemas() -> tuple[_Refs, dict[str, Any]]:
    """Every model's schema under components/schemas: requests as validated, answers as serialized."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for op in OPERATIONS:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        for answer in op.answers:
            if answer.model is not None:
                wanted[(answer.model, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=_REF)
    return refs, top.get("$defs", {})


def _param(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": param.where,
        "required": param.where == "path",
        "description": param.description,
        "schema": param.schema,
    }


def _answer(answer: Answer, refs: _Refs) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    schema = refs[(answer.model, "serialization")] if answer.model is not None else answer.schema
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    if answer.polling:
        out["headers"] = {
            "Location": {"$ref": "#/components/headers/Location"},
            "Retry-After": {"$ref": "#/components/headers/Retry-After"},
        }
    return out


def _operation(op: Operation, refs: _Refs) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
    }
    if op.params:
        out["parameters"] = [_param(p) for p in op.params]
    if op.body is not None:
        schema = refs[(op.body, "validation")]
        out["requestBody"] = {
            "required": op.body_required,
            "content": {media: {"schema": schema} for media in op.body_media},
        }
    responses = {str(a.status): _answer(a, refs) for a in op.answers}
    if op.anonymous:
        out["security"] = []
    else:
        responses["401"] = {"description": "No function key, or a wrong one (the host answers, no body)."}
    out["responses"] = dict(sorted(responses.items()))
    return out


def openapi_document(server_url: str = "/api") -> dict[str, Any]:
    """The OpenAPI 3.1 document; `server_url` is the API's base (the app's `https://<host>/api`)."""
    refs, schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.route), {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HCX Conductor",
            "version": API_VERSION,
            "summary": "Migrate VMware workloads between two Azure VMware Solution private clouds with HCX.",
            "description": "Submit a migration plan, follow it through the asynchronous 202 + Location "
            "pattern, validate a plan, list, cancel. The same plans are accepted on the "
            "`migration-requests` queue and as Event Grid events (docs/api.md).",
            "license": {"name": "MIT", "identifier": "MIT"},  # as pyproject.toml says
        },
        "servers": [{"url": server_url}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "tags": [
            {"name": "migrations", "description": "Submit, follow, list and steer migrations."},
            {"name": "validations", "description": "Preflight-only runs that change nothing."},
            {"name": "contract", "description": "This document."},
        ],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "headers": {
                "Location": {
                    "description": "Where to poll. Carries the caller's own function key as `code` when "
                    "the request had one, so a poller that drops headers (Logic Apps) can follow it.",
                    "schema": {"type": "string", "format": "uri"},
                },
                "Retry-After": {
                    "description": "Seconds to wait before polling again.",
                    "schema": {"type": "integer", "minimum": 1, "examples": [RETRY_AFTER_SECONDS]},
                },
            },
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }


def document_text(server_url: str = "/api") -> str:
    return json.dumps(openapi_document(server_url), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if argv == []:
        sys.stdout.write(document_text())
        return 0
    if argv == ["--write"]:
        DOC_PATH.write_text(document_text(), encoding="utf-8")
        print(f"wrote {DOC_PATH}")
        return 0
    print("usage: python -m shared.openapi [--write]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
