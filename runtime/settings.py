"""Configuration the runtime reads: host.json, local.settings.json, app settings, clocks.

* `HostConfig.load` reads the parts of host.json the runtime honours: `extensions.http.routePrefix`,
  `extensions.durableTask` (hubName, maxConcurrentActivityFunctions, storageProvider.type) and
  `extensions.queues` (maxDequeueCount, visibilityTimeout, batchSize, maxPollingInterval,
  messageEncoding). Anything else is ignored.
* `load_local_settings` reads `Values` from local.settings.json and `apply_settings` puts them in
  `os.environ` the way Core Tools does: a variable already set in the environment wins.
* `clock_from_flag` builds the runtime clock from `--clock` / `--clock-from`.

Depends on the standard library, httpx (only for `--clock-from`) and `runtime.clock`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime.clock import AcceleratedClock, Clock, VirtualClock, WallClock, clock_from_spec
from runtime.errors import ConfigError

__all__ = [
    "HostConfig",
    "QueueSettings",
    "apply_settings",
    "clock_from_flag",
    "clock_from_url",
    "find_host_json",
    "load_local_settings",
    "parse_timespan",
]

log = logging.getLogger("runtime.settings")

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def parse_timespan(value: Any, field_name: str) -> timedelta:
    """A .NET TimeSpan (`[d.]hh:mm:ss[.fff]`) or a number of milliseconds, as host.json allows."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(milliseconds=value)
    match = _TIMESPAN.match(str(value).strip())
    if not match:
        raise ConfigError(f"host.json {field_name}: {value!r} is not a time span like '00:00:30'")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0")[:6].ljust(6, "0")),
    )


@dataclass(frozen=True)
class QueueSettings:
    """`extensions.queues` with the host's defaults, except `max_polling_interval`: Azure's default
    is one minute; the local runtime polls at most every two seconds unless host.json says otherwise,
    so a developer does not wait a minute for a message."""

    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)  # delay before a failed message is retried
    batch_size: int = 16
    max_polling_interval: timedelta = timedelta(seconds=2)
    message_encoding: str = "base64"  # or "none"


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    hub_name: str = "TestHubName"
    max_activity_functions: int | None = None
    storage_provider: str | None = None
    queues: QueueSettings = field(default_factory=QueueSettings)
    source: Path | None = None

    @classmethod
    def load(cls, path: Path | None) -> HostConfig:
        if path is None:
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read host.json ({exc})") from exc
        return cls.from_dict(data, source=path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: Path | None = None) -> HostConfig:
        extensions = data.get("extensions") or {}
        http = extensions.get("http") or {}
        durable = extensions.get("durableTask") or {}
        queues = extensions.get("queues") or {}
        defaults = QueueSettings()
        encoding = str(queues.get("messageEncoding", defaults.message_encoding)).lower()
        if encoding not in ("base64", "none"):
            raise ConfigError(
                f"host.json extensions.queues.messageEncoding: {encoding!r} is not base64 or none"
            )
        queue_settings = QueueSettings(
            max_dequeue_count=_positive(
                queues.get("maxDequeueCount", defaults.max_dequeue_count), "maxDequeueCount"
            ),
            visibility_timeout=parse_timespan(
                queues.get("visibilityTimeout", "00:00:00"), "visibilityTimeout"
            ),
            batch_size=_positive(queues.get("batchSize", defaults.batch_size), "batchSize"),
            max_polling_interval=parse_timespan(queues["maxPollingInterval"], "maxPollingInterval")
            if "maxPollingInterval" in queues
            else defaults.max_polling_interval,
            message_encoding=encoding,
        )
        provider = (durable.get("storageProvider") or {}).get("type")
        max_activities = durable.get("maxConcurrentActivityFunctions")
        return cls(
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            hub_name=str(durable.get("hubName") or "TestHubName"),
            max_activity_functions=_positive(max_activities, "maxConcurrentActivityFunctions")
            if max_activities is not None
            else None,
            storage_provider=provider,
            queues=queue_settings,
            source=source,
        )


def _positive(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"host.json {name}: {value!r} is not an integer") from exc
    if number < 1:
        raise ConfigError(f"host.json {name}: must be at least 1, got {number}")
    return number


def find_host_json(start: Path) -> Path | None:
    """The nearest host.json in `start` or its parents (the app root holds it)."""
    for folder in [start, *start.parents]:
        candidate = folder / "host.json"
        if candidate.is_file():
            return candidate
    return None


def load_local_settings(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read local settings ({exc})") from exc
    values = data.get("Values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected an object with a 'Values' object")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def apply_settings(
    values: Mapping[str, str], environ: MutableMapping[str, str], *, override: bool
) -> list[str]:
    """Copy app settings into `environ`; returns the names skipped because the environment had them.
    Core Tools skips such names ("already defined in current environment variables")."""
    skipped: list[str] = []
    for name, value in values.items():
        if not override and name in environ:
            skipped.append(name)
            continue
        environ[name] = value
    return skipped


def clock_from_flag(flag: str) -> Clock:
    """`wall`, `virtual` (starts now, moves itself to the next timer when idle) or
    `accelerated:<factor>` (starts now, runs <factor> times faster than wall time)."""
    kind, _, argument = flag.partition(":")
    if kind == "wall" and not argument:
        return WallClock()
    if kind == "virtual" and not argument:
        return VirtualClock(datetime.now(UTC), auto_advance=True)
    if kind == "accelerated":
        try:
            factor = float(argument)
        except ValueError as exc:
            raise ConfigError(f"--clock accelerated:<factor>: {argument!r} is not a number") from exc
        if factor <= 0:
            raise ConfigError("--clock accelerated:<factor>: the factor must be positive")
        return AcceleratedClock(datetime.now(UTC), factor)
    raise ConfigError(f"--clock: {flag!r} is not wall, virtual or accelerated:<factor>")


def clock_from_url(url: str, ca_file: str | None = None) -> Clock:
    """Fetch a clock spec (`Clock.spec()` JSON) and rebuild the clock; TLS is verified against
    `ca_file` when given, else the system trust store."""
    import httpx

    verify: ssl.SSLContext | bool = True
    if ca_file:
        try:
            verify = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--clock-ca {ca_file}: cannot load the CA bundle ({exc})") from exc
    try:
        response = httpx.get(url, verify=verify, timeout=10.0)
        response.raise_for_status()
        return clock_from_spec(response.json())
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ConfigError(f"--clock-from {url}: cannot read a clock spec ({exc})") from exc


def storage_connection(setting: str, environ: Mapping[str, str] | None = None) -> str:
    """The connection string behind a binding's `connection` setting name."""
    env = os.environ if environ is None else environ
    value = env.get(setting) or env.get(f"AzureWebJobs{setting}")
    if not value:
        raise ConfigError(
            f"app setting {setting!r} (a storage connection string) is not set; "
            "use UseDevelopmentStorage=true for Azurite"
        )
    return value
