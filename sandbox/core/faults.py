"""Transport faults: what the network and the front doors of ARM and HCX do wrong, as data.

A `FaultPlan` is a list of `FaultRule`s that one aiohttp middleware (`fault_middleware`) consults
before a request reaches a simulator: throttling (ARM 429 with `Retry-After`), random server errors
(HCX 5xx), and outage windows in simulated minutes (an HCX Manager restarting or scaling up). The
scenario's `faults` section becomes the plan's first rules (`FaultPlan.from_scenario`); tests add more
at run time (`sandbox.faults.add(FaultRule(server="arm", status=429, times=2))`).

Domain faults (a VM failing at a phase, slow pairing, extension failures, token expiry) belong to the
simulator that owns the domain, not here. Every injection is counted in `world.stats` under
`faults:<server>`, and every random draw comes from a seeded `world.rng` stream per server, so a
scenario replays the same faults for the same request sequence. Introspection routes
(`/_sandbox/...`) are never faulted. This module depends on aiohttp and the sandbox world only.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import random

    from sandbox.core.world import World

__all__ = ["INTROSPECTION_PREFIX", "FaultPlan", "FaultRule", "counting_middleware", "fault_middleware"]

INTROSPECTION_PREFIX = "/_sandbox/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FaultRule:
    """Answer matching requests with `status` instead of passing them on.

    `server` is `arm`, `hcx:source`, `hcx:destination`, or `hcx` for both managers. A rule matches
    when its method, path fragment and simulated-minute window all match; it then fires with
    probability `rate`, at most `times` times (None = no limit).
    """

    server: str
    status: int
    rate: float = 1.0
    times: int | None = None
    method: str | None = None
    path_contains: str | None = None
    # Simulated minutes since the scenario start, [start, end).
    window: tuple[float, float] | None = None
    retry_after: int | None = None
    code: str | None = None
    message: str = "Injected fault"
    # The counter key under faults:<server> (defaults to the status code).
    label: str | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"rate: must be within [0, 1], got {self.rate}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status: a fault answers 4xx or 5xx, got {self.status}")
        if self.times is not None and self.times < 0:
            raise ValueError("times: must not be negative")

    def matches(self, server: str, method: str, path: str, minute: float) -> bool:
        if not (server == self.server or server.startswith(self.server + ":")):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method is not None and method.upper() != self.method.upper():
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        return self.window is None or self.window[0] <= minute < self.window[1]


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_scenario(cls, world: World) -> FaultPlan:
        faults = world.scenario.faults
        plan = cls()
        for outage in faults.hcx_outages:
            plan.add(
                FaultRule(
                    server=f"hcx:{outage.manager}",
                    status=503,
                    window=(outage.at_minute, outage.at_minute + outage.minutes),
                    code="SERVICE_UNAVAILABLE",
                    message="HCX Manager is restarting",
                    label="outage",
                )
            )
        if faults.arm_429_rate:
            plan.add(
                FaultRule(
                    server="arm",
                    status=429,
                    rate=faults.arm_429_rate,
                    retry_after=1,
                    code="TooManyRequests",
                    message="The request is being throttled.",
                )
            )
        if faults.hcx_5xx_rate:
            plan.add(FaultRule(server="hcx", status=503, rate=faults.hcx_5xx_rate, label="5xx"))
        return plan

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(
        self, server: str, method: str, path: str, minute: float, rng: random.Random
    ) -> FaultRule | None:
        """The first rule that fires for this request, counting it as fired."""
        with self._lock:
            for rule in self.rules:
                if not rule.matches(server, method, path, minute):
                    continue
                # A draw only for partial rates, so certain rules never shift the random stream.
                if rule.rate < 1 and rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                return rule
        return None


def _error_body(server: str, rule: FaultRule) -> dict[str, Any]:
    if server == "arm":
        return {
            "error": {
                "code": rule.code or _ARM_CODES.get(rule.status, "ServerError"),
                "message": rule.message,
            }
        }
    # HCX's simplest error envelope (hcx-api.md §2.2).
    code = rule.code or _HCX_CODES.get(rule.status, "INTERNAL_SERVER_ERROR")
    return {"errors": [{"code": code, "message": rule.message}]}


# inferred: the error codes a throttled or failing front door puts in its body.
_ARM_CODES = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
_HCX_CODES = {429: "TOO_MANY_REQUESTS", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}


def fault_middleware(world: World, plan: FaultPlan, server: str) -> Any:
    """Middleware answering with the plan's faults for `server` before the simulator sees a request."""
    rng = world.rng(f"faults:{server}")

    @web.middleware
    async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(INTROSPECTION_PREFIX):
            return await handler(request)
        with world.lock:
            rule = plan.pick(server, request.method, request.path, world.minutes_since_start(), rng)
        if rule is None:
            return await handler(request)
        world.stats.count(f"faults:{server}", rule.label or str(rule.status))
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
        return web.json_response(_error_body(server, rule), status=rule.status, headers=headers)

    return faults


def clock_middleware(world: World) -> Any:
    """Middleware stamping every answer's `Date` with the simulated clock, as a real server stamps its
    own: clients that time progress by the server's answer (the wave engine's throughput) see
    simulated time, not the wall clock of the process the sandbox happens to run in."""

    @web.middleware
    async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Taken on arrival, when the simulator catches its state up to the clock: on a clock running
        # thousands of times faster than wall time, the milliseconds spent rendering a large answer
        # would otherwise add simulated minutes the answer's figures never saw.
        # A simulator that knows exactly when it computed its answer has stamped it already.
        arrived = world.now()
        response = await handler(request)
        response.headers.setdefault("Date", format_datetime(arrived, usegmt=True))
        return response

    return stamp


def counting_middleware(world: World, server: str) -> Any:
    """Middleware counting requests per route pattern (`requests:<server>`, "METHOD /pattern")."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(INTROSPECTION_PREFIX):
            resource = request.match_info.route.resource
            pattern = resource.canonical if resource is not None else "(unmatched)"
            world.stats.count(f"requests:{server}", f"{request.method} {pattern}")
        return await handler(request)

    return count
