"""One manager's simulated time line: timers and data transfers, applied in order up to "now".

Nothing in the HCX simulator runs in the background. Every public backend call first asks its
timeline to catch up with the shared clock (`run_until(now)`): due timers fire and finished transfers
complete in time order, each at the instant it was due, however late the catch-up comes. That keeps
the simulation exact, deterministic and independent of how often clients poll, and lets a test skip
a day with one `clock.advance()`.

Time is kept as float seconds since the manager's origin (the clock's reading when the backend was
built); callers convert to datetimes and epoch milliseconds at the edge. Between two events every
transfer moves at a constant rate (`FlowNetwork`), so the timeline jumps from event to event instead
of stepping. This module depends on the standard library and `bandwidth` only.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from sandbox.hcx.models.bandwidth import FlowNetwork

__all__ = ["Timeline"]

Action = Callable[[], None]


class Timeline:
    def __init__(self, network: FlowNetwork) -> None:
        self.network = network
        self.now = 0.0  # seconds since origin, everything before it has been applied
        self._timers: list[tuple[float, int]] = []
        self._actions: dict[int, Action] = {}
        self._on_done: dict[str, Action] = {}
        self._seq = itertools.count(1)

    def at(self, when: float, action: Action) -> int:
        """Run `action` at `when` (or as soon as possible if that lies in the past); returns its id."""
        timer = next(self._seq)
        heapq.heappush(self._timers, (max(when, self.now), timer))
        self._actions[timer] = action
        return timer

    def cancel(self, timer: int | None) -> None:
        if timer is not None:
            self._actions.pop(timer, None)

    def transfer(self, flow: str, group: str, size: float, on_done: Action) -> None:
        """Move `size` bytes through appliance `group`; `on_done` runs when the last byte lands."""
        self.network.start(flow, group, size)
        self._on_done[flow] = on_done

    def stop_transfer(self, flow: str) -> float:
        """Abandon a transfer (failure, cancel); returns the bytes it had moved."""
        if flow not in self.network:
            return 0.0
        self._on_done.pop(flow, None)
        return self.network.stop(flow)

    def moved(self, flow: str) -> float:
        return self.network.moved(flow) if flow in self.network else 0.0

    def next_due(self) -> float:
        """The time of the next event, so a caller can tell cheaply whether catching up is needed."""
        self._drop_cancelled()
        timer = self._timers[0][0] if self._timers else float("inf")
        return min(timer, self.now + self.network.seconds_to_next_finish())

    def run_until(self, target: float) -> None:
        while True:
            self._drop_cancelled()
            timer_at = self._timers[0][0] if self._timers else float("inf")
            flow_at = self.now + self.network.seconds_to_next_finish()
            due = min(timer_at, flow_at)
            if due > target:
                break
            self.network.advance(due - self.now)
            self.now = max(self.now, due)
            if flow_at <= timer_at:
                for flow in self.network.pop_finished():
                    action = self._on_done.pop(flow, None)
                    if action is not None:
                        action()
            else:
                _, timer = heapq.heappop(self._timers)
                action = self._actions.pop(timer, None)
                if action is not None:
                    action()
        if target > self.now:
            self.network.advance(target - self.now)
            self.now = target

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][1] not in self._actions:
            heapq.heappop(self._timers)
