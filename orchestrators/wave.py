"""The wave sub-orchestrator `migrate_wave` (instance `mig-{id}:wave-{n:02d}`): one wave, start to end.

It only sequences; every decision is `shared.engine.WaveEngine`'s. Each step, in runbook order:

1. Poll: ONE HCX query for every migration of the wave in flight (`query_migrations`).
2. Verify what HCX reports complete, at both sites (`verify_vms`).
3. Validate VMs not validated yet, in batches of one HCX call each (`validate_migrations`).
4. Approval (ask / time out), cancels (`cancel_migrations`), releases of held switchovers
   (`reschedule_switchover`).
5. Start what admission control allows, in batches (`start_migrations`, exactly once per attempt).
6. Publish: CloudEvents (`emit_events`) and the custom status (`shared.engine.status`).

Then it sleeps on a durable timer for the engine's cadence, racing the operator's `approve`,
`cancel` and `retry` events. A generation ends, and the wave continues as new with its compact state,
when its estimated history reaches the budget, after a number of steps, or as soon as an operator
event was applied (so event waits are always fresh: azure-functions-durable-python #507 re-delivers a
buffered event to later waits of the same name). Several waits per event name stay open from the
generation's first yield, so events that arrive together are each captured; a repeated delivery is
dropped by its `request_id`.

Input (plain JSON, no secrets; `shared.engine.root.wave_input`): {plan, prepared (the wave's slice),
wave (its index), run (tags this run's migrations), approved?, retry? (true, or VM names), tuning?,
state? (a previous run's compact state)}. Output: `WaveEngine.finish()`: the outcome and the compact
state (the report's source). Activities that fail after their retries are counted and tried again
at the next step; a notification never stops the wave.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared import events
from shared.engine import (
    CancelRequest,
    HcxTarget,
    QueryRequest,
    RescheduleRequest,
    SpecBatch,
    StartRequest,
    ValidateRequest,
    VerifyRequest,
    WaveEngine,
    wave_status,
)

__all__ = ["EVENT_NAMES", "bp", "migrate_wave"]

bp = df.Blueprint()

EVENT_NAMES = ("approve", "cancel", "retry")
WAITS_PER_EVENT = 3  # events of one name that one episode can capture
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=30_000, max_number_of_attempts=3)

Task = Generator[Any, Any, Any]


class WaveRun:
    """One generation of one wave: the engine, the target manager, and the history estimate."""

    def __init__(self, context: df.DurableOrchestrationContext, data: dict[str, Any]) -> None:
        self.context = context
        self.data = data
        self.engine = WaveEngine.load(data)
        e = self.engine
        self.target = HcxTarget(
            hcx_url=e.prepared.source.hcx_url,
            cloud_id=e.prepared.source.cloud_id,
            side="source",
            pins=list(e.plan.hcx.trusted_fingerprints),
        )
        # ExecutionStarted, the first OrchestratorStarted/Completed pair.
        self.history = 3
        self.pending: list[dict[str, Any]] = []  # the event intents of the current emit
        self.steps = 0

    @property
    def now(self) -> Any:
        return self.context.current_utc_datetime

    # --- calling activities ----------------------------------------------------------------------

    def call(self, name: str, payload: Any) -> Task:
        """One activity with retries; None when it still failed (the next step tries again)."""
        results = yield from self.gather([(name, payload)])
        return None if results is None else results[0]

    def gather(self, calls: list[tuple[str, Any]]) -> Task:
        """Activities in parallel, in one episode; None when any failed after its retries (the
        next step asks again). Payloads are models (dumped here) or ready JSON (events)."""
        if not calls:
            return []
        self.history += 2 + 2 * len(calls)
        tasks = []
        for name, payload in calls:
            data = payload if isinstance(payload, dict) else payload.model_dump(mode="json")
            if name == "emit_events":  # a notification never stops a migration, nor is retried
                tasks.append(self.context.call_activity(name, data))
            else:
                tasks.append(self.context.call_activity_with_retry(name, RETRY, data))
        try:
            return (yield self.context.task_all(tasks))
        except Exception:
            self.engine.state.activity_failures += 1
            return None

    def events(self) -> list[tuple[str, Any]]:
        """The engine's pending events as one `emit_events` call (or none), ids from new_uuid()."""
        intents = self.engine.drain_events()
        self.pending = intents
        if not intents:
            return []
        plan = self.engine.plan
        batch = [
            events.cloud_event(
                i["type"],
                plan.id,
                event_id=str(self.context.new_uuid()),
                time=self.now,
                data=i["data"],
                wave=i["wave"],
                vm=i["vm"],
            )
            for i in intents
        ]
        payload = {
            "events": batch,
            "plan_topic": plan.notifications.event_grid_topic,
            "webhooks": [w.model_dump(mode="json") for w in plan.notifications.webhooks],
        }
        return [("emit_events", payload)]

    def emit(self) -> Task:
        calls = self.events()
        if calls:
            yield from self.gather(calls)

    def publish(self) -> None:
        # Built only outside replay: the last status of an episode is the one the host keeps.
        if not self.context.is_replaying:
            self.context.set_custom_status(wave_status(self.engine, self.now))

    def verify_request(self, checks: list[Any]) -> VerifyRequest:
        pairing = self.engine.prepared.pairing
        return VerifyRequest(
            target=self.target,
            source_endpoint=pairing.source.endpoint_id,
            destination_endpoint=pairing.destination.endpoint_id,
            vms=checks,
        )

    # --- one step --------------------------------------------------------------------------------

    def step(self) -> Task:
        e = self.engine
        self.steps += 1
        # 1. Poll: ONE query for the whole wave; beside it, verify what the last poll saw complete.
        ids, checks = e.in_flight_ids(), e.verify_batch()
        calls: list[tuple[str, Any]] = []
        if ids:
            calls.append(("query_migrations", QueryRequest(target=self.target, migration_ids=ids)))
        if checks:
            calls.append(("verify_vms", self.verify_request(checks)))
        results = yield from self.gather(calls)
        if results is not None:
            answers = iter(results)
            if ids:
                polled = next(answers)
                e.on_polled(ids, polled["rows"], self.now, measured_at=polled["at"])
            if checks:
                e.on_verified(checks, next(answers), self.now)
        # 2. The last migrations finished: verify them now rather than after another poll.
        checks = e.verify_batch() if not e.in_flight_ids() else []
        if checks:
            verified = yield from self.call("verify_vms", self.verify_request(checks))
            if verified is not None:
                e.on_verified(checks, verified, self.now)
        # 3. Validate in batches.
        batches = e.validation_batches()
        if batches:
            requests = [
                (
                    "validate_migrations",
                    ValidateRequest(target=self.target, batch=SpecBatch.pack(e.validation_specs(b))),
                )
                for b in batches
            ]
            answers = yield from self.gather(requests)
            if answers is not None:
                for batch, answer in zip(batches, answers, strict=True):
                    e.on_validated(batch, answer, self.now)
        # 4. Approval, cancels, releases.
        e.approval_step(self.now)
        cancel = e.cancel_ids()
        if cancel:
            sent = yield from self.call(
                "cancel_migrations", CancelRequest(target=self.target, migration_ids=cancel)
            )
            if sent is not None:
                e.on_cancel_sent(cancel)
        groups = e.reschedule_groups(self.now)
        if groups:
            start, end = e.release_window()
            release = RescheduleRequest(target=self.target, groups=groups, start=start, end=end)
            released = yield from self.call("reschedule_switchover", release)
            if released is not None:
                e.on_rescheduled(groups, released["refused"], self.now)
        # 5. Start what admission control allows, and publish the step's events beside the starts.
        starts = e.start_batches(self.now)
        orders = [
            (
                "start_migrations",
                StartRequest(target=self.target, batch=SpecBatch.pack([i.spec for i in items])),
            )
            for items in starts
        ]
        answers = yield from self.gather(orders + self.events())
        if answers is not None:
            for items, answer in zip(starts, answers, strict=False):
                e.on_started(items, answer, self.now)
        else:
            e.events[:0] = self.pending  # sent again with the next step's (new ids: at least once)
        self.publish()

    def rollover_due(self) -> bool:
        t = self.engine.tuning
        return self.history >= t.history_budget or self.steps >= t.steps_per_generation


