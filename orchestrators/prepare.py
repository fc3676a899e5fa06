"""The preparation phase: preflight, site pairing, service mesh, network extension — then the context.

`prepare_migration` runs as the root's sub-orchestration `mig-{id}:prepare`; `validate_migration`
runs the same steps with nothing fixed or created and stops after preflight (`val-{id}-{digest}`).
Read top to bottom, it is the runbook ("Configure VMware HCX for cloud-to-cloud migration",
"Configure site pairing", "Extend networks"):

1. **Preflight.** Read both clouds from ARM; check the plan against them; install the HCX add-on and
   create the link between the clouds where the plan allows it (else: a finding); log in to both HCX
   Managers; check both inventories (VMs, names, networks, placement, datastore room, NE room).
2. **Site pairing.** Pair source → destination unless paired, trusting the destination's certificate
   only by a pinned fingerprint; follow the pairing job.
3. **Service mesh.** The meshes between the sites must offer what the plan's types and extensions need.
4. **Network extension.** Extend what is missing, follow the jobs, report failures with HCX's words.
5. **Context.** Resolve everything into the `PreparedContext` the wave engine consumes.

Any error finding stops the phase before it changes anything more, and the result is `blocked` with
the findings. Every step is an idempotent activity, so a re-run (or a replay after a crash) checks
before it creates. Waiting is always a durable timer; polls back off from `plan.limits.poll.jobs` to
`MAX_POLL`. Activities are retried (`RETRY`) for transient failures; what still fails becomes a
finding (HCX_UNREACHABLE or PREPARATION_ERROR), never a stack trace. Progress is published in custom
status (`shared.status.prepare_status`) and as CloudEvents (`activities/events.py`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities.avs import CloudRef, ConnectivityRequest
from activities.hcx import (
    ContextRequest,
    ExtensionJob,
    ExtensionJobs,
    JobRequest,
    Manager,
    PlanRequest,
    UnextendRequest,
)
from shared import events
from shared.cloud import CloudFacts
from shared.findings import Finding, blocking, finding
from shared.intake import RootInput
from shared.plan import MigrationPlan, check_against
from shared.status import prepare_status

bp = df.Blueprint()

# Every activity: retried on any failure (they return findings for what an operator must fix, so
# only the transient and the unexpected raise), at a constant interval — durable time, not a worker.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=60_000, max_number_of_attempts=5)
MAX_POLL = timedelta(minutes=2)
ADDON_DEADLINE = timedelta(hours=2)
LINK_DEADLINE = timedelta(hours=1)
PAIRING_DEADLINE = timedelta(minutes=30)
EXTENSION_DEADLINE = timedelta(hours=2)

Task = Generator[Any, Any, Any]


class Blocked(Exception):
    """Raised inside the orchestrator to stop at a blocking finding (never leaves this module)."""


class Preparation:
    """What the orchestration has learnt so far; it publishes itself as custom status."""

    def __init__(
        self, context: df.DurableOrchestrationContext, plan: MigrationPlan, validate_only: bool
    ) -> None:
        self.context = context
        self.plan = plan
        self.validate_only = validate_only
        self.phase = "preflight"
        self.step = ""
        self.findings: list[Finding] = []
        self.actions: list[str] = []
        self.networks: list[dict[str, Any]] = []
        self.pins = list(plan.hcx.trusted_fingerprints)

    # -- status and events --------------------------------------------------------------------------

    def publish(self, step: str) -> None:
        self.step = step
        self.context.set_custom_status(
            prepare_status(
                phase=self.phase,
                step=step,
                updated=self.context.current_utc_datetime,
                findings=self.findings,
                networks=self.networks,
                actions=self.actions,
                validate_only=self.validate_only,
            )
        )

    def enter(self, phase: str, step: str) -> Task:
        previous, self.phase = self.phase, phase
        self.publish(step)
        if not self.validate_only:
            yield from self.emit([self.event(events.phase_changed, phase, previous, detail=step)])

    def event(self, builder: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return builder(
            self.plan.id,
            *args,
            event_id=str(self.context.new_uuid()),
            time=self.context.current_utc_datetime,
            **kwargs,
        )

    def emit(self, batch: list[dict[str, Any]]) -> Task:
        if not batch or self.validate_only:
            return
        notifications = self.plan.notifications
        payload = {
            "events": batch,
            "plan_topic": notifications.event_grid_topic,
            "webhooks": [w.model_dump(mode="json") for w in notifications.webhooks],
        }
        with contextlib.suppress(Exception):  # a notification never stops a migration
            yield self.context.call_activity("emit_events", payload)

    def add(self, found: list[Finding] | list[dict[str, Any]], *, stop: bool = True) -> Task:
        """Record findings and announce them; stop now if any is an error (unless `stop=False`)."""
        new = [f if isinstance(f, Finding) else Finding.model_validate(f) for f in found]
        self.findings += new
        if new:
            self.publish(self.step)
            yield from self.emit([self.event(events.finding_raised, f) for f in new])
        if stop and blocking(new):
            raise Blocked

    def stop_if_blocked(self) -> None:
        if blocking(self.findings):
            raise Blocked

    # -- calling activities -------------------------------------------------------------------------

    def call(self, name: str, payload: Any, what: str) -> Task:
        """An activity, retried; a failure after the retries becomes a blocking finding."""
        try:
            return (yield self.context.call_activity_with_retry(name, RETRY, payload))
        except Exception as exc:
            yield from self.add([_failure(exc, what)])
            raise Blocked from None  # unreachable: add() raised already

    def call_all(self, calls: list[tuple[str, Any]], what: str) -> Task:
        tasks = [self.context.call_activity_with_retry(name, RETRY, payload) for name, payload in calls]
        try:
            return (yield self.context.task_all(tasks))
        except Exception as exc:
            yield from self.add([_failure(exc, what)])
            raise Blocked from None

    def wait(self, interval: timedelta) -> Task:
        yield self.context.create_timer(self.context.current_utc_datetime + interval)

    def poll(self, name: str, payload: Any, what: str, done: Any, deadline: timedelta) -> Task:
        """Call `name` until `done(result)`, waiting with backing-off durable timers; None on timeout."""
        interval = self.plan.limits.poll.jobs
        until = self.context.current_utc_datetime + deadline
        while True:
            result = yield from self.call(name, payload, what)
            if done(result):
                return result
            if self.context.current_utc_datetime + interval > until:
                return None
            yield from self.wait(interval)
            interval = min(interval * 2, MAX_POLL)


def _failure(exc: Exception, what: str) -> Finding:
    """A finding for an activity that kept failing: the first line of its message, no traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.split(" failed: ", 1)[-1] if text.startswith("Activity function") else text
    text = text[:400]
    unreachable = any(
        k in text for k in ("HcxUnavailable", "HcxTimeout", "PeerUnreachable", "503", "timed out")
    )
    code = "HCX_UNREACHABLE" if unreachable else "PREPARATION_ERROR"
    return finding(code, f"{what}: {text}", resource=what)


