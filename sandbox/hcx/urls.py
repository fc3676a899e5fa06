"""The HCX Manager's routes, as one table, and the aiohttp application that serves them.

Every route sits under `/hybridity/api` (hcx-api.md §0). Three layers wrap each handler, outermost
first: the middlewares the Sandbox passes in (transport faults such as a 5xx rate or an outage, and
request counting; the HCX app adds no transport faults of its own), then error rendering (backend
errors become their JSON body and status; unknown routes a JSON 404), then availability (503 on
every route while the cloud's HCX add-on is not installed), then authentication (`x-hm-authorization`
on every route but `sessions`). This module depends on aiohttp and the HCX package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from sandbox.hcx.exceptions import HcxError
from sandbox.hcx.models import HcxBackend
from sandbox.hcx.responses import TOKEN_HEADER, USER, HcxResponses

__all__ = ["API", "create_app", "url_table"]

API = "/hybridity/api"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSIONS = f"{API}/sessions"


def url_table(r: HcxResponses) -> list[tuple[str, str, Handler]]:
    inv = f"{API}/service/inventory"
    return [
        ("POST", SESSIONS, r.create_session),
        ("GET", f"{API}/cloudConfigs", r.list_cloud_configs),
        ("POST", f"{API}/cloudConfigs", r.create_cloud_config),
        ("DELETE", f"{API}/endpointPairing/{{endpointId}}", r.delete_endpoint_pairing),
        ("POST", f"{API}/admin/certificates", r.import_certificate),
        ("GET", f"{API}/jobs/{{jobId}}", r.get_job),
        ("GET", f"{API}/interconnect/serviceMesh", r.list_service_meshes),
        ("GET", f"{API}/interconnect/serviceMesh/{{meshId}}", r.get_service_mesh),
        ("GET", f"{API}/interconnect/appliances", r.list_appliances),
        ("POST", f"{API}/interconnect/appliances/query", r.query_appliances),
        ("GET", f"{API}/interconnect/tasks", r.list_interconnect_tasks),
        ("GET", f"{API}/interconnect/tasks/{{taskId}}", r.get_interconnect_task),
        ("GET", f"{API}/l2Extensions", r.list_extensions),
        ("POST", f"{API}/l2Extensions", r.create_extension),
        ("DELETE", f"{API}/l2Extensions/{{stretchId}}", r.delete_extension),
        ("POST", f"{inv}/resourcecontainer/list", r.list_resource_containers),
        ("POST", f"{inv}/cloud/list", r.list_clouds),
        ("POST", f"{inv}/networks", r.list_networks),
        ("POST", f"{inv}/virtualmachines", r.list_virtual_machines),
        ("POST", f"{inv}/datastores", r.list_datastores),
        ("POST", f"{inv}/containers", r.list_containers),
        ("POST", f"{inv}/storageProfiles", r.list_storage_profiles),
        ("POST", f"{API}/mobility/migrations/validate", r.validate_migrations),
        ("POST", f"{API}/mobility/migrations/start", r.start_migrations),
        ("POST", f"{API}/mobility/migrations/forceCancel", r.force_cancel_migrations),
        ("POST", f"{API}/mobility/groups/{{groupId}}/schedule", r.schedule_migrations),
        ("POST", f"{API}/migrations", r.migrations_action),
        # PY-OSAM posts to the trailing-slash form (hcx-api.md §7.4).
        ("POST", f"{API}/migrations/", r.migrations_action),
    ]


def _middlewares(backend: HcxBackend) -> list[Any]:
    @web.middleware
    async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except HcxError as exc:
            return web.json_response(exc.to_wire(), status=exc.status)
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                code = "NOT_FOUND" if exc.status == 404 else "METHOD_NOT_ALLOWED"
                message = f"{request.method} {request.path}: {exc.reason}"
                return web.json_response({"errors": [{"code": code, "message": message}]}, status=exc.status)
            raise

    @web.middleware
    async def require_hcx(request: web.Request, handler: Handler) -> web.StreamResponse:
        backend.check_available()
        return await handler(request)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != SESSIONS:
            # Header names are case-insensitive in aiohttp, as clients expect (hcx-api.md §1.1).
            request[USER] = backend.authenticate(request.headers.get(TOKEN_HEADER))
        return await handler(request)

    @web.middleware
    async def stamp_date(request: web.Request, handler: Handler) -> web.StreamResponse:
        # `Date` is the simulated instant the backend caught up to for this answer (handlers never
        # await between the backend call and returning), so progress figures and their time agree
        # exactly even when the request waited behind others on a fast clock.
        response = await handler(request)
        response.headers["Date"] = format_datetime(backend.at(backend.now), usegmt=True)
        return response

    return [render_errors, stamp_date, require_hcx, authenticate]


def create_app(backend: HcxBackend, middlewares: Sequence[Any] = ()) -> web.Application:
    """The HCX Manager app for `backend`; `middlewares` (transport faults, counting) run outermost."""
    app = web.Application(middlewares=[*middlewares, *_middlewares(backend)], client_max_size=64 * 2**20)
    responses = HcxResponses(backend)
    for method, path, handler in url_table(responses):
        app.router.add_route(method, path, handler)
    return app
