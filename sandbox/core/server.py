"""The server seam: one background thread with one asyncio loop serving aiohttp apps over TLS.

The sandbox's simulators are plain objects; this module puts them on the network the way real
clients reach real services: HTTPS on 127.0.0.1, an ephemeral port per server, verified TLS. All
servers share one loop thread, so starting a sandbox costs one thread and `stop()` leaves none behind.

aiohttp was chosen over the standard library's `http.server` because it serves many keep-alive TLS
connections concurrently on one thread, and because its middlewares give faults and request counting
one place to live. This module depends on aiohttp and the standard library only.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

__all__ = ["ServerThread"]

T = TypeVar("T")
_START_TIMEOUT = 30.0


class ServerThread:
    """Runs aiohttp applications on a private event loop in a daemon thread."""

    def __init__(self, name: str = "sandbox-servers") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        if not ready.wait(_START_TIMEOUT):
            raise RuntimeError("the sandbox server loop did not start")

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = _START_TIMEOUT) -> T:
        """Run `coro` on the server loop and wait for its result."""
        if self._loop is None or not self.running:
            coro.close()
            raise RuntimeError("the server thread is not running; call start() first")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def serve(self, app: web.Application, ssl_context: ssl.SSLContext, host: str = "127.0.0.1") -> int:
        """Serve `app` over TLS on an ephemeral port of `host`; returns the port."""
        return self.call(self._serve(app, ssl_context, host))

    async def _serve(self, app: web.Application, ssl_context: ssl.SSLContext, host: str) -> int:
        # No access log: a benchmark makes thousands of requests, and tests read counters instead.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        self._runners.append(runner)
        address = runner.addresses[-1]
        return int(address[1])

    def stop(self) -> None:
        """Close every server and stop the loop thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._cleanup(), loop).result(_START_TIMEOUT)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(_START_TIMEOUT)
        loop.close()
        self._loop = None
        self._thread = None

    async def _cleanup(self) -> None:
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()
        # Whatever a handler left running (a client that hung up mid-request) must not outlive us.
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_default_executor()
