"""The app's HTTP triggers: match the route, check the key, call the function, render its response.

Requests become real `azure.functions.HttpRequest` objects and return values go through the real
`HttpResponseConverter` (an `HttpResponse` or a `str`), as in the Python worker. An exception in the
function is logged with its traceback and answered 500, like the host; the runtime keeps serving.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.http import HttpResponseConverter

from runtime.engine import Engine
from runtime.errors import NotFound
from runtime.functions import FunctionIndex, FunctionSpec
from runtime.http.auth import Keys
from runtime.http.routes import Route, RouteTable
from runtime.invoke import Invoker

__all__ = ["AppRoutes"]

log = logging.getLogger("runtime.http")


class AppRoutes:
    def __init__(
        self, functions: FunctionIndex, invoker: Invoker, engine: Engine, keys: Keys, pool: Executor
    ) -> None:
        routes = []
        for spec in functions.http:
            trigger = spec.trigger
            methods = frozenset(str(m).upper() for m in trigger.get("methods") or [])
            routes.append(Route(str(trigger.get("route") or spec.name), methods, spec))
        self.table = RouteTable(routes)
        self.invoker = invoker
        self.engine = engine
        self.keys = keys
        self.pool = pool

    def describe(self) -> list[tuple[str, str, str]]:
        """(function name, methods, route template) for the start-up banner."""
        return [
            (
                r.target.name,
                ",".join(sorted(r.methods)) or "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS",
                r.template,
            )
            for r in self.table.routes
        ]

    async def handle(self, request: web.Request, path: str) -> web.Response:
        found = self.table.match(request.method, path)
        if found is None:
            raise NotFound(f"no function serves {request.method} {request.path}")
        route, params = found
        spec: FunctionSpec = route.target
        self.keys.check_function(
            str(spec.trigger.get("authLevel") or "FUNCTION"), Keys.presented(request.query, request.headers)
        )
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=params,
            body=body,
        )
        with self.engine.busy():
            try:
                result = await self.invoker.call_async(spec, http_request, self.pool)
            except Exception:
                log.exception("Executed 'Functions.%s' (Failed)", spec.name)
                return web.json_response(
                    {"message": f"Exception while executing function: Functions.{spec.name}"}, status=500
                )
        return _render(spec, result)


def _render(spec: FunctionSpec, result: Any) -> web.Response:
    if result is None:
        # inferred: the host answers an HTTP function that returned nothing with 204 No Content.
        return web.Response(status=204)
    try:
        datum = HttpResponseConverter.encode(result, expected_type=None)
    except NotImplementedError:
        log.error("function %s returned %s, not an HttpResponse or str", spec.name, type(result).__name__)
        return web.json_response(
            {"message": f"Functions.{spec.name} returned a value that is not an HttpResponse"}, status=500
        )
    if datum.type == "string":
        return web.Response(text=datum.value, content_type="text/plain")
    value = datum.value
    headers = {name: header.value for name, header in value["headers"].items()}
    response = web.Response(status=int(value["status_code"].value), body=value["body"].value, headers=headers)
    for cookie in value.get("cookies") or []:
        for morsel in cookie.values():
            response.headers.add("Set-Cookie", morsel.OutputString())
    return response
