"""The local runtime: runs the unchanged `function_app.py` with Durable replay and SQLite state.

Public surface (everything else is internal):

* `LocalRuntime`: the in-process host (`runtime/host.py`); `python -m runtime start` is its CLI.
* the clock: `Clock`, `WallClock`, `AcceleratedClock`, `VirtualClock`, `clock_from_spec`.
* the error tree of `runtime/errors.py`.

See docs/runtime.md for flags, settings, the Durable API served and what is not modelled.
"""

from runtime.clock import AcceleratedClock, Clock, VirtualClock, WallClock, clock_from_spec
from runtime.errors import (
    ApiError,
    BadRequest,
    ConfigError,
    Conflict,
    Gone,
    LocalRuntimeError,
    NotFound,
    NotImplementedByRuntime,
    PayloadTooLarge,
    PreconditionFailed,
    StoreError,
    Unauthorized,
)
from runtime.host import LocalRuntime

__all__ = [
    "AcceleratedClock",
    "ApiError",
    "BadRequest",
    "Clock",
    "ConfigError",
    "Conflict",
    "Gone",
    "LocalRuntime",
    "LocalRuntimeError",
    "NotFound",
    "NotImplementedByRuntime",
    "PayloadTooLarge",
    "PreconditionFailed",
    "StoreError",
    "Unauthorized",
    "VirtualClock",
    "WallClock",
    "clock_from_spec",
]
