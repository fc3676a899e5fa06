"""Network cutover, as pure decisions: which network next, whether it may go, and where it stands.

After the waves, each network in `plan.network_cutover.networks` is cut over in that order: HCX
unextends it, then the destination segment is connected to the destination Tier-1 gateway. A network
is skipped, never cut over, when it is not extended, when any VM still uses it at the source (the
inventory says so, whoever the VM belongs to; the powered-off copies Bulk leaves behind of VMs this
migration moved do not count), when its approval times out with `on_timeout: skip`, or when the
migration is cancelled. A failed unextend or gateway connection stops that network (CUTOVER_FAILED)
and the next one goes on.

`CutoverState` is the compact state the cutover orchestrator carries through `continue_as_new`
(one generation per phase, so its history stays a handful of events per network). Approval:
an `approve` event naming the network, or naming none (the whole cutover), sent to the cutover
instance while it asks. Depends on the standard library and `shared.plan` only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.plan import MigrationPlan

__all__ = [
    "CHECK",
    "CONNECT",
    "DONE",
    "UNEXTEND",
    "WAIT_APPROVAL",
    "CutoverState",
    "approves",
    "poll_interval",
    "skip_reason",
]

CHECK = "check"  # is it extended, is anything still using it at the source?
WAIT_APPROVAL = "approval"  # waiting for approval (when the plan asks for it)
UNEXTEND = "unextend"  # HCX unextend job started; polled until it ends
CONNECT = "connect"  # the segment's connectedGateway PATCH started; polled until it shows
DONE = "done"
MAX_POLLS = 120  # polls of one job or segment before it counts as failed
POLLS_PER_GENERATION = 25


@dataclass
class CutoverState:
    next: int = 0  # index into plan.network_cutover.networks
    phase: str = CHECK
    asked: int = 0  # epoch seconds approval was asked for the current network
    job: str = ""  # the current unextend job
    polls: int = 0
    cancelled: bool = False
    seen: list[str] = field(default_factory=list)  # operator request ids already applied
    results: list[dict[str, Any]] = field(default_factory=list)

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> CutoverState:
        return cls(**data) if data else cls()

    def finish(self, network: str, state: str, reason: str = "", at: datetime | None = None) -> None:
        """Record the current network's outcome (cut_over, skipped or failed) and move to the next."""
        self.results.append(
            {"network": network, "state": state, "reason": reason, "at": at.isoformat() if at else None}
        )
        self.next, self.phase, self.asked, self.job, self.polls = self.next + 1, CHECK, 0, "", 0

    def deadline(self, plan: MigrationPlan) -> datetime | None:
        """When the current network's approval times out (None before it was asked)."""
        cut = plan.network_cutover
        if not self.asked or cut is None:
            return None
        return datetime.fromtimestamp(self.asked, tz=UTC) + cut.approval.timeout


def skip_reason(extended: bool, in_use: list[str]) -> str | None:
    """Why a network must not be cut over now, or None."""
    if not extended:
        return "the network is not extended"
    if in_use:
        shown = ", ".join(sorted(in_use)[:5]) + (" …" if len(in_use) > 5 else "")
        return f"{len(in_use)} VM(s) still use it at the source: {shown}"
    return None


def approves(payload: Any, network: str) -> bool:
    """An `approve` for this network: naming it, or naming no network and no wave (all of them)."""
    body = payload if isinstance(payload, dict) else {}
    target = body.get("network")
    return target == network or (not target and not body.get("wave"))


def poll_interval(plan: MigrationPlan, polls: int) -> timedelta:
    """The plan's job cadence, doubling after a while (an unextend can take minutes)."""
    base = plan.limits.poll.jobs
    return base * (2 ** min(4, polls // 10))