def _apply_events(run: WaveRun, waits: dict[str, list[Any]], applied: set[tuple[str, int]]) -> bool:
    """Apply every event wait that completed and was not applied yet; True if any was."""
    any_applied = False
    for name in EVENT_NAMES:
        for k, task in enumerate(waits[name]):
            if task.is_completed and (name, k) not in applied:
                applied.add((name, k))
                run.history += 1
                any_applied = True
                run.engine.on_event(name, _payload(task.result), run.now)
    return any_applied


def _payload(value: Any) -> Any:
    # The Python client double-encodes event data (durable.md §6.4, SDK #295): accept both forms.
    if isinstance(value, str) and value.strip().startswith("{"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


@bp.orchestration_trigger(context_name="context")
def migrate_wave(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    data = context.get_input()
    run = WaveRun(context, data)
    engine = run.engine
    engine.state.generation += 1
    engine.begin(context.current_utc_datetime)
    waits = {
        name: [context.wait_for_external_event(name) for _ in range(WAITS_PER_EVENT)] for name in EVENT_NAMES
    }
    everything = [task for name in EVENT_NAMES for task in waits[name]]
    applied: set[tuple[str, int]] = set()

    # Open every event wait before anything else, so events that arrive together each find one.
    opening = context.create_timer(context.current_utc_datetime)
    winner = yield context.task_any([opening, *everything])
    run.history += 4
    if winner is not opening:
        opening.cancel()
    rollover = _apply_events(run, waits, applied)

    while not rollover:
        failures = engine.state.activity_failures
        yield from run.step()
        if _apply_events(run, waits, applied):
            break
        if engine.finished():
            result = engine.finish(context.current_utc_datetime)
            yield from run.emit()
            context.set_custom_status(wave_status(engine, context.current_utc_datetime))
            return result
        delay = engine.wait(context.current_utc_datetime)
        if engine.state.activity_failures > failures:
            delay = max(delay, engine.tuning.min_poll)  # HCX is unwell: do not spin
        if delay > timedelta(0):
            run.publish()
            timer = context.create_timer(context.current_utc_datetime + delay)
            pending = [task for task in everything if not task.is_completed]
            winner = yield context.task_any([timer, *pending])
            run.history += 4
            if winner is not timer:
                timer.cancel()
            rollover = _apply_events(run, waits, applied)
        rollover = rollover or run.rollover_due()

    # Continue as new with the compact state: the history starts again from a few events.
    context.continue_as_new(engine.dump(data))
    return None
