"""End-to-end fixtures: the real function_app.py on the local runtime, against the in-process sandbox.

Each test builds its own world: a scenario (an example, or a variant of one built with `scenario()`),
a `VirtualClock(auto_advance=True)` shared by the sandbox and the runtime, a Sandbox on ephemeral
ports, and a LocalRuntime serving function_app.app with `sandbox.app_settings()`. Nothing is shared
between tests; the process-wide HCX client cache is emptied around each test, because ephemeral ports
are reused by later sandboxes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from runtime import LocalRuntime, VirtualClock
from sandbox import Sandbox
from sandbox.core.scenario import Scenario, parse_scenario
from tests.fixtures import merge

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "examples" / "scenarios"
PLANS = REPO / "examples" / "plans"
PLAN_FOR = {"same-region": "same-region.yaml", "cross-region": "cross-region.yaml"}
# host.json, except that an empty queue is polled often (the tests wait on it in wall time).
FAST_QUEUES = {
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "api"},
        "queues": {
            "maxPollingInterval": "00:00:00.200",
            "maxDequeueCount": 5,
            "visibilityTimeout": "00:00:01",
        },
        "durableTask": {"hubName": "HcxConductor", "maxConcurrentActivityFunctions": 8},
    },
}


def scenario(name: str, **overrides: Any) -> Scenario:
    """An example scenario, with `overrides` merged in (dicts merge, anything else replaces)."""
    data = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    return parse_scenario(merge(data, overrides))


def plan(name: str, **overrides: Any) -> dict[str, Any]:
    """The example plan written for scenario `name`, as data, with `overrides` merged in."""
    data = yaml.safe_load((PLANS / PLAN_FOR[name]).read_text())
    return merge(data, overrides)


@dataclass
class Stack:
    """One running world: sandbox + runtime on one virtual clock, and an HTTP client for the app."""

    sandbox: Sandbox
    runtime: LocalRuntime
    clock: VirtualClock
    state: Path

    @property
    def api(self) -> str:
        return f"{self.runtime.base_url}/api"

    def post(self, path: str, body: Any, content_type: str = "application/json") -> httpx.Response:
        if isinstance(body, str | bytes):
            content = body
        elif "yaml" in content_type:
            content = yaml.safe_dump(body)
        else:
            content = json.dumps(body, default=str)
        return httpx.post(
            f"{self.api}/{path}", content=content, headers={"Content-Type": content_type}, timeout=60
        )

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.api}/{path}", params=params, timeout=60)

    def settle(self, timeout: float = 120.0) -> None:
        assert self.runtime.wait_for_idle(timeout=timeout), "the runtime did not go idle"

    def finished(self, plan_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until GET /api/migrations/{id} answers 200, and return its body."""
        deadline = time.monotonic() + timeout
        while True:
            self.settle(timeout)
            response = self.get(f"migrations/{plan_id}")
            if response.status_code == 200:
                return dict(response.json())
            assert response.status_code == 202, response.text
            if time.monotonic() > deadline:
                raise AssertionError(f"migration {plan_id} still running: {response.text[:2000]}")
            time.sleep(0.05)

    def drive(self, plan_id: str, step: timedelta = timedelta(minutes=5), limit: int = 200) -> dict[str, Any]:
        """With a manual clock: advance it in steps until the migration ends; its final view."""
        for _ in range(limit):
            self.settle()
            response = self.get(f"migrations/{plan_id}")
            if response.status_code == 200:
                return dict(response.json())
            self.clock.advance(step)
        raise AssertionError(f"migration {plan_id} did not end within {limit} steps")

    def prepared(
        self, plan_id: str, step: timedelta = timedelta(minutes=1), limit: int = 300
    ) -> dict[str, Any]:
        """With a manual clock: advance it until preparation is over (the waves begin); that view.

        The waves start in the same instant, so nothing has moved yet: the world is as preparation
        left it."""
        for _ in range(limit):
            self.settle()
            view = dict(self.get(f"migrations/{plan_id}").json())
            if view["phase"] not in (
                "submitted",
                "preflight",
                "pairing",
                "service_mesh",
                "network_extension",
            ):
                return view
            self.clock.advance(step)
        raise AssertionError(f"migration {plan_id} was not prepared within {limit} steps")

    def requests(self, server: str) -> dict[str, int]:
        return dict(self.sandbox.stats()["requests"].get(server, {}))

    def all_requests(self) -> dict[str, int]:
        stats = self.sandbox.stats()["requests"]
        return {f"{server} {route}": n for server, routes in stats.items() for route, n in routes.items()}

    def state_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.state.parent.glob(self.state.name + "*"))


Factory = Callable[..., AbstractContextManager[Stack]]


@pytest.fixture
def stack_factory(tmp_path: Path) -> Factory:
    """`with stack_factory(scenario) as stack:` — a sandbox and the app's runtime on one virtual clock."""
    import function_app

    counter = iter(range(1000))

    @contextmanager
    def build(
        world: Scenario,
        settings: dict[str, str] | None = None,
        host_json: Any = None,
        auto_advance: bool = True,
    ) -> Iterator[Stack]:
        clock = VirtualClock(world.start, auto_advance=auto_advance)
        state = tmp_path / f"state-{next(counter)}.sqlite"
        with Sandbox(world, clock=clock) as sb:
            # Reports land in the test's own directory, never in the working tree.
            app_settings = {**sb.app_settings(), "REPORT_DIR": str(tmp_path / "reports"), **(settings or {})}
            with LocalRuntime(
                function_app.app,
                state,
                clock=clock,
                settings=app_settings,
                workers=4,
                host_json=host_json or FAST_QUEUES,
            ) as rt:
                yield Stack(sb, rt, clock, state)

    return build


@pytest.fixture
def stack(stack_factory: Factory, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The same-region example world (parametrize `world` indirectly for another)."""
    name = getattr(request, "param", "same-region")
    with stack_factory(scenario(name)) as built:
        yield built


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def logged_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The CloudEvents the app logged (no topic configured), in order."""
    return [
        json.loads(r.getMessage().removeprefix("event "))
        for r in caplog.records
        if r.name == "hcx_conductor.events" and r.getMessage().startswith("event ")
    ]


# Requests that only read: logins, inventory and other queries, credentials. Anything else changes state.
READ_ONLY_POSTS = (
    "/hybridity/api/sessions",
    "/hybridity/api/service/inventory/",
    "/hybridity/api/interconnect/appliances/query",
    "/listAdminCredentials",
)


def mutating(stack: Stack) -> list[str]:
    """Every request the sandbox counted that could have changed something (route patterns)."""
    changed = []
    for key in stack.all_requests():
        _, method, path = key.split(" ", 2)
        if method in ("GET", "HEAD"):
            continue
        if method == "POST" and any(marker in path for marker in READ_ONLY_POSTS):
            continue
        changed.append(key)
    return changed


def codes(view: dict[str, Any]) -> dict[str, str | None]:
    """code → resource of the error findings in a status view or result."""
    return {f["code"]: f.get("resource") for f in view["findings"] if f["severity"] == "error"}
