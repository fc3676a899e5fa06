"""The root orchestrator `migration` (instance `mig-{plan.id}`): one plan, from submission to the end.

Read top to bottom, it is the whole runbook; each step is a sub-orchestration, so this history stays a
handful of events however large the plan:

1-4. **Preparation** — `prepare_migration` as `mig-{id}:prepare` (orchestrators/prepare.py):
     preflight, site pairing, service mesh, network extension. It returns the `PreparedContext`, or
     `blocked` with the findings that stopped it.
5.   **Hand-off** to the wave engine (issue 5): the waves in plan order, then network cutover, then
     the report. Until that lands, the migration ends here with the phase `prepared`.

A `cancel` event (POST /api/migrations/{id}/cancel) ends the wait on the current child: the HTTP
handler raises it here and terminates the child, and the migration ends `cancelled`. Custom status is
`shared.status.root_status`; events go out through `emit_events` (never stopping the migration).
The input is `shared.intake.RootInput` (the plan, its digest, where it came from; no secrets).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from shared import events
from shared.intake import RootInput, child_id
from shared.plan import MigrationPlan
from shared.status import root_status

__all__ = ["CANCEL_EVENT", "bp", "migration"]

bp = df.Blueprint()

CANCEL_EVENT = "cancel"

Task = Generator[Any, Any, Any]


class Root:
    """Status and events of the root instance."""

    def __init__(self, context: df.DurableOrchestrationContext, root: RootInput) -> None:
        self.context = context
        self.plan: MigrationPlan = root.plan
        self.digest = root.digest
        self.phase = "submitted"
        self.findings: list[dict[str, Any]] = []
        self.waves: list[dict[str, Any]] = []
        self.networks: list[dict[str, Any]] = []

    def publish(self, phase: str, detail: str = "") -> None:
        self.phase = phase
        self.context.set_custom_status(
            root_status(
                phase=phase,
                plan_id=self.plan.id,
                digest=self.digest,
                updated=self.context.current_utc_datetime,
                findings=self.findings,
                waves=self.waves,
                networks=self.networks,
                detail=detail,
            )
        )

    def event(self, builder: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return builder(
            self.plan.id,
            *args,
            event_id=str(self.context.new_uuid()),
            time=self.context.current_utc_datetime,
            **kwargs,
        )

    def emit(self, *batch: dict[str, Any]) -> Task:
        notifications = self.plan.notifications
        payload = {
            "events": list(batch),
            "plan_topic": notifications.event_grid_topic,
            "webhooks": [w.model_dump(mode="json") for w in notifications.webhooks],
        }
        with contextlib.suppress(Exception):  # a notification never stops a migration
            yield self.context.call_activity("emit_events", payload)

    def finish(self, phase: str, detail: str, reason: str | None = None) -> Task:
        previous = self.phase
        self.publish(phase, detail)
        batch = [self.event(events.phase_changed, phase, previous, detail=detail)]
        if reason is not None:
            codes = sorted({str(f.get("code")) for f in self.findings if f.get("severity") == "error"})
            batch.append(self.event(events.migration_failed, phase, reason, codes))
        yield from self.emit(*batch)
        return {
            "phase": phase,
            "plan_id": self.plan.id,
            "digest": self.digest,
            "detail": detail,
            "findings": self.findings,
            "waves": self.waves,
            "networks": self.networks,
        }


def _wave_summary(context: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": wave["name"],
            "type": wave["type"],
            "state": "prepared",
            "vm_count": len(wave.get("vms") or []),
            "disk_bytes": sum(int(vm.get("disk_bytes") or 0) for vm in wave.get("vms") or []),
        }
        for wave in context.get("waves") or []
    ]


@bp.orchestration_trigger(context_name="context")
def migration(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    root = RootInput.model_validate(context.get_input())
    r = Root(context, root)
    r.publish("preflight", "preparing: preflight, site pairing, service mesh, network extension")
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    # A cancel sent before this first episode is buffered, and no child exists yet for the handler to
    # terminate: give it the chance to win (a timer due now) before anything starts.
    settle = context.create_timer(context.current_utc_datetime)
    if (yield context.task_any([cancel, settle])) is cancel:
        settle.cancel()
        return (yield from r.finish("cancelled", "cancelled before preparation began", reason="cancelled"))

    # 1-4. Preparation, as one sub-orchestration (keeps this history small).
    prepare = context.call_sub_orchestrator(
        "prepare_migration",
        root.model_dump(mode="json"),
        instance_id=child_id(context.instance_id, "prepare"),
    )
    winner = yield context.task_any([prepare, cancel])
    if winner is cancel:
        return (yield from r.finish("cancelled", "cancelled during preparation", reason="cancelled"))
    result = prepare.result
    if isinstance(result, Exception) or not isinstance(result, dict):
        text = str(result).strip().splitlines()[0][:400] if str(result).strip() else "no result"
        return (yield from r.finish("failed", f"the preparation failed: {text}", reason="failed"))
    r.findings = list(result.get("findings") or [])
    r.networks = list(result.get("networks") or [])
    r.phase = str(result.get("last_phase") or r.phase)  # events say which phase it ended in
    if result.get("state") != "prepared":
        return (
            yield from r.finish("blocked", "stopped by the findings of the preparation", reason="blocked")
        )
    prepared = result["context"]
    r.waves = _wave_summary(prepared)

    # 5. Hand-off to the wave engine (issue 5): the waves in plan order with `prepared` (or one wave's
    # slice of it, PreparedContext.for_wave), then network cutover, then the report. Until then the
    # migration ends prepared.
    return (yield from r.finish("prepared", "prepared: ready for the wave engine"))
