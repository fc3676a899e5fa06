"""The OpenAPI document: valid OpenAPI 3.1, exactly the routes function_app.py registers, served
anonymously at /api/openapi.json, current in docs/openapi.json, and true to what the app answers.

The conformance test drives the real app on the local runtime against the sandbox and checks every
answer against the document: its status must be listed for that route, its body must match the
listed schema and declare no top-level field the schema does not, and a polling answer must carry
Location and Retry-After.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi

from shared.api import MigrationListBody
from shared.openapi import DOC_PATH, document_text, documented_routes, openapi_document, openapi_path
from shared.status import MigrationStatus, Snapshot, migration_view, summary_view
from tests.app.conftest import PLAN_FOR, PLANS, Factory, Stack, plan, scenario

SAME = "weu-consolidation"


def registered_routes() -> dict[tuple[str, str], tuple[str, str]]:
    """(METHOD, route) → (function name, auth level) for every HTTP trigger the app registers."""
    import function_app

    routes: dict[tuple[str, str], tuple[str, str]] = {}
    for function in function_app.app.get_functions():
        for binding in function.get_bindings():
            spec = binding.get_dict_repr()
            if spec["type"] != "httpTrigger":
                continue
            methods = [str(getattr(m, "value", m)).upper() for m in spec.get("methods") or []]
            assert methods, f"{function.get_function_name()} accepts any method: declare them"
            level = str(getattr(spec.get("authLevel"), "value", spec.get("authLevel"))).upper()
            for method in methods:
                key = (method, str(spec.get("route") or function.get_function_name()))
                routes[key] = (function.get_function_name(), level)
    return routes


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


Seen = set[tuple[str, str, str]]  # (METHOD, route, status) of the answers checked


def check(document: dict[str, Any], response: httpx.Response, route: str, seen: Seen) -> Any:
    """Assert that `response` is an answer the document lists for `route`; its JSON body."""
    method = response.request.method
    operation = document["paths"][openapi_path(route)][method.lower()]
    status = str(response.status_code)
    answer = operation["responses"].get(status)
    assert answer is not None, f"{method} {route} answered {status}, unlisted: {response.text[:500]}"
    seen.add((method, route, status))
    for header in answer.get("headers", {}):
        assert response.headers.get(header), f"{method} {route} {status} lacks {header}"
    media = answer.get("content", {}).get("application/json")
    if media is None:
        return None
    body = response.json()
    validator = Draft202012Validator(
        {**media["schema"], "components": document["components"]}, format_checker=FormatChecker()
    )
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], f"{method} {route} {status}: {errors}"
    declared = resolve(document, media["schema"]).get("properties")
    if declared is not None and isinstance(body, dict):
        assert set(body) <= set(declared), (
            f"{method} {route} {status} undeclared: {set(body) - set(declared)}"
        )
    return body


# --- the document --------------------------------------------------------------------------------------


def test_the_module_lists_only_names_that_exist() -> None:
    import shared.openapi

    assert [n for n in shared.openapi.__all__ if not hasattr(shared.openapi, n)] == []


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document("https://func-x.azurewebsites.net/api")
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")


def test_the_validator_would_catch_a_broken_reference() -> None:
    document = openapi_document()
    answer = document["paths"]["/migrations"]["post"]["responses"]["202"]
    answer["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Missing"}
    with pytest.raises(Exception, match="Missing"):
        validate_openapi(document)


def test_every_route_the_app_registers_is_documented_and_nothing_else() -> None:
    registered = registered_routes()
    document = openapi_document()
    in_document = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert {(m, openapi_path(r)) for m, r in registered} == set(in_document)
    assert set(registered) == documented_routes()
    for (method, route), (name, level) in registered.items():
        operation = in_document[(method, openapi_path(route))]
        assert operation["operationId"] == name
        # Anonymous exactly where the app is anonymous; everywhere else the function key schemes apply.
        assert (operation.get("security") == []) == (level == "ANONYMOUS"), name
        assert ("401" in operation["responses"]) == (level != "ANONYMOUS"), name


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("migrations", "/migrations"),
        ("migrations/{id}/cancel", "/migrations/{id}/cancel"),
        ("migrations/{id:regex(^[a-z0-9-]+$)}", "/migrations/{id}"),
        ("/validations/{instance?}/", "/validations/{instance}"),
    ],
)
def test_function_route_templates_become_openapi_paths(route: str, path: str) -> None:
    assert openapi_path(route) == path


def test_every_path_parameter_is_declared() -> None:
    for path, item in openapi_document()["paths"].items():
        named = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == named, path


def test_the_checked_in_copy_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == document_text(), "run: python -m shared.openapi --write"


@pytest.mark.parametrize("world", sorted(PLAN_FOR))
def test_the_plan_schema_accepts_the_example_plans_and_refuses_a_typo(world: str) -> None:
    document = openapi_document()
    for media, content in document["paths"]["/migrations"]["post"]["requestBody"]["content"].items():
        validator = Draft202012Validator({**content["schema"], "components": document["components"]})
        example = json.loads(json.dumps(yaml.safe_load((PLANS / PLAN_FOR[world]).read_text()), default=str))
        assert list(validator.iter_errors(example)) == [], media
        assert not validator.is_valid({**example, "wavez": []}), media


# --- the models match what the builders return ---------------------------------------------------------


def test_a_status_view_with_wave_children_in_both_forms_fits_the_models() -> None:
    root = Snapshot(
        "mig-weu",
        "Completed",
        {"phase": "completed", "plan_id": "weu", "digest": "d", "waves": [{"name": "pilot"}]},
        output={"phase": "completed", "plan_id": "weu"},
        created="2026-01-05T09:00:00Z",
        updated="2026-01-05T10:00:00Z",
    )
    rows = Snapshot(
        "mig-weu:wave-01",
        "Completed",
        {
            "wave": "pilot",
            "state": "completed",
            "vms": {"app01": ["migrated", 1, 100, 5, 5, 1, 2, 3, 4, "m-1"]},
        },
    )
    letters = Snapshot("mig-weu:wave-02", "Running", {"wave": "bulk", "state": "transferring"})
    view = migration_view(root, [rows, letters])
    parsed = MigrationStatus.model_validate(view)
    assert parsed.model_dump(mode="json", exclude_unset=True) == view
    assert [w.name for w in parsed.waves] == ["pilot", "bulk"]
    summary = summary_view(root)
    assert MigrationListBody.model_validate({"migrations": [summary], "count": 1}).migrations[0].waves == 1


# --- the served document and the app's answers ---------------------------------------------------------


ACTION_BODIES = [
    {},
    {"by": "ops"},
    {"wave": "pilot"},
    {"vm": "app01"},
    {"network": "web"},
    {"wave": "pilot", "vm": "app01", "by": "ops"},
    {"wave": None},
    {"wave": "   "},
    {"wave": ""},
    {"vm": 3},
    {"wave": "w" * 256},
    {"bogus": 1},
]


@pytest.mark.parametrize("action", ["approve", "cancel", "retry"])
def test_the_app_takes_exactly_the_action_bodies_the_document_allows(stack: Stack, action: str) -> None:
    # The body is checked before the migration is looked up: 404 = body taken, 400 = body refused.
    document = openapi_document()
    route = f"migrations/{{id}}/{action}"
    content = document["paths"][openapi_path(route)]["post"]["requestBody"]["content"]["application/json"]
    schema = Draft202012Validator({**content["schema"], "components": document["components"]})
    for body in ACTION_BODIES:
        response = stack.post(f"migrations/no-such-plan/{action}", body)
        check(document, response, route, set())
        assert response.status_code == (404 if schema.is_valid(body) else 400), (body, response.text)


def test_the_document_is_served_without_a_key_while_the_api_needs_one(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region"), settings={"LOCAL_FUNCTION_KEYS": "key-1"}) as stack:
        served = httpx.get(f"{stack.api}/openapi.json", timeout=30)
        refused = httpx.get(f"{stack.api}/migrations", timeout=30)
        assert (served.status_code, refused.status_code) == (200, 401)
        assert served.headers["content-type"].startswith("application/json")
        document = served.json()
        assert document["servers"] == [{"url": stack.api}]
        assert {**document, "servers": []} == {**openapi_document(), "servers": []}
        check(document, refused, "migrations", set())


def test_every_answer_of_a_migrations_life_is_one_the_document_lists(stack_factory: Factory) -> None:
    seen: Seen = set()
    with stack_factory(scenario("same-region"), auto_advance=False) as stack:
        document = check(openapi_document(), stack.get("openapi.json"), "openapi.json", seen)

        def expect(status: int, response: httpx.Response, route: str) -> Any:
            assert response.status_code == status, response.text[:1000]
            return check(document, response, route, seen)

        expect(202, stack.post("migrations", plan("same-region")), "migrations")
        stack.settle()
        expect(202, stack.get(f"migrations/{SAME}"), "migrations/{id}")
        expect(409, stack.post("migrations", plan("same-region", description="changed")), "migrations")
        expect(200, stack.get("migrations"), "migrations")
        # The operator's actions (the wave engine, docs/engine.md) while it runs.
        expect(202, stack.post(f"migrations/{SAME}/approve", {"by": "ops"}), "migrations/{id}/approve")
        expect(202, stack.post(f"migrations/{SAME}/retry", ""), "migrations/{id}/retry")
        expect(400, stack.post(f"migrations/{SAME}/approve", {"wave": "nope"}), "migrations/{id}/approve")
        expect(400, stack.post(f"migrations/{SAME}/retry", {"bogus": 1}), "migrations/{id}/retry")
        expect(404, stack.post("migrations/no-such-plan/approve", ""), "migrations/{id}/approve")
        expect(404, stack.post("migrations/no-such-plan/retry", ""), "migrations/{id}/retry")
        expect(202, stack.post(f"migrations/{SAME}/cancel", ""), "migrations/{id}/cancel")
        stack.drive(SAME)
        ended = expect(200, stack.get(f"migrations/{SAME}"), "migrations/{id}")
        assert (ended["phase"], ended["done"]) == ("cancelled", True)
        expect(409, stack.post(f"migrations/{SAME}/cancel", ""), "migrations/{id}/cancel")
        expect(409, stack.post(f"migrations/{SAME}/approve", ""), "migrations/{id}/approve")
        expect(409, stack.post(f"migrations/{SAME}/retry", ""), "migrations/{id}/retry")
        # The same plan again runs to its end (its waves, cutover and report): 200 with a result.
        expect(202, stack.post("migrations", plan("same-region")), "migrations")
        finished = stack.drive(SAME)
        # What the Logic Apps sample reads to call it a success (examples/logicapps/).
        assert (finished["phase"], finished["result"]["status"]) == ("completed", "completed")
        expect(200, stack.get(f"migrations/{SAME}"), "migrations/{id}")
        expect(200, stack.post("migrations/validate", plan("same-region")), "migrations/validate")
        # A client's mistakes: 4xx with a body the document describes.
        bad = plan("same-region", waves=[{"name": "w", "vmz": ["x"]}])
        expect(400, stack.post("migrations", bad), "migrations")
        expect(400, stack.post("migrations/validate", bad), "migrations/validate")
        expect(400, stack.get("migrations", status="Sleeping"), "migrations")
        expect(400, stack.get("migrations/Not_A_Plan"), "migrations/{id}")
        expect(404, stack.get("migrations/no-such-plan"), "migrations/{id}")
        expect(400, stack.post("migrations/Not_A_Plan/cancel", ""), "migrations/{id}/cancel")
        expect(404, stack.post("migrations/no-such-plan/cancel", ""), "migrations/{id}/cancel")
        expect(400, stack.get("validations/nope"), "validations/{instance}")
        expect(404, stack.get("validations/val-no-such-plan-0123456789ab"), "validations/{instance}")
    listed = {
        f"{method.upper()} {op['operationId']} {status}"
        for item in document["paths"].values()
        for method, op in item.items()
        for status in op["responses"]
    }
    # Answers not provoked here: 401 (keys, the test above), the slow-validation 202s, a failed
    # validation's 500, and 200 to a validation polled after it ended.
    unprovoked = {s for s in listed if s.endswith((" 401", " 500"))} | {
        "POST validate_plan 202",
        "GET validation_status 200",
        "GET validation_status 202",
    }
    names = {key: name for key, (name, _) in registered_routes().items()}
    exercised = {f"{method} {names[(method, route)]} {status}" for method, route, status in seen}
    assert listed - unprovoked <= exercised, sorted(listed - unprovoked - exercised)
