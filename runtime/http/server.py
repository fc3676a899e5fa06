"""The runtime's HTTP server: aiohttp in its own thread, one dispatcher for every path it serves.

| path | served by |
| --- | --- |
| `/{routePrefix}/...` (host.json, default `api`) | the app's HTTP triggers (`AppRoutes`) |
| `/runtime/webhooks/durabletask/...` | the Durable HTTP API, system-key protected when keys exist |
| `/durabletask/...` | the same API for the client binding's `rpcBaseUrl`; loopback callers only |
| `/runtime/webhooks/eventgrid?functionName=` | Event Grid deliveries |
| `/admin/host/ping` | liveness, 200 |

Request bodies are limited to `max_body_bytes` (413 beyond). Every `ApiError` is answered with its
status and `{"Message", "ExceptionMessage"}` (the shape the Durable client reads); an unexpected
error is logged and answered 500, and the server keeps running.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

from runtime.errors import ApiError, NotFound
from runtime.http.app_routes import AppRoutes
from runtime.http.auth import Keys
from runtime.http.durable_api import DurableApi
from runtime.http.eventgrid import EventGridWebhook
from runtime.http.urls import DURABLE_RPC_PREFIX, DURABLE_WEBHOOK_PREFIX, EVENTGRID_WEBHOOK_PREFIX

__all__ = ["DEFAULT_MAX_BODY_BYTES", "HttpHost"]

log = logging.getLogger("runtime.http")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        text=json.dumps({"Message": message, "ExceptionMessage": message}),
        status=status,
        content_type="application/json",
    )


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class HttpHost:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        max_body_bytes: int,
        route_prefix: str,
        durable: DurableApi,
        app_routes: AppRoutes,
        eventgrid: EventGridWebhook,
        keys: Keys,
    ) -> None:
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self.route_prefix = route_prefix.strip("/")
        self.durable = durable
        self.app_routes = app_routes
        self.eventgrid = eventgrid
        self.keys = keys
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> int:
        """Bind and serve; returns the bound port (useful with port 0)."""
        self._thread = threading.Thread(target=self._serve, name="runtime-http", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure
        return self.port

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind())
        except BaseException as exc:
            self._failure = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        loop.run_forever()
        if self._runner is not None:
            loop.run_until_complete(self._runner.cleanup())
        loop.close()

    async def _bind(self) -> None:
        app = web.Application(client_max_size=self.max_body_bytes, middlewares=[self._errors])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- requests ------------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            return _error(
                413, f"request body of {length} bytes is over the limit of {self.max_body_bytes} bytes"
            )
        try:
            return await handler(request)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"request body is over the limit of {self.max_body_bytes} bytes")
        except web.HTTPException:
            raise
        except Exception:
            log.exception("internal error serving %s %s", request.method, request.path)
            return _error(500, "the local runtime failed to serve this request; see its log")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        lower = path.lower()
        if lower == "/admin/host/ping":
            return web.Response(status=200)
        if lower == DURABLE_WEBHOOK_PREFIX or lower.startswith(DURABLE_WEBHOOK_PREFIX + "/"):
            self.keys.check_system("durabletask", Keys.presented(request.query, request.headers))
            return await self.durable.handle(request, path[len(DURABLE_WEBHOOK_PREFIX) :])
        if lower.startswith(DURABLE_RPC_PREFIX + "/"):
            if not _is_loopback(request.remote):
                raise NotFound(f"{DURABLE_RPC_PREFIX}/ is served to loopback callers only")
            return await self.durable.handle(request, path[len(DURABLE_RPC_PREFIX) :])
        if lower == EVENTGRID_WEBHOOK_PREFIX or lower.startswith(EVENTGRID_WEBHOOK_PREFIX + "/"):
            return await self.eventgrid.handle(request)
        prefix = f"/{self.route_prefix}/" if self.route_prefix else "/"
        if lower.startswith(prefix.lower()) or (self.route_prefix and lower == prefix.lower().rstrip("/")):
            return await self.app_routes.handle(request, path[len(prefix) :])
        raise NotFound(f"nothing is served at {path}")
