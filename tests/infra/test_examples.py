"""The Logic Apps and Event Grid samples in examples/: they validate against their JSON schemas
(tests/infra/schemas/, see its README for where each comes from) and hang together — every runAfter
names a real action, every parameter used is declared, the subscription covers exactly the events the
app emits, and the submit workflow relies on the asynchronous 202 + Location pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from shared.events import TYPES
from shared.status import DONE_PHASES

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
SUBMIT = REPO / "examples" / "logicapps" / "submit-plan-and-wait.json"
EVENTS = REPO / "examples" / "eventgrid" / "events-to-logicapp.json"
SAMPLE_EVENTS = REPO / "examples" / "eventgrid" / "sample-events.json"
TEMPLATES = [SUBMIT, EVENTS]

# The events the app really emits: the samples and the subscription must follow shared.events.
EVENT_TYPES = set(TYPES)
SUBJECT = re.compile(r"^migrations/[^/]+(/waves/[^/]+(/vms/[^/]+)?)?$")


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _resources(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["resources"] if r["type"] == type_]


def _workflow(path: Path) -> dict[str, Any]:
    (workflow,) = _resources(_load(path), "Microsoft.Logic/workflows")
    return workflow


def _action_scopes(actions: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each set of sibling actions: the top level, then the branches of If, Switch and Scope."""
    yield actions
    for action in actions.values():
        for nested in (action.get("actions"), action.get("else", {}).get("actions")):
            if nested is not None:
                yield from _action_scopes(nested)
        for case in [*action.get("cases", {}).values(), action.get("default", {})]:
            if "actions" in case:
                yield from _action_scopes(case["actions"])


def _all_actions(actions: dict[str, Any]) -> dict[str, Any]:
    return {name: action for scope in _action_scopes(actions) for name, action in scope.items()}


# --- schema validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_sample_is_a_valid_arm_template(path: Path) -> None:
    assert _errors(_validator("arm-deployment-template.json"), _load(path)) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_logic_app_resource_is_valid(path: Path) -> None:
    assert _errors(_validator("microsoft-logic-workflows.json"), _workflow(path)) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_workflow_definition_is_valid(path: Path) -> None:
    definition = _workflow(path)["properties"]["definition"]
    assert _errors(_validator("workflow-definition.json"), definition) == []


def test_the_event_subscription_is_valid() -> None:
    (subscription,) = _resources(_load(EVENTS), "Microsoft.EventGrid/topics/eventSubscriptions")
    assert _errors(_validator("eventgrid-event-subscription.json"), subscription) == []


def test_every_sample_event_is_a_valid_cloudevent_of_a_type_the_app_emits() -> None:
    events = _load(SAMPLE_EVENTS)
    validator = _validator("cloudevents-1.0.json")
    for event in events:
        assert _errors(validator, event) == [], event["type"]
        assert SUBJECT.match(event["subject"]), event["subject"]
    assert {e["type"] for e in events} == EVENT_TYPES


@pytest.mark.parametrize(
    ("schema", "document"),
    [
        pytest.param("workflow-definition.json", {"runAfter": {"Nope": ["Succeded"]}}, id="misspelt-status"),
        pytest.param("workflow-definition.json", {"type": "Htpp"}, id="unknown-action-type"),
        pytest.param(
            "eventgrid-event-subscription.json", {"eventDeliverySchema": "CloudEvents"}, id="bad-schema"
        ),
        pytest.param(
            "eventgrid-event-subscription.json",
            {"retryPolicy": {"maxDeliveryAttempts": 31}},
            id="too-many-attempts",
        ),
        pytest.param("cloudevents-1.0.json", {"specversion": "0.3"}, id="wrong-spec-version"),
    ],
)
def test_the_schemas_reject_a_typical_mistake(schema: str, document: dict[str, Any]) -> None:
    # The schemas must not be so loose that anything passes: break one valid document and expect a "no".
    base: dict[str, Any]
    if schema == "workflow-definition.json":
        base = json.loads(json.dumps(_workflow(SUBMIT)["properties"]["definition"]))
        target = base["actions"]["Return_the_failure"]
    elif schema == "eventgrid-event-subscription.json":
        (base,) = _resources(_load(EVENTS), "Microsoft.EventGrid/topics/eventSubscriptions")
        target = base["properties"]
    else:
        base = _load(SAMPLE_EVENTS)[0]
        target = base
    target.update(document)
    with pytest.raises(ValidationError):
        _validator(schema).validate(base)


