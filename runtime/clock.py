"""The one clock abstraction shared by the local runtime and the sandbox.

Durable timers in the runtime and every time-driven state in the sandbox (jobs, syncs, switchover
windows, token expiry) read the same `Clock`, so a test can move both worlds forward together.

* `WallClock`: real time, for production-like runs.
* `AcceleratedClock`: simulated time that runs `factor` times faster than wall time from a fixed
  origin. It is fully described by three numbers (`spec()`), so a second process can rebuild an
  identical clock (the runtime does this from the sandbox's introspection endpoint).
* `VirtualClock`: time that moves only when told to (`advance`, `advance_to`). With
  `auto_advance=True` the runtime jumps it to the next due timer whenever it has nothing else to do,
  the way Temporal's test server skips time.

Waiters never poll: a sleeper asks `real_seconds_until(deadline)` how long to wait in real time
(None means "until someone moves the clock") and registers a listener that `VirtualClock` calls on
every jump. This module depends on the standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

__all__ = ["AcceleratedClock", "Clock", "VirtualClock", "WallClock", "clock_from_spec", "utc"]

Listener = Callable[[], None]


def utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; naive values are taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time on this clock, tz-aware UTC."""
        ...

    def real_seconds_until(self, deadline: datetime) -> float | None:
        """Real seconds a sleeper must wait for `deadline`; 0 if past; None if only a jump gets there."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` whenever time jumps; returns a function that unsubscribes."""
        ...

    def spec(self) -> dict[str, Any]:
        """A JSON description from which `clock_from_spec` rebuilds an equivalent clock."""
        ...


class _Listeners:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()


class WallClock(_Listeners):
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds_until(self, deadline: datetime) -> float | None:
        return max(0.0, (utc(deadline) - self.now()).total_seconds())

    def spec(self) -> dict[str, Any]:
        return {"kind": "wall"}


class AcceleratedClock(_Listeners):
    """Simulated time = `origin` + (wall time since `wall_origin`) × `factor`."""

    def __init__(self, origin: datetime, factor: float, wall_origin: float | None = None) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        super().__init__()
        self.origin = utc(origin)
        self.factor = float(factor)
        self.wall_origin = time.time() if wall_origin is None else wall_origin

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.time() - self.wall_origin) * self.factor)

    def real_seconds_until(self, deadline: datetime) -> float | None:
        return max(0.0, (utc(deadline) - self.now()).total_seconds() / self.factor)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "accelerated",
            "origin": self.origin.isoformat(),
            "factor": self.factor,
            "wall_origin": self.wall_origin,
        }


class VirtualClock(_Listeners):
    """Time that moves only on `advance`/`advance_to`; thread-safe."""

    def __init__(self, start: datetime | None = None, *, auto_advance: bool = False) -> None:
        super().__init__()
        self._now = utc(start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        self._lock = threading.Lock()
        # Read by the runtime: when it is idle it may jump straight to its next due timer.
        self.auto_advance = auto_advance

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def real_seconds_until(self, deadline: datetime) -> float | None:
        return 0.0 if utc(deadline) <= self.now() else None

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += delta
            now = self._now
        self.notify()
        return now

    def advance_to(self, moment: datetime) -> datetime:
        """Move to `moment` if it lies ahead; a moment in the past leaves the clock where it is."""
        with self._lock:
            self._now = max(self._now, utc(moment))
            now = self._now
        self.notify()
        return now

    def spec(self) -> dict[str, Any]:
        return {"kind": "virtual", "now": self.now().isoformat(), "auto_advance": self.auto_advance}


def clock_from_spec(spec: dict[str, Any]) -> Clock:
    """Rebuild a clock from `Clock.spec()`. A virtual clock cannot be shared across processes, so it
    comes back as an independent virtual clock at the same instant."""
    kind = spec.get("kind")
    if kind == "wall":
        return WallClock()
    if kind == "accelerated":
        return AcceleratedClock(
            datetime.fromisoformat(spec["origin"]), float(spec["factor"]), float(spec["wall_origin"])
        )
    if kind == "virtual":
        return VirtualClock(datetime.fromisoformat(spec["now"]), auto_advance=bool(spec.get("auto_advance")))
    raise ValueError(f"unknown clock kind {kind!r}")
