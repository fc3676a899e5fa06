"""The root orchestrator `migration` (instance `mig-{plan.id}`): one plan, from submission to the end.

Read top to bottom, it is the whole runbook; each step is a sub-orchestration, so this history stays a
handful of events however large the plan:

1-4. **Preparation** — `prepare_migration` as `mig-{id}:prepare` (orchestrators/prepare.py):
     preflight, site pairing, service mesh, network extension. It returns the `PreparedContext`, or
     `blocked` with the findings that stopped it.
5.   **Waves** — `migrate_wave` as `mig-{id}:wave-NN`, one after another in plan order
     (orchestrators/wave.py, docs/engine.md). A halted wave stops the migration until an operator
     sends `retry` (the wave runs again) or `cancel`.
6.   **Network cutover** — `cutover_networks` as `mig-{id}:cutover` (orchestrators/cutover.py).
7.   **Report** — `write_report` (activities/report.py), then `MigrationCompleted` (or
     `MigrationFailed` when cancelled).

A `cancel` event (POST /api/migrations/{id}/cancel) during preparation ends the wait on the prepare
child, which the HTTP handler terminates. From the waves on, the handler raises `cancel` on the running
wave or cutover too, which stop what has not switched over; the root lets them end, starts nothing
more and writes the report. `approve` and `retry` reach the root and the running children the same way;
the root keeps an approval for the whole migration for the waves it starts later. Custom status is
`shared.status.root_status`; events go out through `emit_events` (never stopping the migration).
The input is `shared.intake.RootInput` (the plan, its digest, where it came from; no secrets).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from shared import events
from shared.engine.root import Controls, after_wave, final_status, moved_entities, wave_input, wave_line
from shared.findings import finding
from shared.intake import RootInput, child_id
from shared.plan import MigrationPlan
from shared.prepared import PreparedContext
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
    # The wave engine's approve/retry waits, open from the first yield on so that no event is ever
    # buffered for them (a buffered event is delivered to every later wait, SDK #507).
    controls = Controls(
        waits={
            name: [context.wait_for_external_event(name) for _ in range(n)] for name, n in EVENT_WAITS.items()
        }
    )
    # A cancel sent before this first episode is buffered, and no child exists yet for the handler to
    # terminate: give it the chance to win (a timer due now) before anything starts.
    settle = context.create_timer(context.current_utc_datetime)
    if (yield context.task_any([cancel, settle, *controls.open()])) is cancel:
        settle.cancel()
        return (yield from r.finish("cancelled", "cancelled before preparation began", reason="cancelled"))

    # 1-4. Preparation, as one sub-orchestration (keeps this history small).
    prepare = context.call_sub_orchestrator(
        "prepare_migration",
        root.model_dump(mode="json"),
        instance_id=child_id(context.instance_id, "prepare"),
    )
    winner = yield context.task_any([prepare, cancel, *controls.open()])
    while winner is not prepare and winner is not cancel:  # an early approve or retry: noted
        controls.note()
        winner = yield context.task_any([prepare, cancel, *controls.open()])
    controls.note()
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

    # 5-7. The wave engine (docs/engine.md): the waves in plan order, network cutover, the report.
    return (yield from run_engine(context, r, PreparedContext.model_validate(prepared), cancel, controls))


# --- the wave engine's hand-off (issue 5) -------------------------------------------------------------

EVENT_WAITS = {"approve": 8, "retry": 6}  # events of one name the root can record while it runs


def run_engine(
    context: df.DurableOrchestrationContext,
    r: Root,
    prepared: PreparedContext,
    cancel: Any,
    controls: Controls,
) -> Task:
    """Waves in plan order, then the cutover, then the report; the migration's final phase."""
    plan = r.plan
    plan_json = plan.model_dump(mode="json")
    started = context.current_utc_datetime
    run = str(context.new_uuid()).replace("-", "")[:12]  # tags this run's HCX migrations
    results: dict[int, dict[str, Any]] = {}
    seen_retries: dict[int, int] = {}

    def enter(phase: str, detail: str) -> Task:
        """A new phase: the custom status, and MigrationPhaseChanged for subscribers."""
        previous = r.phase
        r.publish(phase, detail)
        yield from r.emit(r.event(events.phase_changed, phase, previous, detail=detail))

    def live(*tasks: Any) -> list[Any]:
        return [t for t in tasks if not t.is_completed]

    def run_wave(index: int, state: dict[str, Any] | None = None, retry: list[str] | bool = False) -> Task:
        wave = prepared.waves[index]
        instance = child_id(context.instance_id, f"wave-{index + 1:02d}")
        r.waves[index] = {**r.waves[index], **wave_line(wave.name, instance, None, "running")}
        r.publish("waves", f"wave {wave.name} ({index + 1} of {len(prepared.waves)})")
        approved = controls.approved(wave.name)
        data = wave_input(plan_json, prepared, index, run, approved=approved, state=state, retry=retry)
        child = context.call_sub_orchestrator("migrate_wave", data, instance_id=instance)
        while not child.is_completed:
            # A cancel reaches the wave from the HTTP handler too; the root lets the wave end.
            yield context.task_any([child, *live(cancel), *controls.open()])
            controls.note()
        outcome = child.result
        if isinstance(outcome, Exception) or not isinstance(outcome, dict):
            raise RuntimeError(f"wave {wave.name} failed: {str(outcome).strip().splitlines()[0][:300]}")
        results[index] = outcome
        seen_retries[index] = len(controls.retries)  # a retry sent while it ran was the wave's own
        r.waves[index] = {**r.waves[index], **wave_line(wave.name, instance, outcome, outcome["outcome"])}
        return outcome

    def cancelled() -> bool:
        return controls.cancelled or cancel.is_completed

    # 5. The waves, in plan order (subscribers hear "prepared" first: preparation is over).
    yield from r.emit(r.event(events.phase_changed, "prepared", r.phase, detail="prepared"))
    r.phase = "prepared"
    yield from enter("waves", f"{len(prepared.waves)} waves, in plan order")
    for index, wave in enumerate(prepared.waves):
        if cancelled():
            break
        if not wave.vms:
            r.waves[index] = {**r.waves[index], "state": "skipped"}
            continue
        outcome = yield from run_wave(index)
        while after_wave(outcome) == "halted" and not cancelled():
            r.publish("waves", f"wave {wave.name} halted: send retry (the wave runs again) or cancel")
            asked = len(controls.retries)
            waits = controls.open("retry") or [
                controls.add("retry", context.wait_for_external_event("retry"))
            ]
            yield context.task_any([*live(cancel), *waits])
            controls.note()
            if cancelled():
                break
            if len(controls.retries) == asked:
                # A stale, re-delivered retry (SDK #507): only a cancel can end the halt now.
                if not cancel.is_completed:
                    yield cancel
                break
            retry = controls.retry_for(wave.name, seen_retries[index])
            if retry:
                outcome = yield from run_wave(index, outcome["state"], retry=retry)
        if after_wave(outcome) == "cancelled":
            controls.cancelled = True
    # A retry sent after a wave had ended: that wave's failed VMs (or the ones named) go once more.
    for index, outcome in sorted(results.items()):
        retry = controls.retry_for(prepared.waves[index].name, seen_retries.get(index, 0))
        if retry and not cancelled() and outcome["outcome"] in ("completed_with_failures", "halted"):
            yield from run_wave(index, outcome["state"], retry=retry)
    ordered = [results[i] for i in sorted(results)]

    # 6. Network cutover, in the plan's order.
    cutover_findings: list[dict[str, Any]] = []
    if plan.network_cutover is not None and not cancelled():
        yield from enter("cutover", f"cutting over {', '.join(plan.network_cutover.networks)}")
        data = {
            "plan": plan_json,
            "prepared": prepared.model_copy(update={"waves": []}).model_dump(mode="json"),
            "moved": moved_entities(prepared, ordered),
        }
        instance = child_id(context.instance_id, "cutover")
        done = yield context.call_sub_orchestrator("cutover_networks", data, instance_id=instance)
        controls.note()
        for line in (done or {}).get("networks", []):
            entry = next((n for n in r.networks if n.get("name") == line["network"]), None)
            if entry is None:
                entry = {"name": line["network"]}
                r.networks.append(entry)
            entry.update({"state": line["state"], "cutover": line["reason"]})
            if line["state"] in ("skipped", "failed"):
                code = "CUTOVER_SKIPPED" if line["state"] == "skipped" else "CUTOVER_FAILED"
                found = finding(code, f"{line['network']}: {line['reason']}", resource=line["network"])
                cutover_findings.append(found.model_dump(mode="json"))

    # 7. The report.
    status = final_status(ordered, cancelled())
    r.findings = [*r.findings, *cutover_findings]
    yield from enter("report", "writing the report")
    report: dict[str, Any] = {}
    request = {
        "plan": plan_json,
        "prepared": prepared.model_dump(mode="json"),
        "results": ordered,
        "status": status,
        "started": started.isoformat(),
        "ended": context.current_utc_datetime.isoformat(),
        "findings": r.findings,
    }
    try:
        report = yield context.call_activity_with_retry("write_report", RETRY_REPORT, request)
    except Exception as exc:  # a report that cannot be written does not undo a migration
        report = {"error": str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "failed"}
    if status == "cancelled":
        result = yield from r.finish(
            "cancelled", "cancelled; the report lists what moved", reason="cancelled"
        )
    else:
        summary = {
            "status": status,
            "counts": (report.get("totals") or {}).get("by_state", {}),
            "report": report.get("locations", []),
        }
        yield from r.emit(r.event(events.migration_completed, "completed", summary))
        detail = "completed" if status == "completed" else "completed with failures: see the report"
        result = yield from r.finish("completed", detail)
    result["status"] = status
    result["report"] = report
    return result


RETRY_REPORT = df.RetryOptions(first_retry_interval_in_milliseconds=30_000, max_number_of_attempts=3)
