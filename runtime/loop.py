"""The one event loop on which the runtime runs users' `async def` functions.

The Python worker runs async functions on its event loop, and `azure-functions-durable` keeps one
process-global aiohttp session (`models/utils/http_utils.py`) that is bound to the loop that created
it. So every `async def` function (HTTP starters using the Durable client, async activities, queue and
Event Grid functions) must run on one loop per *process*, whatever number of `LocalRuntime`s a test
process starts and stops. That loop lives in a daemon thread started on first use; it is the only
process-wide state of the runtime and holds nothing of any one runtime.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["FunctionsLoop"]

T = TypeVar("T")


class FunctionsLoop:
    """A running event loop in its own daemon thread."""

    _shared: FunctionsLoop | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="functions-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @classmethod
    def shared(cls) -> FunctionsLoop:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for it from another thread."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("FunctionsLoop.run would deadlock when called from the loop itself")
        return self.submit(coro).result()
