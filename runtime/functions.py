"""Index the app's functions the way the host indexes a v2-model Python app.

`app.get_functions()` yields each function's bindings as the worker reports them (its
`get_function_json()`); this module sorts them by trigger: orchestrators and activities (by the name
orchestrations call them with), HTTP routes, queue triggers, Event Grid triggers. Triggers the runtime
does not serve (timer, blob, Service Bus, ...) are listed so start-up can say so.

`get_functions()` is not idempotent in azure-functions (a second call raises "does not have a unique
function name", durable.md §7), and a test process may start several runtimes on one imported app, so
the index falls back to building the already-validated functions again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.errors import ConfigError

__all__ = ["SERVED_TRIGGERS", "FunctionIndex", "FunctionSpec"]

log = logging.getLogger("runtime.functions")

SERVED_TRIGGERS = (
    "httpTrigger",
    "orchestrationTrigger",
    "activityTrigger",
    "queueTrigger",
    "eventGridTrigger",
)


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its name, its bindings as JSON dicts, and the callable the worker would call."""

    name: str
    bindings: tuple[dict[str, Any], ...]
    user_function: Callable[..., Any]

    @property
    def trigger(self) -> dict[str, Any]:
        return next(b for b in self.bindings if b.get("type", "").endswith("Trigger"))

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])


class FunctionIndex:
    """The app's functions by role."""

    def __init__(self, app: Any) -> None:
        self.by_name: dict[str, FunctionSpec] = {}
        self.orchestrators: dict[str, FunctionSpec] = {}
        self.activities: dict[str, FunctionSpec] = {}
        self.http: list[FunctionSpec] = []
        self.queues: list[FunctionSpec] = []
        self.event_grid: dict[str, FunctionSpec] = {}
        self.not_served: list[tuple[str, str]] = []
        for function in _functions_of(app):
            metadata = json.loads(function.get_function_json())
            spec = FunctionSpec(
                function.get_function_name(), tuple(metadata["bindings"]), function.get_user_function()
            )
            self._add(spec)

    def _add(self, spec: FunctionSpec) -> None:
        self.by_name[spec.name] = spec
        trigger = spec.trigger
        kind = trigger["type"]
        if kind == "orchestrationTrigger":
            self.orchestrators[trigger.get("orchestration") or spec.name] = spec
        elif kind == "activityTrigger":
            self.activities[trigger.get("activity") or spec.name] = spec
        elif kind == "httpTrigger":
            self.http.append(spec)
        elif kind == "queueTrigger":
            self.queues.append(spec)
        elif kind == "eventGridTrigger":
            self.event_grid[spec.name] = spec
        else:
            self.not_served.append((spec.name, kind))


def _functions_of(app: Any) -> list[Any]:
    if not hasattr(app, "get_functions"):
        raise ConfigError(f"{app!r} is not an Azure Functions app (it has no get_functions())")
    if getattr(app, "functions_bindings", None):
        # Already indexed once in this process: build again without the uniqueness bookkeeping.
        return [builder.build(app.auth_level) for builder in app._function_builders]
    try:
        return list(app.get_functions())
    except ValueError as exc:
        raise ConfigError(f"the app cannot be indexed: {exc}") from exc