def _facts(result: dict[str, Any]) -> CloudFacts | None:
    return CloudFacts.model_validate(result["facts"]) if "facts" in result else None


# --- 1. preflight ---------------------------------------------------------------------------------


def _read_clouds(p: Preparation) -> Task:
    plan = p.plan
    results = yield from p.call_all(
        [
            ("get_cloud_facts", CloudRef(cloud_id=plan.source, side="source").model_dump()),
            ("get_cloud_facts", CloudRef(cloud_id=plan.destination, side="destination").model_dump()),
        ],
        "reading the private clouds from ARM",
    )
    yield from p.add([r["finding"] for r in results if "finding" in r])
    source, destination = _facts(results[0]), _facts(results[1])
    if source is None or destination is None:  # add() stopped on the finding that says which
        raise Blocked
    return source, destination, results[1].get("gateways")


def _ensure_addons(p: Preparation, source: CloudFacts, destination: CloudFacts) -> Task:
    """Install the HCX add-on where it is missing and the plan allows it; True if anything changed."""
    missing = [
        (side, f) for side, f in (("source", source), ("destination", destination)) if not f.hcx_installed
    ]
    if not missing or not p.plan.hcx.install_addon:
        return False  # check_against already reported HCX_ADDON_MISSING where installing is not allowed
    for side, facts in missing:
        p.actions.append(f"install the HCX add-on (Enterprise) on the {side} private cloud {facts.name}")
    if p.validate_only:
        return False
    for side, facts in missing:
        p.publish(f"installing the HCX add-on on the {side} private cloud")
        started = yield from p.call(
            "ensure_hcx_addon", CloudRef(cloud_id=facts.id, side=side).model_dump(), "installing HCX"
        )
        if "finding" in started:
            yield from p.add([started["finding"]])
        state = yield from p.poll(
            "check_hcx_addon",
            CloudRef(cloud_id=facts.id, side=side).model_dump(),
            "following the HCX add-on installation",
            lambda r: r["done"] or r["failed"],
            ADDON_DEADLINE,
        )
        if state is None or not state["done"]:
            shown = state["state"] if state else "still installing after the deadline"
            yield from p.add(
                [
                    finding(
                        "HCX_ADDON_INSTALL_FAILED",
                        f"installing HCX on {facts.name!r}: {shown}",
                        resource=facts.id,
                    )
                ]
            )
    return True