# --- the samples hang together -------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_run_after_names_a_sibling_action_and_the_graph_has_no_cycle(path: Path) -> None:
    actions = _workflow(path)["properties"]["definition"]["actions"]
    for scope in _action_scopes(actions):
        for name, action in scope.items():
            unknown = set(action.get("runAfter", {})) - set(scope)
            assert not unknown, f"{name} runs after unknown actions {unknown}"
        # Kahn's algorithm: every action must become runnable.
        pending = {name: set(a.get("runAfter", {})) for name, a in scope.items()}
        while pending:
            ready = [name for name, deps in pending.items() if not deps]
            assert ready, f"runAfter cycle among {sorted(pending)}"
            for name in ready:
                del pending[name]
            for deps in pending.values():
                deps.difference_update(ready)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_parameter_the_workflow_uses_is_declared_and_passed(path: Path) -> None:
    template = _load(path)
    workflow = _workflow(path)
    definition = workflow["properties"]["definition"]
    used = set(re.findall(r"parameters\('([^']+)'\)", json.dumps(definition["actions"])))
    declared = set(definition.get("parameters", {}))
    assert used <= declared, f"undeclared workflow parameters: {used - declared}"
    passed = set(workflow["properties"].get("parameters", {}))
    required = {n for n, p in definition.get("parameters", {}).items() if "defaultValue" not in p}
    assert required <= passed
    template_params = set(
        re.findall(r"parameters\('([^']+)'\)", json.dumps(workflow["properties"]["parameters"]))
    )
    assert template_params <= set(template["parameters"])


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_secrets_are_secure_parameters_and_hidden_from_run_history(path: Path) -> None:
    template = _load(path)
    definition = _workflow(path)["properties"]["definition"]
    secret_like = re.compile(r"key|secret|password|webhook", re.IGNORECASE)
    for name, parameter in template["parameters"].items():
        if secret_like.search(name):
            assert parameter["type"] == "securestring", name
            assert "defaultValue" not in parameter, name
    for name, parameter in definition.get("parameters", {}).items():
        if secret_like.search(name):
            assert parameter["type"] == "SecureString", name
    for name, action in _all_actions(definition["actions"]).items():
        if action["type"] == "Http" and secret_like.search(json.dumps(action["inputs"])):
            secured = action.get("runtimeConfiguration", {}).get("secureData", {}).get("properties", [])
            assert "inputs" in secured, f"{name} sends a secret without secure inputs"


def test_the_submit_workflow_posts_the_plan_and_waits_with_the_async_pattern() -> None:
    definition = _workflow(SUBMIT)["properties"]["definition"]
    submit = definition["actions"]["Submit_plan_and_wait"]
    assert submit["type"] == "Http"
    assert submit["inputs"]["method"] == "POST"
    assert submit["inputs"]["uri"].endswith("/api/migrations")
    assert submit["inputs"]["body"] == "@triggerBody()"
    # The asynchronous pattern is the HTTP action's default; disabling it would return the first 202.
    assert "DisableAsyncPattern" not in submit.get("operationOptions", "")
    assert submit["limit"]["timeout"] == "P7D"
    outcomes = {
        name: action["runAfter"]["Submit_plan_and_wait"]
        for name, action in definition["actions"].items()
        if "Submit_plan_and_wait" in action.get("runAfter", {})
    }
    assert outcomes == {"Check_the_outcome": ["Succeeded"], "Return_the_failure": ["Failed", "TimedOut"]}


_BODY_FIELD = re.compile(r"^@body\('Submit_plan_and_wait'\)((?:\?\['[a-z_]+'\])+)$")


