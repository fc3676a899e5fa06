"""Call a user function the way the Python worker does: trigger value, other bindings, `context`.

For each binding the worker hands the function: the trigger value (already decoded by the real
`azure.functions` converter), the Durable client binding JSON (turned into a
`DurableOrchestrationClient` by the SDK's own middleware), a `func.Out` for each output binding, and a
`func.Context` when the function has a `context` parameter. `async def` functions run on the process's
functions loop (`runtime.loop`), plain functions in the calling thread.

Output bindings are handed to an `OutputSink` after the call (the runtime sends queue outputs);
other output types are dropped with a warning, which start-up also prints.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import azure.functions as func
from azure.functions import _abc as functions_abc

from runtime.functions import FunctionSpec
from runtime.loop import FunctionsLoop

__all__ = ["Invoker", "OutputSink"]

log = logging.getLogger("runtime.invoke")


class OutputSink(Protocol):
    def deliver(self, function: str, binding: dict[str, Any], value: Any) -> None:
        """Send `value`, set on output binding `binding` of `function`."""
        ...


class _Out(func.Out):
    def __init__(self) -> None:
        self._value: Any = None
        self.was_set = False

    def set(self, val: Any) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> Any:
        return self._value


class _TraceContext(functions_abc.TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _Context(func.Context):
    def __init__(self, function_name: str, invocation_id: str) -> None:
        self._function_name = function_name
        self._invocation_id = invocation_id
        self._trace = _TraceContext()
        self._storage = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._storage

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return ""

    @property
    def trace_context(self) -> functions_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> Any:
        return None


class Invoker:
    """Builds a function's arguments and calls it; one per runtime."""

    def __init__(
        self,
        *,
        loop: FunctionsLoop,
        client_binding: Callable[[dict[str, Any]], str],
        outputs: OutputSink | None = None,
    ) -> None:
        self.loop = loop
        self._client_binding = client_binding
        self._outputs = outputs

    def _arguments(self, spec: FunctionSpec, trigger_value: Any) -> tuple[dict[str, Any], dict[str, _Out]]:
        kwargs: dict[str, Any] = {}
        outs: dict[str, _Out] = {}
        trigger_name = spec.trigger["name"]
        for binding in spec.bindings:
            name = binding["name"]
            if name == "$return":
                continue
            if name == trigger_name:
                kwargs[name] = trigger_value
            elif binding["type"] == "durableClient":
                kwargs[name] = self._client_binding(binding)
            elif binding.get("direction") == "OUT":
                outs[name] = kwargs[name] = _Out()
            else:
                kwargs[name] = None  # an input binding the runtime does not model
        parameters = _parameters(spec.user_function)
        if "context" in parameters and "context" not in kwargs:
            kwargs["context"] = _Context(spec.name, str(uuid.uuid4()))
        return kwargs, outs

    def call(self, spec: FunctionSpec, trigger_value: Any) -> Any:
        """Call from any thread but the functions loop; returns what the function returned."""
        kwargs, outs = self._arguments(spec, trigger_value)
        function = spec.user_function
        if inspect.iscoroutinefunction(function):
            result = self.loop.run(function(**kwargs))
        else:
            result = function(**kwargs)
        self._send_outputs(spec, outs)
        return result

    async def call_async(self, spec: FunctionSpec, trigger_value: Any, pool: Any = None) -> Any:
        """Call from a coroutine on another loop (the HTTP server's) without blocking it."""
        kwargs, outs = self._arguments(spec, trigger_value)
        function = spec.user_function
        if inspect.iscoroutinefunction(function):
            result = await asyncio.wrap_future(self.loop.submit(function(**kwargs)))
        else:
            result = await asyncio.get_running_loop().run_in_executor(pool, lambda: function(**kwargs))
        if outs:
            await asyncio.get_running_loop().run_in_executor(pool, self._send_outputs, spec, outs)
        return result

    def _send_outputs(self, spec: FunctionSpec, outs: dict[str, _Out]) -> None:
        for name, out in outs.items():
            if not out.was_set:
                continue
            binding = next(b for b in spec.bindings if b["name"] == name)
            if self._outputs is None:
                log.warning(
                    "function %s set output %s, which the local runtime does not deliver", spec.name, name
                )
                continue
            self._outputs.deliver(spec.name, binding, out.get())


def _parameters(function: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()