def _link_request(p: Preparation, source: CloudFacts, destination: CloudFacts) -> dict[str, Any] | None:
    if 2 in (source.generation, destination.generation):
        return None  # outside Microsoft.AVS: GEN2_CONNECTIVITY_EXTERNAL says so; pairing proves the path
    return ConnectivityRequest(
        source=source.id,
        destination=destination.id,
        mode=p.plan.connectivity.resolve(source.region, destination.region),
        name=f"hcxc-{p.plan.id}"[:80],
        destination_circuit=destination.circuit_id,
    ).model_dump()


def _link_name(request: dict[str, Any]) -> str:
    return "AVS Interconnect" if request["mode"] == "interconnect" else "ExpressRoute Global Reach"


def _check_link(p: Preparation, source: CloudFacts, destination: CloudFacts) -> Task:
    """AVS Interconnect or Global Reach, checked; the state, or None when ARM cannot tell (Gen 2)."""
    request = _link_request(p, source, destination)
    if request is None:
        return None
    p.publish(f"checking {_link_name(request)} between the private clouds")
    state = yield from p.call("check_connectivity", request, "checking connectivity")
    if state["state"] == "missing":
        if p.plan.connectivity.allow_create:
            p.actions.append(f"create {_link_name(request)} from {source.name} to {destination.name}")
        else:
            text = f"no {_link_name(request)} connects {source.name!r} and {destination.name!r}"
            yield from p.add([finding("CONNECTIVITY_MISSING", text, resource="/connectivity")], stop=False)
    return state["state"]


def _ensure_link(p: Preparation, source: CloudFacts, destination: CloudFacts, state: str | None) -> Task:
    """Create the link (when missing and allowed) and wait until it carries traffic."""
    request = _link_request(p, source, destination)
    if request is None or state in (None, "connected"):
        return
    what = _link_name(request)
    p.publish(f"connecting the private clouds ({what})")
    step = "ensure_connectivity" if p.plan.connectivity.allow_create else "check_connectivity"
    result = yield from p.poll(
        step, request, f"creating {what}", lambda r: r["state"] in ("connected", "failed"), LINK_DEADLINE
    )
    if result is not None and result["state"] == "connected":
        return
    if result is not None and result.get("message"):
        code, text = "CONNECTIVITY_CREATE_FAILED", f"creating {what}: {result['message']}"
    elif request["mode"] == "global_reach":
        code, text = (
            "GLOBAL_REACH_NOT_CONNECTED",
            f"the Global Reach connection to {destination.name!r} is not Connected",
        )
    else:
        code, text = (
            "CONNECTIVITY_CREATE_FAILED",
            f"the cloud link to {destination.name!r} did not become Active",
        )
    yield from p.add([finding(code, text, resource=(result or {}).get("resource") or "/connectivity")])


