"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...` and the `/durabletask/` RPC base).

Routing, status codes and headers follow the extension's `HttpApiHandler` (durable.md §8.4): a path it
knows with a method it does not serve is a 404, a finished instance answers 410 to events and
terminate, purge of a running instance is 412, start over a running instance is 409, and running
instances answer their status with 202 + `Location` + `Retry-After: 5`. Each handler parses the
request, makes one `Management` call in a worker thread (SQLite is blocking) and renders the result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from runtime.errors import BadRequest, NotFound, NotImplementedByRuntime, PreconditionFailed
from runtime.history import parse_timestamp
from runtime.http.urls import Urls
from runtime.management import RUNTIME_STATUSES, Management

__all__ = ["DurableApi"]

T = TypeVar("T")
_RUNNING = ("Running", "Pending", "ContinuedAsNew", "Suspended")


def _bool(query: Any, name: str, default: bool) -> bool:
    """.NET `bool.TryParse`: 'true'/'false' in any case; anything else keeps the default."""
    value = str(query.get(name, "")).strip().lower()
    return {"true": True, "false": False}.get(value, default)


def _time(query: Any, name: str) -> datetime | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise BadRequest(f"{name}: {value!r} is not an ISO 8601 date-time") from exc


def _statuses(query: Any) -> list[str]:
    chosen: list[str] = []
    for value in query.getall("runtimeStatus", []):
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            match = next((s for s in RUNTIME_STATUSES if s.lower() == item.lower()), None)
            if match is None:
                raise BadRequest(f"runtimeStatus: {item!r} is not one of {', '.join(RUNTIME_STATUSES)}")
            chosen.append(match)
    return chosen


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers or {}
    )


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


