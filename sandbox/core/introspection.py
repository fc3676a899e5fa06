"""Introspection routes: what tests, benchmarks and the runtime read from a running sandbox.

Mounted on the ARM server under `/_sandbox/`, without a bearer token and for loopback callers only:

* `GET  /_sandbox/stats`        request counts per route per server, faults injected, migration starts
                                per VM, concurrency peaks, and the simulated time (`stats_snapshot`);
* `GET  /_sandbox/clock`        the clock's `spec()`, so `python -m runtime start --clock-from` can
                                rebuild the same clock in another process;
* `POST /_sandbox/clock`        `{"advance_seconds": N}` or `{"advance_to": ISO}`: move a virtual clock
                                (409 for any other kind of clock);
* `GET  /_sandbox/events`       the event log (`?since=N` skips the first N events);
* `GET  /_sandbox/hcx/{side}`   that HCX Manager backend's `introspect()`.

This module depends on aiohttp, the clock and the sandbox world only.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from runtime.clock import VirtualClock, utc
from sandbox.core.world import Event, Side, World

__all__ = ["Introspectable", "event_to_json", "introspection_routes", "stats_snapshot"]


class Introspectable(Protocol):
    def introspect(self) -> dict[str, Any]: ...


def stats_snapshot(world: World) -> dict[str, Any]:
    """The counters grouped the way readers ask for them, plus the simulated time."""
    snap = world.stats.snapshot()
    counters: dict[str, dict[str, int]] = snap["counters"]
    grouped: dict[str, dict[str, dict[str, int]]] = {"requests": {}, "faults": {}}
    other: dict[str, dict[str, int]] = {}
    for family, counts in counters.items():
        prefix, _, server = family.partition(":")
        if prefix in grouped and server:
            grouped[prefix][server] = counts
        elif family != "migration_starts":
            other[family] = counts
    return {
        "now": world.now().isoformat(),
        "requests": grouped["requests"],
        "faults": grouped["faults"],
        "migration_starts": counters.get("migration_starts", {}),
        "peaks": snap["peaks"],
        "counters": other,
    }


def event_to_json(event: Event) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "source": event.source,
        "kind": event.kind,
        "detail": dict(event.detail),
    }


def _dumps(body: Any) -> str:
    return json.dumps(body, default=str)


def _loopback_only(handler: Callable[[web.Request], Awaitable[web.Response]]) -> Any:
    async def guarded(request: web.Request) -> web.Response:
        remote = request.remote or ""
        try:
            allowed = ipaddress.ip_address(remote).is_loopback
        except ValueError:
            allowed = False
        if not allowed:
            return web.json_response({"error": {"code": "Forbidden", "message": "loopback only"}}, status=403)
        return await handler(request)

    return guarded


def introspection_routes(world: World, hcx: Mapping[Side, Introspectable]) -> list[web.RouteDef]:
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(stats_snapshot(world), dumps=_dumps)

    async def clock(request: web.Request) -> web.Response:
        return web.json_response(world.clock.spec())

    async def move_clock(request: web.Request) -> web.Response:
        if not isinstance(world.clock, VirtualClock):
            body = {"error": {"code": "Conflict", "message": "only a virtual clock can be moved"}}
            return web.json_response(body, status=409)
        try:
            data = await request.json()
            if "advance_seconds" in data:
                seconds = float(data["advance_seconds"])
                if seconds < 0:
                    raise ValueError("advance_seconds: a clock never goes backwards")
                world.clock.advance(timedelta(seconds=seconds))
            elif "advance_to" in data:
                world.clock.advance_to(utc(datetime.fromisoformat(str(data["advance_to"]))))
            else:
                raise ValueError("give advance_seconds or advance_to")
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"error": {"code": "BadRequest", "message": str(exc)}}, status=400)
        return web.json_response(world.clock.spec())

    async def events(request: web.Request) -> web.Response:
        since = request.query.get("since", "0")
        if not since.isdigit():
            return web.json_response(
                {"error": {"code": "BadRequest", "message": "since: not a number"}}, status=400
            )
        with world.lock:
            selected = world.events[int(since) :]
            body = {"total": len(world.events), "events": [event_to_json(e) for e in selected]}
        return web.json_response(body, dumps=_dumps)

    async def hcx_state(request: web.Request) -> web.Response:
        side = request.match_info["side"]
        backend = next((b for s, b in hcx.items() if s == side), None)
        if backend is None:
            message = f"side: expected one of {sorted(hcx)}, got {side!r}"
            return web.json_response({"error": {"code": "NotFound", "message": message}}, status=404)
        return web.json_response(backend.introspect(), dumps=_dumps)

    return [
        web.get("/_sandbox/stats", _loopback_only(stats)),
        web.get("/_sandbox/clock", _loopback_only(clock)),
        web.post("/_sandbox/clock", _loopback_only(move_clock)),
        web.get("/_sandbox/events", _loopback_only(events)),
        web.get("/_sandbox/hcx/{side}", _loopback_only(hcx_state)),
    ]
