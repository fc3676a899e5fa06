"""The sandbox: two simulated AVS private clouds (Microsoft.AVS ARM and HCX Manager) over TLS.

`from sandbox import Sandbox` gives the assembled sandbox (`sandbox/sandbox.py`); the scenario model
is `sandbox.core.scenario`. The import is lazy so that reading a scenario does not load the servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.core.scenario import Scenario, ScenarioError, load_scenario
    from sandbox.sandbox import Sandbox

__all__ = ["Sandbox", "Scenario", "ScenarioError", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from sandbox.sandbox import Sandbox

        return Sandbox
    if name in ("Scenario", "ScenarioError", "load_scenario"):
        from sandbox.core import scenario

        return getattr(scenario, name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