def _managers(source: CloudFacts, destination: CloudFacts) -> tuple[Manager, Manager]:
    return (
        Manager(side="source", cloud_id=source.id, url=source.hcx_url or ""),
        Manager(side="destination", cloud_id=destination.id, url=destination.hcx_url or ""),
    )


def preflight(p: Preparation) -> Task:
    """1. Preflight: returns (source facts, destination facts, the managers' request, versions).

    Checks first and collects every finding; fixes (add-on, link) only when nothing blocks; then the
    HCX Managers and both inventories. A validation collects as much as it can see and fixes nothing.
    """
    plan = p.plan
    yield from p.enter("preflight", "reading both private clouds from ARM")
    source, destination, gateways = yield from _read_clouds(p)
    yield from p.add(check_against(plan, source, destination, p.context.current_utc_datetime), stop=False)
    link = yield from _check_link(p, source, destination)
    p.stop_if_blocked()
    # The fixes preflight may make, when the plan allows them.
    if (yield from _ensure_addons(p, source, destination)):
        source, destination, gateways = yield from _read_clouds(p)
    if not p.validate_only:
        yield from _ensure_link(p, source, destination, link)
    if not (source.hcx_url and destination.hcx_url):
        p.stop_if_blocked()
        return source, destination, None, {}  # validating, with an add-on still to install
    src, dst = _managers(source, destination)
    p.publish("logging in to both HCX Managers")
    request = PlanRequest(source=src, destination=dst, pins=p.pins)
    checked = yield from p.call("check_hcx_managers", request.model_dump(), "reaching the HCX Managers")
    yield from p.add(checked["findings"], stop=False)
    versions = {side: {"version": m.get("version"), "build": None} for side, m in checked["managers"].items()}
    if all(m["reachable"] for m in checked["managers"].values()):
        p.publish("checking both inventories against the plan")
        inventory = request.model_copy(update={"plan": plan.model_dump(mode="json"), "gateways": gateways})
        checked = yield from p.call("preflight_inventory", inventory.model_dump(), "checking the inventories")
        yield from p.add(checked["findings"], stop=False)
    p.stop_if_blocked()
    return source, destination, request, versions


# --- 2-4. pairing, service mesh, network extension ------------------------------------------------


def pair_sites(p: Preparation, request: PlanRequest) -> Task:
    yield from p.enter("pairing", f"pairing {request.source.url} with {request.destination.url}")
    result = yield from p.call("ensure_site_pairing", request.model_dump(), "pairing the sites")
    yield from p.add(result["findings"])
    if result["state"] == "existing":
        p.actions.append("site pairing: already paired")
        return
    if result.get("imported_fingerprint"):
        p.actions.append(
            f"trusted the destination certificate by its pinned fingerprint {result['imported_fingerprint']}"
        )
    p.actions.append("site pairing: created")
    p.publish("waiting for the site pairing job")
    job = JobRequest(manager=request.source, pins=p.pins, job_id=result["job_id"]).model_dump()
    done = yield from p.poll(
        "check_hcx_job", job, "following the pairing job", lambda r: r["finished"], PAIRING_DEADLINE
    )
    if done is None or not done["succeeded"]:
        why = (done or {}).get("message") or "the pairing job did not finish in time"
        yield from p.add([finding("SITE_PAIRING_FAILED", f"HCX: {why}", resource=request.destination.url)])


def check_meshes(p: Preparation, request: PlanRequest) -> Task:
    yield from p.enter("service_mesh", "checking the service meshes between the sites")
    payload = request.model_copy(update={"plan": p.plan.model_dump(mode="json")})
    result = yield from p.call("check_service_mesh", payload.model_dump(), "checking the service mesh")
    yield from p.add(result["findings"])
    return result["meshes"]


