"""The Function App: composes the blueprints of `orchestrators/` and `activities/` and declares the
triggers (HTTP, queue, Event Grid). Logic lives in `shared/` (`shared.api`); this file only wires it
to bindings. The HTTP API, queue and Event Grid contract is docs/api.md."""

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

import activities
import orchestrators
from shared import api, openapi
from shared.errors import PlanError
from shared.intake import Submission, submission_from_text
from shared.telemetry import configure_telemetry

configure_telemetry()  # Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set, else a no-op


class _App(df.DFApp):
    """DFApp whose functions can be listed more than once per process.

    azure-functions remembers the names it indexed and refuses a second get_functions() on the same
    app; the worker indexes once, but tests, the local runtime and tools may list this module-level app
    several times. Duplicate names are still refused within one listing.
    """

    def get_functions(self) -> list[func.Function]:
        self.functions_bindings: dict[str, bool] = {}
        return list(super().get_functions())


app = _App(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (*orchestrators.blueprints, *activities.blueprints):
    app.register_functions(blueprint)

log = logging.getLogger("hcx_conductor.triggers")
REQUESTS_QUEUE = "migration-requests"


def _links(req: func.HttpRequest) -> api.Links:
    url = urlsplit(req.url)
    # The caller's own key rides along in Location so a poller (Logic Apps) can follow it unaided.
    code = req.params.get("code") or req.headers.get("x-functions-key")
    return api.Links(f"{url.scheme}://{url.netloc}/api", code or None)


def _respond(reply: api.Reply) -> func.HttpResponse:
    return func.HttpResponse(
        reply.text(), status_code=reply.status, headers=reply.headers, mimetype="application/json"
    )


def _caller(req: func.HttpRequest) -> str:
    return req.headers.get("x-ms-client-principal-name") or "http"


async def _with_plan(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    handle: Callable[[df.DurableOrchestrationClient, Submission, api.Links], Awaitable[api.Reply]],
) -> func.HttpResponse:
    """Parse the plan in the request body and hand it to `handle`; a bad plan is the client's 4xx."""
    try:
        submission = submission_from_text(
            req.get_body(), req.headers.get("content-type"), "http", _caller(req)
        )
    except PlanError as exc:
        return _respond(api.plan_error(exc))
    return _respond(await handle(client, submission, _links(req)))


async def _operate(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, action: str
) -> func.HttpResponse:
    return _respond(
        await api.operate(client, req.route_params["id"], action, req.get_body(), _links(req), _caller(req))
    )


# --- HTTP --------------------------------------------------------------------------------------------


@app.route(route="migrations", methods=["POST"])
@app.durable_client_input(client_name="client")
async def submit_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await _with_plan(req, client, api.submit)


@app.route(route="migrations/validate", methods=["POST"])
@app.durable_client_input(client_name="client")
async def validate_plan(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await _with_plan(req, client, api.validate)


@app.route(route="validations/{instance}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def validation_status(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return _respond(await api.validation_status(client, req.route_params["instance"], _links(req)))


@app.route(route="migrations", methods=["GET"])
@app.durable_client_input(client_name="client")
async def list_migrations(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _respond(await api.list_migrations(client, dict(req.params)))


@app.route(route="migrations/{id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def migration_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _respond(await api.migration_status(client, req.route_params["id"], _links(req)))


@app.route(route="migrations/{id}/cancel", methods=["POST"])
@app.durable_client_input(client_name="client")
async def cancel_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _respond(
        await api.cancel(client, req.route_params["id"], _links(req), _caller(req), req.get_body())
    )


@app.route(route="migrations/{id}/approve", methods=["POST"])
@app.durable_client_input(client_name="client")
async def approve_migration(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return await _operate(req, client, "approve")


@app.route(route="migrations/{id}/retry", methods=["POST"])
@app.durable_client_input(client_name="client")
async def retry_migration(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await _operate(req, client, "retry")


@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    # Anonymous on purpose: the contract holds no data or secret, and importers fetch it without a key.
    return func.HttpResponse(openapi.document_text(_links(req).api_base), mimetype="application/json")


# --- queue: the same plans, from `migration-requests` ------------------------------------------------


@app.queue_trigger(arg_name="msg", queue_name=REQUESTS_QUEUE, connection="AzureWebJobsStorage")
@app.queue_output(arg_name="poison", queue_name=f"{REQUESTS_QUEUE}-poison", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def queue_intake(
    msg: func.QueueMessage, poison: func.Out[str], client: df.DurableOrchestrationClient
) -> None:
    text = msg.get_body().decode("utf-8", errors="replace")
    outcome = await api.from_queue(client, text, msg.id or "")
    if not outcome.accepted:
        # A plan that cannot run never will: straight to poison (the reason is logged), not five retries.
        poison.set(text)


# --- Event Grid: MigrationRequested events and Blob Created plan files -----------------------------


@app.event_grid_trigger(arg_name="event")
@app.durable_client_input(client_name="client")
async def eventgrid_intake(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    # A CloudEvents subscription delivers a func.CloudEvent, whose type is `type`, not `event_type`.
    kind = str(getattr(event, "event_type", None) or getattr(event, "type", ""))
    await api.from_event(client, kind, event.subject, event.get_json())
