"""A test Function App for the non-Durable triggers: HTTP routes and auth levels, Event Grid, queues.

`build_app(inbox)` returns a fresh app whose functions append what they receive to `inbox` (a list the
test owns). Items whose text contains "fail" make the function raise.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func


def build_app(inbox: list[Any] | None = None) -> func.FunctionApp:
    inbox = [] if inbox is None else inbox
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"id": int(req.route_params["id"]), "kind": "number"}))

    @app.route(route="items/{name:alpha}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"name": req.route_params["name"], "q": req.params.get("q")}))

    @app.route(route="files/{*path}", auth_level=func.AuthLevel.ANONYMOUS)
    def files(req: func.HttpRequest) -> str:
        return f"{req.method} {req.route_params.get('path', '')}"

    @app.route(route="secure", methods=["GET"])
    def secure(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("function level ok")

    @app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
    def admin_only(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("admin level ok")

    @app.route(route="nothing", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
    def nothing(req: func.HttpRequest) -> None:
        inbox.append(("nothing", req.get_body().decode()))

    @app.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
    @app.queue_output(arg_name="out", queue_name="orders", connection="AzureWebJobsStorage")
    def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
        out.set(req.get_body().decode())
        return func.HttpResponse("queued", status_code=202)

    @app.event_grid_trigger(arg_name="event")
    def on_event(event: func.EventGridEvent) -> None:
        inbox.append(("eventgrid", type(event).__name__, event.id, event.get_json()))
        if "fail" in json.dumps(event.get_json()):
            raise RuntimeError("event handler failed")

    @app.queue_trigger(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
    def on_order(msg: func.QueueMessage) -> None:
        text = msg.get_body().decode()
        inbox.append(("queue", text, msg.dequeue_count, msg.id))
        if "fail" in text:
            raise RuntimeError("order handler failed")

    return app
