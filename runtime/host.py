"""`LocalRuntime`: the unchanged Function App, served on one machine with state in SQLite.

Composes the parts: the app's function index, the store, the engine (episodes, activities, timers),
the HTTP server (app routes, Durable API, Event Grid), the queue listener, and one clock. Other
areas' end-to-end tests use it in process:

```python
with LocalRuntime(function_app.app, tmp_path / "state.sqlite", clock=clock) as rt:
    response = httpx.post(f"{rt.base_url}/api/orchestrators/migrate_plan", json=plan)
    assert rt.wait_for_idle(timeout=30.0)
```

`python -m runtime start` (runtime/cli.py) wraps the same object.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from runtime import replay_cache
from runtime.clock import Clock, VirtualClock, WallClock
from runtime.engine import Engine, EngineStats
from runtime.errors import ConfigError
from runtime.executor import TimerSettings
from runtime.functions import FunctionIndex
from runtime.http.app_routes import AppRoutes
from runtime.http.auth import Keys
from runtime.http.durable_api import DurableApi
from runtime.http.eventgrid import EventGridWebhook
from runtime.http.server import DEFAULT_MAX_BODY_BYTES, HttpHost
from runtime.http.urls import DURABLE_WEBHOOK_PREFIX, EVENTGRID_WEBHOOK_PREFIX, Urls
from runtime.invoke import Invoker
from runtime.loop import FunctionsLoop
from runtime.management import Management
from runtime.queues import QueueListener, QueueSender
from runtime.settings import HostConfig, apply_settings, find_host_json
from runtime.store import Store

__all__ = ["LocalRuntime"]

log = logging.getLogger("runtime")

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", "")  # noqa: S104 - names, not binds


def _app_root(functions: FunctionIndex) -> Path:
    for spec in functions.by_name.values():
        try:
            source = inspect.getsourcefile(inspect.unwrap(spec.user_function))
        except TypeError:
            continue
        if source:
            return Path(source).resolve().parent
    return Path.cwd()


class LocalRuntime:
    """Runs a `df.DFApp` with Durable replay, SQLite state and an HTTP host.

    `clock` defaults to wall time; `settings` are put into `os.environ` before the app runs (callers
    restore the environment themselves); `workers` defaults to host.json
    `extensions.durableTask.maxConcurrentActivityFunctions` (else 10 × CPUs, the extension's default);
    `host_json` overrides the host.json found next to the app's code.
    """

    def __init__(
        self,
        app: Any,
        state_path: str | Path,
        *,
        clock: Clock | None = None,
        settings: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int | None = None,
        host_json: str | Path | Mapping[str, Any] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.state_path = Path(state_path)
        self.clock: Clock = clock or WallClock()
        self.settings = dict(settings or {})
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self._workers = workers
        self._host_json = host_json
        self.base_url = ""
        self.config = HostConfig()
        self._started = False
        self._parts: list[Any] = []

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        if self._started:
            raise RuntimeError("this LocalRuntime is already started")
        apply_settings(self.settings, os.environ, override=True)
        replay_cache.install()
        self.functions = FunctionIndex(self.app)
        self.config = self._load_config()
        workers = self._workers or self.config.max_activity_functions or 10 * (os.cpu_count() or 1)
        self.keys = Keys(os.environ)
        self.store = Store(self.state_path)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="runtime-io")
        self._urls_holder: dict[str, Urls] = {}
        self.queue_listener: QueueListener | None = None
        sender = QueueSender(self.config.queues, on_sent=self._message_sent)
        self.invoker = Invoker(
            loop=FunctionsLoop.shared(), client_binding=self._client_binding, outputs=sender
        )
        self.engine = Engine(
            self.store,
            self.functions,
            self.invoker,
            self.clock,
            workers=workers,
            timer_settings=TimerSettings.for_provider(self.config.storage_provider),
        )
        self.management = Management(self.store, self.engine, self.functions, self.clock)
        provisional = Urls(
            f"http://{self.host}:{self.port}", f"http://127.0.0.1:{self.port}", self.config.hub_name
        )
        durable_api = DurableApi(self.management, provisional, self._pool)
        self.http = HttpHost(
            host=self.host,
            port=self.port,
            max_body_bytes=self.max_body_bytes,
            route_prefix=self.config.route_prefix,
            durable=durable_api,
            app_routes=AppRoutes(self.functions, self.invoker, self.engine, self.keys, self._pool),
            eventgrid=EventGridWebhook(self.functions, self.invoker, self.engine, self.keys, self._pool),
            keys=self.keys,
        )
        try:
            self.port = self.http.start()
        except OSError as exc:
            self.store.close()
            raise ConfigError(f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc})") from exc
        shown_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104 - a name
        shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
        rpc_host = "127.0.0.1" if self.host in _LOOPBACK_HOSTS else shown_host
        self.base_url = f"http://{shown_host}:{self.port}"
        self.urls = Urls(
            self.base_url, f"http://{rpc_host}:{self.port}", self.config.hub_name, self.keys.durable_key
        )
        durable_api.urls = self.urls
        self.engine.start()
        if self.functions.queues:
            self.queue_listener = QueueListener(
                self.functions.queues, self.config.queues, self.invoker, self.engine
            )
            self.queue_listener.start()
        self._started = True
        return self

    def _load_config(self) -> HostConfig:
        if isinstance(self._host_json, Mapping):
            return HostConfig.from_dict(self._host_json)
        if self._host_json is not None:
            return HostConfig.load(Path(self._host_json))
        return HostConfig.load(find_host_json(_app_root(self.functions)))

    def _client_binding(self, binding: dict[str, Any]) -> str:
        return self.urls.client_binding(binding)

    def _message_sent(self, queue: str) -> None:
        if self.queue_listener is not None:
            self.queue_listener.message_sent(queue)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self.queue_listener is not None:
            self.queue_listener.stop()
        self.http.stop()
        self.engine.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what tests and tools use --------------------------------------------------------------

    def wait_for_idle(self, timeout: float = 30.0) -> bool:
        """True once no episode or activity is runnable or running and no trigger call is in
        progress (with an auto-advancing VirtualClock: and no timer is pending); False on timeout."""
        return self.engine.wait_for_idle(timeout)

    @property
    def stats(self) -> EngineStats:
        return self.engine.stats

    @property
    def durable_base_url(self) -> str:
        return self.base_url + DURABLE_WEBHOOK_PREFIX

    def start_new(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        """Start an orchestration as `DurableOrchestrationClient.start_new` does: the input is stored
        as a JSON string holding the JSON (durable.md §8.3), so any JSON value reaches `get_input()`."""
        return self.management.start(
            name, instance_id, None if input is None else json.dumps(json.dumps(input))
        )

    def get_status(self, instance_id: str, *, show_history: bool = False) -> dict[str, Any]:
        """The status API's body (raises `runtime.errors.NotFound` for an unknown id)."""
        return self.management.status(
            instance_id, show_history=show_history, show_history_output=show_history
        )

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Raise an event as an HTTP POST of `data` as JSON does (the orchestrator gets `data`)."""
        self.management.raise_event(instance_id, name, json.dumps(data))

    def terminate(self, instance_id: str, reason: str = "") -> None:
        self.management.terminate(instance_id, reason)

    def describe(self) -> list[str]:
        """The start-up banner: routes, other functions and the Durable endpoints."""
        lines = ["Functions:"]
        for name, methods, template in self.http.app_routes.describe():
            prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
            lines.append(f"    {name}: [{methods}] {self.base_url}{prefix}/{template}")
        for name in sorted(self.functions.orchestrators):
            lines.append(f"    {name}: orchestrationTrigger")
        for name in sorted(self.functions.activities):
            lines.append(f"    {name}: activityTrigger")
        for spec in self.functions.queues:
            lines.append(f"    {spec.name}: queueTrigger ({spec.trigger.get('queueName')})")
        for name in sorted(self.functions.event_grid):
            lines.append(
                f"    {name}: eventGridTrigger {self.base_url}{EVENTGRID_WEBHOOK_PREFIX}?functionName={name}"
            )
        for name, kind in self.functions.not_served:
            lines.append(f"    {name}: {kind} (not run by the local runtime)")
        base = self.durable_base_url
        lines += [
            f"Durable Functions HTTP API (task hub {self.config.hub_name}):",
            f"    start:     POST   {base}/orchestrators/{{functionName}}[/{{instanceId}}]",
            f"    status:    GET    {base}/instances/{{instanceId}}",
            f"    list:      GET    {base}/instances/",
            f"    raise:     POST   {base}/instances/{{instanceId}}/raiseEvent/{{eventName}}",
            f"    terminate: POST   {base}/instances/{{instanceId}}/terminate?reason={{text}}",
            f"    purge:     DELETE {base}/instances/{{instanceId}}",
        ]
        if self.keys.enabled:
            lines.append("Function keys are configured: HTTP triggers check ?code= or x-functions-key.")
        else:
            lines.append(
                "No function keys configured (LOCAL_FUNCTION_KEYS, LOCAL_MASTER_KEY): keys are not checked."
            )
        clock = self.clock
        kind = type(clock).__name__
        if isinstance(clock, VirtualClock):
            kind += " (auto-advance)" if clock.auto_advance else " (moves on advance())"
        lines.append(f"Clock: {kind}, now {clock.now().isoformat()}; state: {self.state_path}")
        return lines
