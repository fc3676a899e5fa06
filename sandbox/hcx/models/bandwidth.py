"""The bandwidth model: who gets how many bytes per second while migrations move data.

Three ceilings bound a transfer (anchors.md §1.5, §5): one migration moves at most 1 Gbps, one
interconnect (IX) appliance carries at most 1.6 Gbps for all its flows, and the inter-cloud link
(`connectivity.link_gbps × efficiency`) is shared by everything in flight. Capacity is divided
max-min fairly: every flow's rate rises together until a ceiling binds, and the flows held back by
that ceiling stop rising while the others go on.

Flows behind one appliance always share one rate, which lets the network keep a single "bytes served
per flow" counter per appliance (the virtual-time trick of fair queueing): a flow finishes when its
appliance's counter passes the value it had when the flow started plus the flow's size. Moving time
forward and finding the next finishing flow therefore cost O(appliances + log flows), whatever the
number of flows, which is what lets a 1,000-VM week run in seconds.

The link is taken to be full duplex: each direction has the whole capacity, and each manager's
network holds the flows leaving its own cloud. # inferred: anchors.md §5 gives one figure per link
This module depends on the standard library only.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

__all__ = ["GBPS", "FlowNetwork", "fair_rates"]

GBPS = 1e9 / 8  # bytes per second in one gigabit per second
# A flow whose remaining bytes fall below this is finished: sizes reach 1e13 bytes, where float
# rounding leaves far less than a byte of error.
_EPSILON_BYTES = 1.0


def fair_rates(sizes: dict[str, int], per_flow: float, per_group: float, link: float) -> dict[str, float]:
    """The max-min fair per-flow rate of each non-empty group, in the unit of the ceilings."""
    groups = {key: n for key, n in sizes.items() if n > 0}
    if not groups:
        return {}

    def rate(n: int, level: float) -> float:
        return min(level, per_group / n)

    if sum(min(n * per_flow, per_group) for n in groups.values()) <= link:
        return {key: rate(n, per_flow) for key, n in groups.items()}
    # The link binds: find the level L with sum(min(n*L, per_group)) == link. Groups whose own ceiling
    # per flow (per_group / n) lies below L are saturated and contribute per_group each.
    saturated = 0.0
    unsaturated = sum(groups.values())
    level = 0.0
    for key in sorted(groups, key=lambda k: (per_group / groups[k], k)):
        ceiling = per_group / groups[key]
        if saturated + unsaturated * ceiling >= link:
            level = (link - saturated) / unsaturated
            break
        saturated += per_group
        unsaturated -= groups[key]
    return {key: rate(n, level) for key, n in groups.items()}


@dataclass
class _Group:
    rate: float = 0.0  # bytes/s each member flow receives right now
    served: float = 0.0  # bytes each member flow has received since the group was created
    members: int = 0
    finish: list[tuple[float, int, str]] = field(default_factory=list)  # (served at finish, seq, flow)


@dataclass
class _Flow:
    group: str
    start: float  # the group's `served` when the flow joined
    size: float
    seq: int


class FlowNetwork:
    """Flows grouped by appliance, with fair rates recomputed whenever a flow starts or stops."""

    def __init__(self, *, link: float, per_flow: float = GBPS, per_group: float = 1.6 * GBPS) -> None:
        self.link = link
        self.per_flow = per_flow
        self.per_group = per_group
        self._groups: dict[str, _Group] = {}
        self._flows: dict[str, _Flow] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._flows)

    def __contains__(self, flow: str) -> bool:
        return flow in self._flows

    def start(self, flow: str, group: str, size: float) -> None:
        if flow in self._flows:
            raise ValueError(f"flow {flow!r} is already running")
        g = self._groups.setdefault(group, _Group())
        self._seq += 1
        self._flows[flow] = _Flow(group, g.served, max(0.0, size), self._seq)
        heapq.heappush(g.finish, (g.served + max(0.0, size), self._seq, flow))
        g.members += 1
        self._rebalance()

    def stop(self, flow: str) -> float:
        """Remove a flow before it finishes; returns the bytes it moved."""
        moved = self.moved(flow)
        f = self._flows.pop(flow)
        self._groups[f.group].members -= 1  # its heap entry goes stale and is skipped later
        self._rebalance()
        return moved

    def moved(self, flow: str) -> float:
        f = self._flows[flow]
        return min(f.size, self._groups[f.group].served - f.start)

    def rate(self, flow: str) -> float:
        return self._groups[self._flows[flow].group].rate

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        for g in self._groups.values():
            if g.members:
                g.served += g.rate * seconds

    def seconds_to_next_finish(self) -> float:
        best = math.inf
        for g in self._groups.values():
            top = self._top(g)
            if top is not None:
                remaining = top[0] - g.served
                if remaining <= _EPSILON_BYTES:
                    return 0.0
                if g.rate > 0:
                    best = min(best, remaining / g.rate)
        return best

    def pop_finished(self) -> list[str]:
        """Flows that have moved all their bytes, in the order they were started."""
        done: list[tuple[int, str]] = []
        for g in self._groups.values():
            while (top := self._top(g)) is not None and top[0] - g.served <= _EPSILON_BYTES:
                heapq.heappop(g.finish)
                done.append((top[1], top[2]))
                del self._flows[top[2]]
                g.members -= 1
        if done:
            self._rebalance()
        return [flow for _, flow in sorted(done)]

    def _top(self, g: _Group) -> tuple[float, int, str] | None:
        while g.finish:
            top = g.finish[0]
            f = self._flows.get(top[2])
            if f is not None and f.seq == top[1]:
                return top
            heapq.heappop(g.finish)
        return None

    def _rebalance(self) -> None:
        rates = fair_rates(
            {key: g.members for key, g in self._groups.items()}, self.per_flow, self.per_group, self.link
        )
        for key, g in self._groups.items():
            g.rate = rates.get(key, 0.0)