def _body_field(expression: str, body: dict[str, Any]) -> Any:
    """`@body('Submit_plan_and_wait')?['a']?['b']` read from `body` as Logic Apps would (null if absent)."""
    match = _BODY_FIELD.match(expression)
    assert match, f"unsupported expression {expression!r}"
    value: Any = body
    for key in re.findall(r"\['([a-z_]+)'\]", match.group(1)):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _condition(expression: Any, body: dict[str, Any]) -> bool:
    """The If conditions the sample uses (and, or, not, equals on body fields), evaluated as Logic Apps
    would on `body`; anything else fails the test rather than being guessed."""
    ((op, args),) = expression.items()
    if op in ("and", "or"):
        results = [_condition(arg, body) for arg in args]
        return all(results) if op == "and" else any(results)
    if op == "not":
        return not _condition(args, body)
    assert op == "equals", f"unsupported condition {op!r}"
    left, right = (_body_field(a, body) if isinstance(a, str) and a.startswith("@") else a for a in args)
    return bool(left == right)


# How a migration can end, as the status document shows it: phase, and the root's result.status.
ENDINGS = [
    pytest.param({"phase": "completed", "result": {"status": "completed"}}, True, id="completed"),
    pytest.param(
        {"phase": "completed", "result": {"status": "completed_with_failures"}}, False, id="with-failures"
    ),
    pytest.param({"phase": "completed", "result": {}}, False, id="completed-without-status"),
    *(
        pytest.param({"phase": p, "result": {"phase": p}}, False, id=p)
        for p in ("blocked", "failed", "cancelled")
    ),
    pytest.param({"phase": "some-future-phase"}, False, id="unknown"),
]


@pytest.mark.parametrize(("document", "success"), ENDINGS)
def test_a_migration_that_ended_badly_takes_the_failure_branch_though_it_answered_200(
    document: dict[str, Any], success: bool
) -> None:
    # A finished migration answers 200 for every final phase; only the document tells success from failure.
    check = _workflow(SUBMIT)["properties"]["definition"]["actions"]["Check_the_outcome"]
    assert _condition(check["expression"], {**document, "done": True}) is success
    branch = check["actions"] if success else check["else"]["actions"]
    ((response,),) = [[a for a in branch.values() if a["type"] == "Response"]]
    assert response["inputs"]["statusCode"] == (200 if success else 502)
    if not success:
        assert _body_field(response["inputs"]["body"]["phase"], document) == document["phase"]


def test_every_final_phase_of_the_app_is_covered() -> None:
    # `prepared` is where the root hands over to the waves, no longer where a migration ends.
    assert {p.values[0]["phase"] for p in ENDINGS} >= DONE_PHASES


def test_the_subscription_sends_exactly_the_apps_events_as_cloudevents_to_the_logic_app() -> None:
    template = _load(EVENTS)
    (subscription,) = _resources(template, "Microsoft.EventGrid/topics/eventSubscriptions")
    props = subscription["properties"]
    assert props["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    assert props["filter"]["includedEventTypes"] == "[variables('eventTypes')]"
    assert set(template["variables"]["eventTypes"]) == EVENT_TYPES
    assert props["filter"]["subjectBeginsWith"] == "migrations/"
    destination = props["destination"]
    assert destination["endpointType"] == "WebHook"
    assert (
        "listCallbackUrl(resourceId('Microsoft.Logic/workflows/triggers'"
        in destination["properties"]["endpointUrl"]
    )
    assert destination["properties"]["maxEventsPerBatch"] == 1
    assert subscription["dependsOn"] == [
        "[resourceId('Microsoft.Logic/workflows', parameters('logicAppName'))]"
    ]


def test_the_event_workflow_answers_the_cloudevents_validation_handshake() -> None:
    definition = _workflow(EVENTS)["properties"]["definition"]
    assert "method" not in definition["triggers"]["manual"]["inputs"], "OPTIONS must reach the workflow"
    handshake = definition["actions"]["Validation_handshake"]
    assert "WebHook-Request-Origin" in json.dumps(handshake["expression"])
    allow = handshake["actions"]["Allow_Event_Grid"]["inputs"]
    assert allow["statusCode"] == 200
    assert "WebHook-Request-Origin" in allow["headers"]["WebHook-Allowed-Origin"]


def test_the_event_workflow_only_switches_on_types_the_app_emits() -> None:
    definition = _workflow(EVENTS)["properties"]["definition"]
    switch = definition["actions"]["Validation_handshake"]["else"]["actions"]["By_event_type"]
    cases = {case["case"] for case in switch["cases"].values()}
    assert cases <= EVENT_TYPES
    assert {"HcxConductor.ApprovalNeeded", "HcxConductor.MigrationFailed"} <= cases
