"""Telemetry: send the app's traces, logs and metrics to Application Insights, and stamp every log
record and span with the migration it belongs to, so one migration can be followed in one query.

Library: `azure-monitor-opentelemetry`, Microsoft's OpenTelemetry distro for Azure Monitor. One call
(`configure_azure_monitor`) installs the trace, log and metric exporters, instruments the Azure SDK
(every AVS ARM call becomes a dependency span) and `requests`/`urllib3`, and authenticates ingestion
with Microsoft Entra ID when `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` is set
(`Authorization=AAD;ClientId=<user-assigned identity>`; the exporter reads that setting itself). Writing
exporters by hand would duplicate all of that.

Dimensions: `telemetry_context(migration_id=..., wave=..., vm=...)` puts the values in a `ContextVar`,
so nested contexts add to the outer one and concurrent invocations (threads, asyncio tasks) never see
each other's values. A filter on the root logger's handlers copies them onto every `logging.LogRecord`
(the OpenTelemetry log handler turns record attributes into `customDimensions`); a span processor
copies them onto every span started inside the context. Records and spans created outside any context
are left alone.

`configure_telemetry()` is a no-op when `APPLICATIONINSIGHTS_CONNECTION_STRING` is absent (local
runtime, tests, sandbox), so importing and calling it is always safe. It depends on nothing else in
the app, and never reads or logs a secret: the connection string's instrumentation key is an
identifier, and ingestion is authenticated by the managed identity (see docs/observability.md).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from shared.errors import SettingsError

__all__ = [
    "CONNECTION_STRING_SETTING",
    "DIMENSIONS",
    "DimensionFilter",
    "DimensionSpanProcessor",
    "attach_dimension_filter",
    "configure_telemetry",
    "current_dimensions",
    "telemetry_context",
]

CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# The Functions Python worker configures the distro itself when this setting is "true"; configuring it
# a second time would export every record twice, so we then only add our dimension hooks.
_WORKER_TELEMETRY_SETTING = "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"

# The custom dimensions, in the order a reader expects them (migration > wave > VM).
DIMENSIONS: tuple[str, ...] = ("migration_id", "wave", "vm")

# One immutable mapping per context; `telemetry_context` replaces it, never mutates it, so a value set
# in one invocation can never leak into another that shares the thread later.
_NO_DIMENSIONS: Mapping[str, str] = MappingProxyType({})
_current: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "hcx_conductor_telemetry_dimensions", default=_NO_DIMENSIONS
)


def current_dimensions() -> dict[str, str]:
    """The dimensions in force here: `{"migration_id": ..., "wave": ..., "vm": ...}`, set keys only."""
    return dict(_current.get())


@contextlib.contextmanager
def telemetry_context(
    *, migration_id: str | None = None, wave: str | int | None = None, vm: str | None = None
) -> Iterator[dict[str, str]]:
    """Attach `migration_id`, `wave` and `vm` to every log record and span created inside the block.

    Arguments left `None` keep the outer context's value, so an orchestration can set the migration
    and an activity add the wave and VM. Values are identifiers, never secrets. An empty value is a
    caller's mistake and raises `ValueError` naming the field.
    """
    given = {"migration_id": migration_id, "wave": wave, "vm": vm}
    merged = dict(_current.get())
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"telemetry dimension {name!r} must be a string or an integer")
        text = str(value).strip()
        if not text:
            raise ValueError(f"telemetry dimension {name!r} must not be empty")
        merged[name] = text
    token = _current.set(merged)
    try:
        yield dict(merged)
    finally:
        _current.reset(token)


class DimensionFilter(logging.Filter):
    """Copies the current dimensions onto each record that passes through the handler it is attached to.

    A handler filter (not a record factory) runs after `extra=` has been applied, so a value passed
    explicitly with `extra={"vm": ...}` wins instead of colliding, and it sees records propagated from
    every logger. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _current.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def attach_dimension_filter(logger: logging.Logger | None = None) -> int:
    """Attach one `DimensionFilter` to each handler of `logger` (the root logger by default) that lacks
    one, and return how many handlers were changed; calling it again changes nothing."""
    target = logger if logger is not None else logging.getLogger()
    changed = 0
    for handler in target.handlers:
        if not any(isinstance(f, DimensionFilter) for f in handler.filters):
            handler.addFilter(DimensionFilter())
            changed += 1
    return changed


class DimensionSpanProcessor(SpanProcessor):
    """Copies the current dimensions onto each span when it starts (they become `customDimensions` of
    requests and dependencies in Application Insights)."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for name, value in _current.get().items():
            span.set_attribute(name, value)

    def on_end(self, span: ReadableSpan) -> None:
        return None


def _has_dimension_processor(provider: TracerProvider) -> bool:
    # The SDK keeps its processors on a multi-processor; look there so a second call adds nothing.
    processors = getattr(getattr(provider, "_active_span_processor", None), "_span_processors", ())
    return any(isinstance(p, DimensionSpanProcessor) for p in processors)


def configure_telemetry(environ: Mapping[str, str] | None = None) -> bool:
    """Configure Azure Monitor export when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set.

    Returns True when telemetry goes to Application Insights, False when it stays local (no connection
    string). Safe to call more than once: a process that already has an SDK tracer provider (from an
    earlier call or from the Functions worker) only gets the dimension hooks. A malformed connection
    string raises `SettingsError` naming the setting, never echoing its value.
    """
    env = os.environ if environ is None else environ
    connection_string = env.get(CONNECTION_STRING_SETTING, "").strip()
    if not connection_string:
        attach_dimension_filter()
        return False
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        # Configured already (a second call, or the worker when PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY
        # is "true"): add the dimensions to the existing pipeline instead of building a second one.
        if not _has_dimension_processor(provider):
            provider.add_span_processor(DimensionSpanProcessor())
        attach_dimension_filter()
        return True
    if env.get(_WORKER_TELEMETRY_SETTING, "").strip().lower() == "true":
        # inferred: azure-functions-python-worker configures the distro before indexing the app when
        # this setting is "true"; if no provider is visible yet we still defer to it.
        return True
    # Imported here: the distro pulls in every instrumentation it supports, which the local runtime
    # and the tests should not pay for when telemetry is off.
    from azure.monitor.opentelemetry import configure_azure_monitor

    try:
        configure_azure_monitor(
            connection_string=connection_string,
            span_processors=[DimensionSpanProcessor()],
        )
    except ValueError:
        # The distro's message can quote the connection string; keep it out of ours.
        message = f"{CONNECTION_STRING_SETTING} is not a valid connection string"
        raise SettingsError(message) from None
    # The distro has just added its OpenTelemetry handler to the root logger.
    attach_dimension_filter()
    return True