def extend_networks(p: Preparation, request: PlanRequest, meshes: list[dict[str, Any]]) -> Task:
    if not p.plan.network_extensions:
        return
    yield from p.enter("network_extension", f"extending {len(p.plan.network_extensions)} network(s)")
    ids = [m["service_mesh_id"] for m in meshes if "NETWORK_EXTENSION" in m["services"]]
    payload = request.model_copy(update={"plan": p.plan.model_dump(mode="json"), "mesh_ids": ids})
    started = yield from p.call("ensure_network_extensions", payload.model_dump(), "extending networks")
    jobs = [ExtensionJob.model_validate(j) for j in started["jobs"]]
    p.networks = [{"name": j.network, "state": "extending", "stretch_id": j.stretch_id} for j in jobs]
    refused = started["findings"]
    p.publish("waiting for the network extension jobs")
    result = None
    if jobs:
        check = ExtensionJobs(manager=request.source, pins=p.pins, jobs=jobs).model_dump()
        result = yield from p.poll(
            "check_extensions", check, "following the extension jobs", lambda r: r["done"], EXTENSION_DEADLINE
        )
    if result is not None:
        p.networks = result["networks"]
    failures: list[Finding] = []
    for network in p.networks:
        if network["state"] == "failed":
            failures.append(
                finding(
                    "EXTENSION_FAILED",
                    f"extending {network['name']!r} failed: HCX: {network.get('message') or 'no message'}",
                    resource=network["name"],
                )
            )
            if network.get("stretch_id"):
                # Nothing stays half-created: remove the failed extension (a re-run extends again).
                undo = UnextendRequest(manager=request.source, pins=p.pins, stretch_id=network["stretch_id"])
                yield from p.call("unextend_network", undo.model_dump(), "removing a failed extension")
        elif network["state"] == "extending":
            failures.append(
                finding(
                    "EXTENSION_FAILED",
                    f"extending {network['name']!r} did not finish in time",
                    resource=network["name"],
                )
            )
    p.publish("network extensions checked")
    yield from p.add([*refused, *failures])


# --- the orchestrators ----------------------------------------------------------------------------


def _prepare(context: df.DurableOrchestrationContext, validate_only: bool) -> Task:
    root = RootInput.model_validate(context.get_input())
    plan = root.plan
    p = Preparation(context, plan, validate_only or root.validate_only)
    try:
        # 1. Preflight
        source, destination, request, versions = yield from preflight(p)
        if p.validate_only or request is None:
            p.phase = "validated"
            p.publish("preflight done; nothing was changed")
            return {"state": "validated", "findings": _dump(p.findings), "actions": p.actions}
        # 2. Site pairing
        yield from pair_sites(p, request)
        # 3. Service mesh
        meshes = yield from check_meshes(p, request)
        # 4. Network extension
        yield from extend_networks(p, request, meshes)
        # 5. The prepared context, for the wave engine
        p.publish("resolving the prepared context")
        payload = ContextRequest(
            request=request.model_copy(update={"plan": plan.model_dump(mode="json")}),
            digest=root.digest,
            prepared_at=context.current_utc_datetime,
            source=source,
            destination=destination,
            versions=versions,
            meshes=meshes,
            findings=p.findings,
        )
        built = yield from p.call(
            "build_prepared_context", payload.model_dump(mode="json"), "resolving the context"
        )
        yield from p.add(built.get("findings", []))
    except Blocked:
        stopped_in, p.phase = p.phase, "blocked"
        p.publish("stopped at a blocking finding")
        return {
            "state": "blocked",
            "phase": p.phase,
            "last_phase": stopped_in,
            "findings": _dump(p.findings),
            "actions": p.actions,
            "networks": p.networks,
        }
    last, p.phase = p.phase, "prepared"
    p.publish("ready for the wave engine")
    return {
        "state": "prepared",
        "last_phase": last,
        "context": built["context"],
        "findings": _dump(p.findings),
        "actions": p.actions,
        "networks": p.networks,
    }


def _dump(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in findings]


@bp.orchestration_trigger(context_name="context")
def prepare_migration(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield from _prepare(context, validate_only=False))


@bp.orchestration_trigger(context_name="context")
def validate_migration(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield from _prepare(context, validate_only=True))


__all__ = ["MAX_POLL", "RETRY", "bp", "prepare_migration", "validate_migration"]
