"""A test Function App exercising every Durable action type the runtime executes.

`build_app(journal)` returns a fresh `df.DFApp` whose activities report to `journal`, an object the
test fixture owns (no module-level state). Orchestrators are deterministic; their names say what they
exercise.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func


class Journal:
    """What activities did, plus knobs a test sets (failures to inject, the 'deployed code version')."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []
        self.failures: dict[str, int] = {}
        self.version = 1

    def record(self, name: str, value: Any) -> None:
        with self._lock:
            self.calls.append((name, value))

    def should_fail(self, key: str) -> bool:
        with self._lock:
            left = self.failures.get(key, 0)
            if left > 0:
                self.failures[key] = left - 1
                return True
            return False

    def count(self, name: str) -> int:
        with self._lock:
            return sum(1 for called, _ in self.calls if called == name)


def build_app(journal: Journal) -> df.DFApp:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    # -- activities ------------------------------------------------------------------------------

    @app.activity_trigger(input_name="name")
    def hello(name: str) -> str:
        journal.record("hello", name)
        return f"Hello {name}!"

    @app.activity_trigger(input_name="number")
    def double(number: int) -> int:
        journal.record("double", number)
        return number * 2

    @app.activity_trigger(input_name="key")
    def flaky(key: str) -> str:
        journal.record("flaky", key)
        if journal.should_fail(key):
            raise RuntimeError(f"transient failure for {key}")
        return f"ok:{key}"

    @app.activity_trigger(input_name="payload")
    async def echo_async(payload: dict[str, Any]) -> dict[str, Any]:
        journal.record("echo_async", payload)
        return {"echo": payload}

    # -- orchestrators ---------------------------------------------------------------------------

    @app.orchestration_trigger(context_name="context")
    def sequence(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        names = context.get_input() or ["Tokyo", "Seattle", "London"]
        results = []
        for name in names:
            results.append((yield context.call_activity("hello", name)))
        return results

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        count = context.get_input()["count"]
        results = yield context.task_all([context.call_activity("double", n) for n in range(count)])
        return sum(results)

    @app.orchestration_trigger(context_name="context")
    def with_retry(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=60_000, max_number_of_attempts=3)
        try:
            value = yield context.call_activity_with_retry("flaky", retry, context.get_input()["key"])
        except Exception as exc:
            return {"failed": str(exc), "at": context.current_utc_datetime.isoformat()}
        return {"value": value, "at": context.current_utc_datetime.isoformat()}

    @app.orchestration_trigger(context_name="context")
    def timer_then_activity(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        started = context.current_utc_datetime
        yield context.create_timer(started + timedelta(hours=6))
        greeting = yield context.call_activity("hello", "after the timer")
        return {"greeting": greeting, "waited": (context.current_utc_datetime - started).total_seconds()}

    @app.orchestration_trigger(context_name="context")
    def approval(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        context.set_custom_status({"phase": "waiting for approval"})
        deadline = context.create_timer(context.current_utc_datetime + timedelta(hours=24))
        approved = context.wait_for_external_event("Approve")
        winner = yield context.task_any([approved, deadline])
        if winner == approved:
            deadline.cancel()
            context.set_custom_status({"phase": "approved"})
            return {"approved": approved.result}
        context.set_custom_status({"phase": "timed out"})
        return {"approved": None}

    @app.orchestration_trigger(context_name="context")
    def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=1_000, max_number_of_attempts=2)
        first = yield context.call_sub_orchestrator("child", {"name": "anonymous"})
        second = yield context.call_sub_orchestrator_with_retry(
            "child", retry, {"name": "named"}, instance_id=f"{context.instance_id}:child-2"
        )
        return [first, second]

    @app.orchestration_trigger(context_name="context")
    def child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        data = context.get_input()
        greeting = yield context.call_activity("hello", data["name"])
        return {"greeting": greeting, "parent": context.parent_instance_id, "me": context.instance_id}

    @app.orchestration_trigger(context_name="context")
    def flaky_child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return (yield context.call_activity("flaky", context.get_input()["key"]))

    @app.orchestration_trigger(context_name="context")
    def retrying_parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=30_000, max_number_of_attempts=2)
        try:
            return (
                yield context.call_sub_orchestrator_with_retry(
                    "flaky_child", retry, context.get_input(), instance_id=f"{context.instance_id}:child"
                )
            )
        except Exception as exc:
            return {"failed": str(exc)}

    @app.orchestration_trigger(context_name="context")
    def counter(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        state = context.get_input() or {"n": 0}
        if state["n"] >= 3:
            return state
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
        context.continue_as_new({"n": state["n"] + 1})
        return None

    @app.orchestration_trigger(context_name="context")
    def failing(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.call_activity("hello", "before failing")
        raise ValueError("invalid plan: bad")

    @app.orchestration_trigger(context_name="context")
    def long_timer(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
        return context.current_utc_datetime.isoformat()

    @app.orchestration_trigger(context_name="context")
    def evolving(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        # Reading the journal here is deliberately non-deterministic: it stands for a code change
        # deployed while an instance is running.
        first = "hello" if journal.version == 1 else "double"
        yield context.call_activity(first, 1 if first == "double" else "v1")
        yield context.wait_for_external_event("Continue")
        return "done"

    @app.orchestration_trigger(context_name="context")
    def calls_missing_activity(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.call_activity("no_such_activity", None)

    @app.orchestration_trigger(context_name="context")
    def async_activity(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return (yield context.call_activity("echo_async", context.get_input()))

    @app.orchestration_trigger(context_name="context")
    def events_in_order(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        first = yield context.wait_for_external_event("First")
        second = yield context.wait_for_external_event("Second")
        return [first, second]

    # -- HTTP: a starter and the real DurableOrchestrationClient's operations -------------------

    @app.route(route="orchestrators/{functionName}", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        body = req.get_body()
        payload = json.loads(body) if body else None
        instance_id = await client.start_new(req.route_params["functionName"], client_input=payload)
        return client.create_check_status_response(req, instance_id)

    @app.route(route="client/{instanceId}/{operation?}", methods=["GET", "POST", "DELETE"])
    @app.durable_client_input(client_name="client")
    async def client_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        instance_id = req.route_params["instanceId"]
        operation = req.route_params.get("operation") or "status"
        result: Any
        if operation == "status":
            status = await client.get_status(instance_id, show_history=True, show_history_output=True)
            result = {"exists": bool(status), **(status.to_json() if status else {})}
            result["historyEvents"] = getattr(status, "historyEvents", None)
        elif operation == "raise":
            await client.raise_event(instance_id, req.params["event"], req.get_json())
            result = {"raised": True}
        elif operation == "terminate":
            await client.terminate(instance_id, req.params.get("reason", "by test"))
            result = {"terminated": True}
        elif operation == "purge":
            purged = await client.purge_instance_history(instance_id)
            result = {"deleted": purged.instances_deleted}
        elif operation == "list":
            statuses = await client.get_status_by(instance_id_prefix=instance_id)
            result = {"ids": sorted(s.instance_id for s in statuses)}
        else:
            return func.HttpResponse(f"unknown operation {operation}", status_code=400)
        return func.HttpResponse(json.dumps(result, default=str), mimetype="application/json")

    @app.route(route="sync/echo", methods=["POST"])
    def sync_echo(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(req.get_body(), status_code=201, headers={"X-Echo": "yes"})

    @app.route(route="sync/boom")
    def sync_boom(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("the function failed")

    return app
