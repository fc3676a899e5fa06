"""The cutover sub-orchestrator `cutover_networks` (instance `mig-{id}:cutover`): networks, in order.

After the waves, for each network of `plan.network_cutover.networks`, in that order:

1. Check: it is extended, and no VM still uses it at the source (`networks_in_use`; the powered-off
   copies Bulk left of VMs this migration moved do not count). Otherwise it is skipped: never cut
   over with VMs still at the source.
2. Approval, when the plan asks for it: `ApprovalNeeded` (data: the network), then an `approve`
   event naming the network (or none: the whole cutover) before `approval.timeout`; on timeout the
   plan says `proceed` or `skip`.
3. Unextend (`unextend_network`), polling the HCX job (`check_hcx_job`) on the plan's job cadence.
4. Connect the destination segment to the destination Tier-1 (`connect_segment_to_gateway`), polling
   ARM (`check_segment`) until it shows.

Each phase is one generation (`continue_as_new` with `shared.engine.cutover.CutoverState`), so the
history stays a few events per network. A `cancel` event stops before the next network; a network
whose unextend has begun is finished first (half a cutover is worse than either). Output:
`{"networks": [{network, state: cut_over|skipped|failed, reason, at}]}`. Input (no secrets):
{plan, prepared, moved (entity ids of migrated VMs), state?}.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from shared import events
from shared.engine.cutover import (
    CHECK,
    CONNECT,
    MAX_POLLS,
    POLLS_PER_GENERATION,
    UNEXTEND,
    WAIT_APPROVAL,
    CutoverState,
    approves,
    poll_interval,
    skip_reason,
)
from shared.engine.payloads import HcxTarget, NetworkUseRequest
from shared.engine.state import epoch
from shared.plan import MigrationPlan
from shared.prepared import PreparedContext

__all__ = ["bp", "cutover_networks"]

bp = df.Blueprint()
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=30_000, max_number_of_attempts=3)

Task = Generator[Any, Any, Any]


def _payload(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.strip().startswith("{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return value if isinstance(value, dict) else {}


class Cutover:
    def __init__(self, context: df.DurableOrchestrationContext, data: dict[str, Any]) -> None:
        self.context = context
        self.data = data
        self.plan = MigrationPlan.model_validate(data["plan"])
        self.prepared = PreparedContext.model_validate(data["prepared"])
        self.state = CutoverState.load(data.get("state"))
        cut = self.plan.network_cutover
        self.networks = list(cut.networks) if cut is not None else []
        self.manager = {
            "side": "source",
            "cloud_id": self.prepared.source.cloud_id,
            "url": self.prepared.source.hcx_url,
        }
        self.pins = list(self.plan.hcx.trusted_fingerprints)

    @property
    def now(self) -> Any:
        return self.context.current_utc_datetime

    @property
    def network(self) -> str:
        return self.networks[self.state.next]

    def call(self, name: str, payload: dict[str, Any]) -> Task:
        try:
            return (yield self.context.call_activity_with_retry(name, RETRY, payload))
        except Exception as exc:
            return exc

    def publish(self) -> None:
        s = self.state
        current = self.networks[s.next] if s.next < len(self.networks) else None
        deadline = s.deadline(self.plan)
        self.context.set_custom_status(
            {
                "phase": "cutover",
                "state": "done" if current is None else s.phase,
                "network": current,
                "networks": s.results,
                "pending": self.networks[s.next + 1 :] if current else [],
                "approval_deadline": deadline.isoformat() if deadline and s.phase == WAIT_APPROVAL else None,
                "cancelled": s.cancelled,
                "updated": self.now.isoformat(),
            }
        )

    def emit(self, name: str, data: dict[str, Any]) -> Task:
        event = events.cloud_event(
            name, self.plan.id, event_id=str(self.context.new_uuid()), time=self.now, data=data
        )
        payload = {
            "events": [event],
            "plan_topic": self.plan.notifications.event_grid_topic,
            "webhooks": [w.model_dump(mode="json") for w in self.plan.notifications.webhooks],
        }
        with contextlib.suppress(Exception):  # a notification never stops a migration
            yield self.context.call_activity("emit_events", payload)

    def apply(self, name: str, value: Any) -> None:
        """An operator event: approve (for the current network, or all) or cancel."""
        body = _payload(value)
        request = str(body.get("request_id") or "")
        if request:
            if request in self.state.seen:
                return
            self.state.seen = [*self.state.seen, request][-32:]
        if name == "cancel" and not body.get("vm") and not body.get("wave"):
            self.state.cancelled = True
            if self.state.phase == WAIT_APPROVAL:
                self.state.finish(self.network, "skipped", "the migration was cancelled", self.now)
        elif name == "approve" and self.state.phase == WAIT_APPROVAL and approves(body, self.network):
            self.state.phase = UNEXTEND

    # --- phases ----------------------------------------------------------------------------------

    def check(self) -> Task:
        net = self.network
        extension = self.prepared.extension(net)
        request = NetworkUseRequest(
            target=HcxTarget(
                hcx_url=self.prepared.source.hcx_url, cloud_id=self.prepared.source.cloud_id, pins=self.pins
            ),
            source_endpoint=self.prepared.pairing.source.endpoint_id,
            networks=[net],
            moved=list(self.data.get("moved") or []),
        )
        use = yield from self.call("networks_in_use", request.model_dump(mode="json"))
        if isinstance(use, Exception):
            self.state.finish(
                net, "failed", f"could not read the source inventory: {_first_line(use)}", self.now
            )
            return
        reason = skip_reason(extension is not None, list(use.get(net) or []))
        cut = self.plan.network_cutover
        if reason is not None:
            self.state.finish(net, "skipped", reason, self.now)
        elif cut is not None and cut.approval.required:
            self.state.phase, self.state.asked = WAIT_APPROVAL, epoch(self.now)
            deadline = self.state.deadline(self.plan)
            data = {"network": net, "deadline": deadline.isoformat() if deadline else None}
            yield from self.emit("ApprovalNeeded", {**data, "on_timeout": cut.approval.on_timeout})
        else:
            self.state.phase = UNEXTEND

    def unextend(self) -> Task:
        net, s = self.network, self.state
        extension = self.prepared.extension(net)
        assert extension is not None  # checked in CHECK
        if not s.job:
            started = yield from self.call(
                "unextend_network",
                {"manager": self.manager, "pins": self.pins, "stretch_id": extension.stretch_id},
            )
            if isinstance(started, Exception):
                s.finish(net, "failed", f"unextend: {_first_line(started)}", self.now)
                return
            if not started.get("job_id"):
                s.phase, s.polls = CONNECT, 0  # already unextended
                return
            s.job = started["job_id"]
        for _ in range(POLLS_PER_GENERATION):
            yield self.context.create_timer(self.now + poll_interval(self.plan, s.polls))
            s.polls += 1
            job = yield from self.call(
                "check_hcx_job", {"manager": self.manager, "pins": self.pins, "job_id": s.job}
            )
            if isinstance(job, Exception):
                continue  # transient: poll again
            if job.get("finished"):
                if job.get("succeeded"):
                    s.phase, s.polls = CONNECT, 0
                else:
                    s.finish(
                        net, "failed", f"unextend: {job.get('message') or 'the HCX job failed'}", self.now
                    )
                return
            if s.polls >= MAX_POLLS:
                s.finish(net, "failed", "unextend: the HCX job did not finish in time", self.now)
                return

    def connect(self) -> Task:
        net, s = self.network, self.state
        extension = self.prepared.extension(net)
        assert extension is not None
        segment = {
            "cloud_id": self.prepared.destination.cloud_id,
            "segment": extension.destination_segment,
            "gateway": extension.destination_gateway,
        }
        if s.polls == 0:
            started = yield from self.call("connect_segment_to_gateway", segment)
            if isinstance(started, Exception):
                s.finish(net, "failed", f"gateway connection: {_first_line(started)}", self.now)
                return
        for _ in range(POLLS_PER_GENERATION):
            s.polls += 1
            shown = yield from self.call("check_segment", segment)
            if not isinstance(shown, Exception) and shown.get("done"):
                s.finish(net, "cut_over", f"connected to {extension.destination_gateway}", self.now)
                return
            if s.polls >= MAX_POLLS:
                s.finish(net, "failed", "gateway connection: the segment never showed the gateway", self.now)
                return
            yield self.context.create_timer(self.now + poll_interval(self.plan, s.polls))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


@bp.orchestration_trigger(context_name="context")
def cutover_networks(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    run = Cutover(context, context.get_input())
    s = run.state
    approve = context.wait_for_external_event("approve")
    cancel = context.wait_for_external_event("cancel")
    run.publish()

    # Operator events first (one per generation; the next generation waits afresh, SDK #507).
    opening = context.create_timer(context.current_utc_datetime)
    winner = yield context.task_any([opening, approve, cancel])
    if winner is not opening:
        opening.cancel()
        run.apply("approve" if winner is approve else "cancel", winner.result)
        context.continue_as_new({**run.data, "state": s.dump()})
        return None

    if s.phase == CHECK and s.cancelled:
        for net in run.networks[s.next :]:
            s.finish(net, "skipped", "the migration was cancelled", run.now)
    if s.next >= len(run.networks):
        run.publish()
        return {"networks": s.results}

    if s.phase == CHECK:
        yield from run.check()
    elif s.phase == WAIT_APPROVAL:
        deadline = s.deadline(run.plan) or run.now
        timer = context.create_timer(max(deadline, run.now))
        winner = yield context.task_any([timer, approve, cancel])
        if winner is timer:
            cut = run.plan.network_cutover
            if cut is not None and cut.approval.on_timeout == "proceed":
                s.phase = UNEXTEND
            else:
                s.finish(run.network, "skipped", "its approval timed out", run.now)
        else:
            timer.cancel()
            run.apply("approve" if winner is approve else "cancel", winner.result)
    elif s.phase == UNEXTEND:
        yield from run.unextend()
    elif s.phase == CONNECT:
        yield from run.connect()
    run.publish()
    context.continue_as_new({**run.data, "state": s.dump()})
    return None
