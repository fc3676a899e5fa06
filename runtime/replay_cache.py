"""Keep replays cheap: parse each history timestamp once per process, not once per episode.

Every episode rebuilds every `HistoryEvent`, and `HistoryEvent.__init__` parses its `Timestamp` with
`dateutil.parser.parse`, which is ~90 % of replay time (durable.md §9). A history's timestamps repeat
across episodes (the old events are replayed each time) and within one (an episode's events share its
timestamp), so a memo of the very same parse function gives identical `datetime` objects (immutable)
at a fraction of the cost. The SDK is not changed on disk: `install()` swaps the module's reference to
the parser for a memoised wrapper of that same parser, and `uninstall()` restores it (the benchmark
measures both side by side). Thread-safe (functools.lru_cache); bounded.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["install", "installed", "uninstall"]

_CACHE_SIZE = 65536
# The package re-exports the class under the module's name, so import the module by its path.
_history_event_module: Any = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
_original: Callable[..., Any] = _history_event_module.dt_parse


def install() -> None:
    """Memoise timestamp parsing for all replays in this process (idempotent)."""
    if not installed():
        _history_event_module.dt_parse = functools.lru_cache(maxsize=_CACHE_SIZE)(_original)


def uninstall() -> None:
    _history_event_module.dt_parse = _original


def installed() -> bool:
    return _history_event_module.dt_parse is not _original
