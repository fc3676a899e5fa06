"""End to end: a plan POSTed to function_app.py on the local runtime is prepared against the sandbox.

Both example worlds, over HTTP, with one virtual clock: preflight, the pairing through the pinned
certificate, the service mesh, the network extensions really created in the HCX simulators, and a
PreparedContext the HCX simulator accepts migration items from.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.core.faults import FaultRule
from shared.hcx import HcxClient, migration_item
from shared.plan import parse_plan
from shared.prepared import PreparedContext
from shared.settings import UserPassword, load_settings
from shared.tls import normalise_fingerprint
from tests.app.conftest import Factory, Stack, logged_events, mutating, plan, scenario
from tests.app.recorder import Recorder
from tests.shared.tls_servers import TestCA

EXAMPLES = [("same-region", "weu-consolidation"), ("cross-region", "weu-to-neu-demo")]


def context_of(stack: Stack, plan_id: str) -> PreparedContext:
    output = stack.runtime.get_status(f"mig-{plan_id}:prepare")["output"]
    return PreparedContext.model_validate(output["context"])


@pytest.mark.parametrize(("world", "plan_id"), EXAMPLES)
def test_the_example_plan_is_prepared_and_the_hcx_simulators_hold_the_pairing_and_extensions(
    stack_factory: Factory, world: str, plan_id: str, logs: pytest.LogCaptureFixture
) -> None:
    with stack_factory(scenario(world), auto_advance=False) as stack:
        submitted = stack.post("migrations", plan(world))
        assert submitted.status_code == 202
        view = stack.prepared(plan_id)  # the world as preparation left it: the waves just begin
        source = stack.sandbox.hcx["source"]
        pairings = list(source.pairings.values())
        extensions = list(source.extensions.values())

    assert (view["phase"], view["runtime_status"], view["done"]) == ("waves", "Running", False)
    assert [f for f in view["findings"] if f["severity"] == "error"] == []
    # The pairing exists in the source HCX Manager and points at the destination.
    assert [p.remote for p in pairings] == ["destination"]
    # Every planned network is extended, completely, with MON as the plan says.
    wanted = {e["source_network"]: e.get("mon", False) for e in plan(world)["network_extensions"]}
    assert {e.network.name: e.features["mobilityOptimizedNetworking"] for e in extensions} == wanted
    assert {e.state for e in extensions} == {"EXTENSION_COMPLETE"}
    assert {n["name"]: n["state"] for n in view["networks"]} == dict.fromkeys(wanted, "extended")
    # Progress was announced phase by phase.
    phases = [
        e["data"]["phase"] for e in logged_events(logs) if e["type"] == "HcxConductor.MigrationPhaseChanged"
    ]
    assert phases == ["preflight", "pairing", "service_mesh", "network_extension", "prepared", "waves"]


def test_the_prepared_context_resolves_every_vm_to_hcx_ids_the_simulator_accepts(
    stack_factory: Factory,
) -> None:
    with stack_factory(scenario("same-region"), auto_advance=False) as stack:
        check_prepared_context(stack)


def check_prepared_context(stack: Stack) -> None:
    data = plan("same-region")
    assert stack.post("migrations", data).status_code == 202
    assert stack.prepared("weu-consolidation")["phase"] == "waves"
    context = context_of(stack, "weu-consolidation")
    the_plan = parse_plan(data)
    source = stack.sandbox.hcx["source"]

    assert [w.name for w in context.waves] == ["pilot", "app", "databases", "archive"]
    assert {vm.name: vm.entity_id for w in context.waves for vm in w.vms} == {
        vm.name: vm.vm_id for vm in source.vms.values()
    }
    assert context.meshes[0].name == "mesh-weu"
    assert {e.source_network for e in context.extensions} == {"seg-app", "seg-db"}
    app = context.wave("app")
    assert (app.compute.name, app.compute.type, app.folder and app.folder.name) == (
        "Compute-ResourcePool",
        "ResourcePool",
        "Workloads",
    )
    assert {n.source_name: n.destination_name for n in app.networks} == {
        "seg-app": context.extension("seg-app").destination_segment  # type: ignore[union-attr]
    }
    # The contract with the wave engine: an item built from the context passes HCX's validation
    # (the first wave's VMs have just started migrating, so the later waves' are checked).
    items = [
        migration_item(
            context.migration_spec(
                the_plan, wave.name, vm.name, service_mesh_id=context.meshes[0].service_mesh_id
            )
        )
        for wave in context.waves[1:]
        for vm in wave.vms
    ]
    credentials = stack.sandbox.world.credentials["source"]
    login = UserPassword.model_validate({"username": credentials.username, "password": credentials.password})
    settings = load_settings(stack.sandbox.app_settings())
    with HcxClient.for_settings(
        settings, stack.sandbox.hcx_url("source"), login, pins=the_plan.hcx.trusted_fingerprints
    ) as client:
        results = client.validate_migrations(items)
    assert [(r.entity_id, r.errors) for r in results] == [(i["entity"]["entityId"], []) for i in items]


def test_the_destination_certificate_is_imported_only_by_its_pinned_fingerprint(stack: Stack) -> None:
    assert stack.post("migrations", plan("same-region")).status_code == 202
    view = stack.finished("weu-consolidation")
    pin = normalise_fingerprint(stack.sandbox.hcx_fingerprint("destination"))
    assert stack.requests("hcx:source")["POST /hybridity/api/admin/certificates"] == 1
    assert f"trusted the destination certificate by its pinned fingerprint {pin}" in view["actions"]


def test_preparing_a_second_plan_between_the_same_clouds_creates_nothing_new(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region"), auto_advance=False) as stack:
        assert stack.post("migrations", plan("same-region")).status_code == 202
        assert stack.prepared("weu-consolidation")["phase"] == "waves"
        # It stops before anything moves; its extensions stay (no cutover for a cancelled migration).
        assert stack.post("migrations/weu-consolidation/cancel", "").status_code == 202
        assert stack.drive("weu-consolidation", step=timedelta(minutes=1))["phase"] == "cancelled"
        before = {k: v for k, v in stack.all_requests().items() if k in preparing(stack)}
        second = plan("same-region", id="weu-consolidation-b")
        assert stack.post("migrations", second).status_code == 202
        view = stack.prepared("weu-consolidation-b")
        after = {k: v for k, v in stack.all_requests().items() if k in preparing(stack)}
    assert view["phase"] == "waves"
    assert "site pairing: already paired" in view["actions"]
    assert after == before  # the pairing and the extensions were found, not made again


def preparing(stack: Stack) -> list[str]:
    """The mutating requests preparation could make (the wave engine's migrations left out)."""
    return [k for k in mutating(stack) if "mobility" not in k and "/migrations" not in k]


def test_the_status_is_served_while_preparing_and_the_result_when_prepared(stack_factory: Factory) -> None:
    # A manual clock holds the migration at its first durable timer (Logic Apps' asynchronous pattern).
    with stack_factory(scenario("same-region"), auto_advance=False) as stack:
        submitted = stack.post("migrations", plan("same-region"))
        assert submitted.status_code == 202
        location = submitted.headers["Location"]
        assert location == f"{stack.api}/migrations/weu-consolidation"
        assert int(submitted.headers["Retry-After"]) > 0
        stack.settle()
        running = _get(location)
        assert running.status_code == 202
        assert running.headers["Location"] == location
        assert running.json()["phase"] in ("preflight", "pairing", "network_extension")
        assert "result" not in running.json()
        done = stack.drive("weu-consolidation")
    assert done["phase"] == "completed"
    assert done["result"]["phase"] == "completed"
    assert [w["name"] for w in done["result"]["waves"]] == ["pilot", "app", "databases", "archive"]


def _get(url: str) -> Any:
    import httpx

    return httpx.get(url, timeout=30)


def test_transient_faults_are_retried_and_nothing_is_created_twice(stack: Stack) -> None:
    rules = [
        FaultRule(server="arm", status=429, times=2, retry_after=1, method="GET"),
        FaultRule(server="hcx:source", status=503, times=1, method="POST", path_contains="cloudConfigs"),
        FaultRule(server="hcx:source", status=503, times=1, method="POST", path_contains="l2Extensions"),
        FaultRule(server="hcx:source", status=503, times=4, method="GET", path_contains="/jobs/"),
    ]
    for rule in rules:
        stack.sandbox.faults.add(rule)
    assert stack.post("migrations", plan("same-region")).status_code == 202
    view = stack.finished("weu-consolidation")
    source = stack.sandbox.hcx["source"]
    assert view["phase"] == "completed"
    assert [rule.fired for rule in rules] == [2, 1, 1, 4]
    # Extended once each (and unextended once each by the cutover, after the waves).
    created = [e for e in stack.sandbox.world.events if e.kind == "network_extended"]
    assert sorted(dict(e.detail)["network"] for e in created) == ["seg-app", "seg-db"]
    assert len(source.pairings) == 1


def test_the_plans_webhooks_receive_the_events(stack_factory: Factory, tmp_path: Path) -> None:
    ca = TestCA()
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca.pem)
    hook = Recorder(ca, tmp_path)
    try:
        settings = {"OPS_HOOK_URL": f"{hook.url}/hooks/sig-abc", "EVENTS_CA_BUNDLE": str(bundle)}
        with stack_factory(scenario("same-region"), settings=settings) as stack:
            data = plan(
                "same-region", notifications={"webhooks": [{"name": "ops", "url_setting": "OPS_HOOK_URL"}]}
            )
            assert stack.post("migrations", data).status_code == 202
            stack.finished("weu-consolidation")
    finally:
        hook.close()
    received = [event for request in hook.requests for event in json.loads(request["body"])]
    phases = [e["data"]["phase"] for e in received if e["type"] == "HcxConductor.MigrationPhaseChanged"]
    assert phases == [
        "preflight",
        "pairing",
        "service_mesh",
        "network_extension",
        "prepared",
        "waves",
        "cutover",
        "report",
        "completed",
    ]
    assert {e["subject"] for e in received if e["type"] == "HcxConductor.MigrationPhaseChanged"} == {
        "migrations/weu-consolidation"
    }
    assert all(e["subject"].startswith("migrations/weu-consolidation") for e in received)  # waves, VMs too
    assert len({e["id"] for e in received}) == len(received)