class DurableApi:
    def __init__(self, management: Management, urls: Urls, pool: Executor) -> None:
        self.management = management
        self.urls = urls
        self.pool = pool

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: call(*args))

    async def handle(self, request: web.Request, subpath: str) -> web.Response:
        parts = [p for p in subpath.split("/") if p]
        method = request.method
        if parts[:1] == ["orchestrators"] and len(parts) in (2, 3):
            if method == "POST":
                return await self.start(request, parts[1], parts[2] if len(parts) == 3 else None)
        elif parts[:1] == ["entities"]:
            raise NotImplementedByRuntime("Durable entities are not supported by the local runtime")
        elif parts == ["instances"]:
            if method == "GET":
                return await self.list(request)
            if method == "DELETE":
                return await self.purge_by(request)
        elif parts[:1] == ["instances"] and len(parts) == 2:
            if method == "GET":
                return await self.status(request, parts[1])
            if method == "DELETE":
                deleted = await self._run(self.management.purge, parts[1])
                return _json({"instancesDeleted": deleted})
        elif parts[:1] == ["instances"] and len(parts) == 4 and parts[2].lower() == "raiseevent":
            if method == "POST":
                return await self.raise_event(request, parts[1], parts[3])
        elif parts[:1] == ["instances"] and len(parts) == 3 and method == "POST":
            return await self.operation(request, parts[1], parts[2].lower())
        raise NotFound(f"no Durable API operation for {method} {request.path}")

    # -- start and status ----------------------------------------------------------------------

    async def start(self, request: web.Request, function_name: str, instance_id: str | None) -> web.Response:
        body = await request.read()
        try:
            text = body.decode("utf-8") if body else None
        except UnicodeDecodeError as exc:
            raise BadRequest("Invalid JSON content: the body is not UTF-8") from exc
        if text is not None and not text.strip():
            text = None
        version = request.query.get("version")
        new_id = await self._run(self.management.start, function_name, instance_id, text, version)
        return await self._accepted_or_wait(request, new_id)

    async def _accepted_or_wait(self, request: web.Request, instance_id: str) -> web.Response:
        timeout = _seconds(request.query, "timeout")
        interval = _seconds(request.query, "pollingInterval")
        if timeout is not None and interval is not None:
            if interval > timeout:
                raise BadRequest("pollingInterval must not be larger than timeout")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                status = await self._run(self.management.status, instance_id)
                if status["runtimeStatus"] == "Completed":
                    return _json(status["output"])
                if status["runtimeStatus"] not in _RUNNING:
                    return _json(status)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(interval, remaining))
        payload = self.urls.management_payload(
            instance_id,
            origin=_origin(request),
            hub=request.query.get("taskHub"),
            connection=request.query.get("connection"),
        )
        return _json(payload, 202, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    async def status(self, request: web.Request, instance_id: str) -> web.Response:
        query = request.query
        body = await self._run(
            lambda: self.management.status(
                instance_id,
                show_history=_bool(query, "showHistory", False),
                show_history_output=_bool(query, "showHistoryOutput", False),
                show_input=_bool(query, "showInput", True),
            )
        )
        status = body["runtimeStatus"]
        if status in _RUNNING:
            return _json(body, 202, {"Location": str(request.url), "Retry-After": "5"})
        if status == "Failed" and _bool(query, "returnInternalServerErrorOnFailure", False):
            return _json(body, 500)
        return _json(body)

    async def list(self, request: web.Request) -> web.Response:
        query = request.query
        top_text = query.get("top")
        try:
            top = int(top_text) if top_text else 100
        except ValueError as exc:
            raise BadRequest(f"top: {top_text!r} is not an integer") from exc
        page = await self._run(
            lambda: self.management.list(
                created_from=_time(query, "createdTimeFrom"),
                created_to=_time(query, "createdTimeTo"),
                statuses=_statuses(query),
                prefix=query.get("instanceIdPrefix"),
                show_input=_bool(query, "showInput", True),
                top=top,
                continuation=request.headers.get("x-ms-continuation-token") or None,
            )
        )
        headers = {"x-ms-continuation-token": page.continuation} if page.continuation else {}
        return _json(page.instances, 200, headers)

    async def purge_by(self, request: web.Request) -> web.Response:
        created_from = _time(request.query, "createdTimeFrom")
        if created_from is None:
            raise BadRequest("Please provide value for 'createdTimeFrom' parameter.")
        created_to = _time(request.query, "createdTimeTo") or datetime.now(UTC)
        statuses = _statuses(request.query)
        deleted = await self._run(self.management.purge_by, created_from, created_to, statuses)
        if deleted == 0:
            raise NotFound("no finished instance matched the purge filter")
        return _json({"instancesDeleted": deleted})

    # -- messages ------------------------------------------------------------------------------

    async def raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        await self._run(self.management.require_open, instance_id)
        if request.content_type.lower() != "application/json":
            raise BadRequest("Only application/json request content is supported")
        body = await request.read()
        try:
            text = body.decode("utf-8") if body.strip() else None
            if text is not None:
                json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"Invalid JSON content: {exc}") from exc
        await self._run(self.management.raise_event, instance_id, event_name, text)
        return web.Response(status=202)

    async def operation(self, request: web.Request, instance_id: str, operation: str) -> web.Response:
        reason = request.query.get("reason")
        management = self.management
        if operation == "terminate":
            await self._run(management.terminate, instance_id, reason)
        elif operation == "suspend":
            await self._run(management.suspend, instance_id, reason)
        elif operation == "resume":
            await self._run(management.resume, instance_id, reason)
        elif operation == "restart":
            new_id = await self._run(
                management.restart, instance_id, _bool(request.query, "restartWithNewInstanceId", True)
            )
            return await self._accepted_or_wait(request, new_id)
        elif operation == "rewind":
            status = await self._run(management.status, instance_id)
            if status["runtimeStatus"] != "Failed":
                raise PreconditionFailed(
                    f"This orchestration has status {status['runtimeStatus']}, "
                    'but only orchestrations in the "Failed" state can be rewound.'
                )
            raise NotImplementedByRuntime("Rewind is not supported by the underlying storage provider.")
        else:
            raise NotFound(f"no Durable API operation for POST {request.path}")
        return web.Response(status=202)


def _seconds(query: Any, name: str) -> float | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError as exc:
        raise BadRequest(f"{name}: {value!r} is not a number of seconds") from exc
    if seconds < 0:
        raise BadRequest(f"{name}: must not be negative")
    return seconds
