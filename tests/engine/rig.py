"""End-to-end rig for the wave engine: the real function_app on the local runtime, against the
in-process sandbox, both on one auto-advancing virtual clock.

`Rig.open(tmp_path, scenario)` starts both; `rig.prepare(waves, **plan)` reads a `PreparedContext`
from the sandbox with the real HCX client (tests/engine/world.py); `rig.start_wave(...)` starts the
`migrate_wave` sub-orchestrator directly, as the root orchestrator does; `rig.run()` lets virtual
time run until the runtime is idle. Every rig is fresh: new clock, new sandbox and ports, new
SQLite state, and an empty process-wide HCX client cache (ports are reused by later sandboxes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from activities import _clients
from runtime import LocalRuntime, VirtualClock
from sandbox import Sandbox
from sandbox.core.scenario import Scenario
from shared.plan import MigrationPlan
from shared.prepared import PreparedContext
from tests.engine import world

HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "api"},
        "durableTask": {"hubName": "HcxConductor", "maxConcurrentActivityFunctions": 4},
    },
}


def app() -> Any:
    import function_app

    return function_app.app


class Rig:
    def __init__(self, sandbox: Sandbox, runtime: LocalRuntime, clock: VirtualClock) -> None:
        self.sandbox = sandbox
        self.runtime = runtime
        self.clock = clock
        self.plan: MigrationPlan | None = None
        self.prepared: PreparedContext | None = None

    @classmethod
    @contextmanager
    def open(
        cls, tmp_path: Path, scenario: Scenario | None = None, *, workers: int = 4, auto_advance: bool = True
    ) -> Iterator[Rig]:
        """`auto_advance=False`: time moves only through `rig.advance()` (to act at a given moment)."""
        scenario = scenario or world.scenario()
        clock = VirtualClock(scenario.start, auto_advance=auto_advance)
        _clients.cache.clear()
        try:
            with Sandbox(scenario, clock=clock) as sb:
                # Reports land in the test's own directory, never in the working tree.
                settings = {**sb.app_settings(), "REPORT_DIR": str(tmp_path / "reports")}
                with LocalRuntime(
                    app(),
                    tmp_path / "state.sqlite",
                    clock=clock,
                    settings=settings,
                    workers=workers,
                    host_json=HOST_JSON,
                ) as rt:
                    yield cls(sb, rt, clock)
        finally:
            _clients.cache.clear()

    def prepare(self, waves: list[dict[str, Any]], **plan: Any) -> PreparedContext:
        self.plan = world.plan_for(self.sandbox, waves, **plan)
        self.prepared = world.prepare(self.sandbox, self.plan, self.clock)
        return self.prepared

    def wave_input(self, index: int = 0, **extra: Any) -> dict[str, Any]:
        assert self.plan is not None
        assert self.prepared is not None
        return {
            "plan": self.plan.model_dump(mode="json"),
            "prepared": self.prepared.for_wave(index).model_dump(mode="json"),
            "wave": index,
            "run": "run1",
            **extra,
        }

    def start_wave(self, index: int = 0, **extra: Any) -> str:
        """Start `migrate_wave` over the Durable HTTP API, as the root would start its child."""
        instance = f"mig-{self.plan.id if self.plan else 'x'}:wave-{index + 1:02d}"
        return self.start("migrate_wave", self.wave_input(index, **extra), instance)

    def start(self, orchestrator: str, data: dict[str, Any], instance: str) -> str:
        """Start any orchestrator over the Durable HTTP API."""
        url = f"{self.runtime.durable_base_url}/orchestrators/{orchestrator}/{instance}"
        answer = httpx.post(url, json=data, timeout=60)
        assert answer.status_code == 202, answer.text
        return instance

    def run(self, timeout: float = 120.0) -> None:
        assert self.runtime.wait_for_idle(timeout=timeout), "the runtime did not become idle"

    def advance(self, delta: Any, timeout: float = 60.0) -> None:
        """Move a manual clock by `delta` and let the runtime catch up (fire timers, run episodes)."""
        self.clock.advance(delta)
        self.run(timeout)

    def raise_event(self, instance: str, name: str, data: dict[str, Any]) -> None:
        """Raise an event over the Durable HTTP API, then let the runtime act on it."""
        url = f"{self.runtime.durable_base_url}/instances/{instance}/raiseEvent/{name}"
        answer = httpx.post(url, json=data, timeout=60)
        assert answer.status_code == 202, answer.text
        self.run()

    def custom(self, instance: str) -> dict[str, Any]:
        return dict(self.status(instance).get("customStatus") or {})

    def status(self, instance: str) -> dict[str, Any]:
        return self.runtime.get_status(instance)

    def history(self, instance: str) -> list[dict[str, Any]]:
        return list(self.runtime.get_status(instance, show_history=True).get("historyEvents") or [])

    def hcx(self, side: str = "source") -> dict[str, Any]:
        return self.sandbox.hcx[side].introspect()  # type: ignore[index]

    def migrations_of(self, vm: str) -> list[dict[str, Any]]:
        return [m for m in self.hcx()["migrations"] if m["vm"] == vm]
