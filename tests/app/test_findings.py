"""End to end: every missing prerequisite ends the preparation with its finding over HTTP.

Each test builds a variant of an example world (scenario overrides) and of its plan, submits the plan
over HTTP and reads the finding from GET /api/migrations/{id}; where preparation may fix the problem
(install the add-on, create the link) a second test lets it, and checks the fix happened once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.core.faults import FaultRule
from shared.tls import normalise_fingerprint
from tests.app.conftest import Factory, Stack, codes, mutating, plan, scenario

SAME = "weu-consolidation"
CROSS = "weu-to-neu-demo"


def run(stack: Stack, data: dict[str, Any]) -> dict[str, Any]:
    submitted = stack.post("migrations", data)
    assert submitted.status_code == 202, submitted.text
    return stack.finished(data["id"])


def blocked(view: dict[str, Any]) -> dict[str, str | None]:
    assert (view["phase"], view["runtime_status"]) == ("blocked", "Completed"), view["phase"]
    return codes(view)


def nothing_changed(stack: Stack) -> None:
    assert mutating(stack) == []


# --- the HCX add-on -------------------------------------------------------------------------------


def test_a_missing_hcx_addon_is_a_finding_when_the_plan_may_not_install_it(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region", destination={"hcx": {"addon": "none"}})) as stack:
        found = blocked(run(stack, plan("same-region")))
        destination = stack.sandbox.cloud_id("destination")
        nothing_changed(stack)
    assert found == {"HCX_ADDON_MISSING": destination}


def test_the_hcx_addon_is_installed_when_the_plan_allows_it(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region", destination={"hcx": {"addon": "none"}})) as stack:
        view = run(stack, plan("same-region", hcx={"install_addon": True}))
        installs = [
            k for k in stack.all_requests() if k.startswith("arm PUT") and k.endswith("/addons/{name}")
        ]
        edition = stack.sandbox.arm.hcx_edition("destination")
    assert view["phase"] == "completed"
    assert any("install the HCX add-on" in a for a in view["actions"])
    assert len(installs) == 1
    assert edition == "enterprise"


# --- connectivity ---------------------------------------------------------------------------------


def test_clouds_without_a_link_are_a_finding_when_the_plan_may_not_create_one(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region", connectivity={"interconnect": False})) as stack:
        found = blocked(run(stack, plan("same-region")))
        nothing_changed(stack)
    assert found == {"CONNECTIVITY_MISSING": "/connectivity"}


def test_the_interconnect_is_created_when_the_plan_allows_it(stack_factory: Factory) -> None:
    with stack_factory(scenario("same-region", connectivity={"interconnect": False})) as stack:
        view = run(stack, plan("same-region", connectivity={"allow_create": True}))
        puts = [k for k in stack.all_requests() if k.startswith("arm PUT")]
        connected = stack.sandbox.arm.clouds_connected()
    assert view["phase"] == "completed"
    assert [p.rsplit("/", 2)[-2] for p in puts] == ["cloudLinks"]
    assert connected


def test_global_reach_is_authorized_and_connected_across_regions_when_allowed(stack_factory: Factory) -> None:
    with stack_factory(scenario("cross-region", connectivity={"global_reach": "none"})) as stack:
        view = run(stack, plan("cross-region", connectivity={"allow_create": True}))
        puts = sorted(k.rsplit("/", 2)[-2] for k in stack.all_requests() if k.startswith("arm PUT"))
    assert view["phase"] == "completed"
    assert puts == ["authorizations", "globalReachConnections"]


def test_global_reach_missing_across_regions_is_a_finding(stack_factory: Factory) -> None:
    with stack_factory(scenario("cross-region", connectivity={"global_reach": "none"})) as stack:
        found = blocked(run(stack, plan("cross-region")))
        nothing_changed(stack)
    assert found == {"CONNECTIVITY_MISSING": "/connectivity"}


# --- Gen 2 ----------------------------------------------------------------------------------------


def test_mon_between_two_gen2_clouds_is_a_finding(stack_factory: Factory) -> None:
    world = scenario(
        "same-region",
        source={"generation": 2},
        destination={"generation": 2},
        connectivity={"interconnect": False, "vnet_peering": True},
    )
    data = plan("same-region")
    data["network_extensions"][0]["mon"] = True
    with stack_factory(world) as stack:
        view = run(stack, data)
        nothing_changed(stack)
    assert blocked(view) == {"MON_BETWEEN_GEN2": "/network_extensions/0/mon"}
    # Gen 2 links are VNet peering, outside Microsoft.AVS: said, but not blocking.
    assert "GEN2_CONNECTIVITY_EXTERNAL" in {f["code"] for f in view["findings"]}


# --- the inventories ------------------------------------------------------------------------------


def test_a_vm_missing_at_the_source_is_a_finding_at_its_plan_field(stack: Stack) -> None:
    data = plan("same-region")
    data["waves"][0]["vms"].append("ghost-01")
    found = blocked(run(stack, data))
    assert found == {"VM_NOT_FOUND_AT_SOURCE": "/waves/0/vms/3"}
    nothing_changed(stack)


def test_a_name_taken_at_the_destination_is_a_finding(stack_factory: Factory) -> None:
    world = scenario("same-region", destination={"vms": [{"name": "app-web-02", "folder": "Workloads"}]})
    with stack_factory(world) as stack:
        found = blocked(run(stack, plan("same-region")))
        nothing_changed(stack)
    assert found == {"VM_NAME_TAKEN_AT_DESTINATION": "app-web-02"}


def test_too_little_destination_datastore_space_is_a_finding(stack_factory: Factory) -> None:
    world = scenario(
        "same-region",
        destination={"datastores": [{"name": "vsanDatastore", "capacity_gb": 40000, "free_gb": 900}]},
    )
    with stack_factory(world) as stack:
        view = run(stack, plan("same-region"))
    assert blocked(view) == {"DATASTORE_CAPACITY": "vsanDatastore"}
    [capacity] = [f for f in view["findings"] if f["code"] == "DATASTORE_CAPACITY"]
    assert capacity["details"]["needed_bytes"] > capacity["details"]["free_bytes"] == 900 * 2**30


def test_too_little_network_extension_capacity_is_a_finding(stack_factory: Factory) -> None:
    mesh = {
        "name": "mesh-weu-neu",
        "services": ["INTERCONNECT", "WANOPT", "BULK_MIGRATION", "VMOTION", "RAV", "NETWORK_EXTENSION"],
        "ne_appliances": 0,
    }
    with stack_factory(scenario("cross-region", service_meshes=[mesh])) as stack:
        view = run(stack, plan("cross-region"))
        nothing_changed(stack)
    assert blocked(view) == {"NE_CAPACITY": "/network_extensions"}


def test_a_mesh_without_the_services_the_plan_needs_is_a_finding(stack_factory: Factory) -> None:
    mesh = {"name": "mesh-weu", "services": ["INTERCONNECT", "BULK_MIGRATION", "NETWORK_EXTENSION"]}
    with stack_factory(scenario("same-region", service_meshes=[mesh])) as stack:
        view = run(
            stack,
            plan(
                "same-region", waves=[{"name": "pilot", "vms": ["ops-jump-01"], "migration": {"type": "rav"}}]
            ),
        )
    found = blocked(view)
    assert list(found) == ["SERVICE_MESH_SERVICES_MISSING"]
    assert "RAV" in view["findings"][0]["message"]


# --- pairing and its certificate ------------------------------------------------------------------


def ca_signed_destination() -> Any:
    # The app trusts this manager through HCX_CA_BUNDLE, but the source manager does not: pairing
    # has to go through the certificate-trust step, whatever the app pins.
    return scenario("same-region", destination={"hcx": {"certificate": "sandbox-ca"}})


def with_pins(stack: Stack, *pins: str) -> dict[str, Any]:
    return plan("same-region", hcx={"trusted_fingerprints": [stack.sandbox.hcx_fingerprint("source"), *pins]})


def test_pairing_with_an_untrusted_certificate_and_no_pin_shows_the_fingerprint(
    stack_factory: Factory,
) -> None:
    with stack_factory(ca_signed_destination()) as stack:
        view = run(stack, with_pins(stack))
        fingerprint = normalise_fingerprint(stack.sandbox.hcx_fingerprint("destination"))
        url = stack.sandbox.hcx_url("destination")
        imported = stack.requests("hcx:source").get("POST /hybridity/api/admin/certificates", 0)
    assert blocked(view) == {"HCX_CERTIFICATE_NOT_PINNED": url}
    [untrusted] = view["findings"]
    assert untrusted["details"]["fingerprint"] == fingerprint
    assert imported == 0


def test_pairing_with_a_certificate_that_matches_no_pin_is_refused(stack_factory: Factory) -> None:
    with stack_factory(ca_signed_destination()) as stack:
        view = run(stack, with_pins(stack, "ab" * 32))
        fingerprint = normalise_fingerprint(stack.sandbox.hcx_fingerprint("destination"))
        pairings = stack.sandbox.hcx["source"].pairings
    assert list(blocked(view)) == ["HCX_CERTIFICATE_PIN_MISMATCH"]
    assert view["findings"][0]["details"]["fingerprint"] == fingerprint
    assert pairings == {}


def test_pairing_with_a_pinned_certificate_imports_it_and_pairs(stack_factory: Factory) -> None:
    with stack_factory(ca_signed_destination()) as stack:
        view = run(stack, with_pins(stack, stack.sandbox.hcx_fingerprint("destination")))
        imported = stack.requests("hcx:source")["POST /hybridity/api/admin/certificates"]
    assert view["phase"] == "completed"
    assert imported == 1


def test_an_hcx_manager_the_app_cannot_trust_is_a_finding_with_its_fingerprint(stack: Stack) -> None:
    data = plan("same-region", hcx={"trusted_fingerprints": [stack.sandbox.hcx_fingerprint("destination")]})
    view = run(stack, data)
    assert blocked(view) == {"HCX_TLS_UNTRUSTED": stack.sandbox.hcx_url("source")}
    nothing_changed(stack)


# --- network extension ----------------------------------------------------------------------------


def test_a_failed_extension_is_reported_with_hcxs_message_and_removed_then_a_rerun_extends_it(
    stack_factory: Factory,
) -> None:
    message = "NSX segment creation failed: transport zone busy"
    world = scenario(
        "same-region", faults={"extension_failures": [{"network": "seg-db", "message": message}]}
    )
    with stack_factory(world) as stack:
        view = run(stack, plan("same-region"))
        found = blocked(view)
        [failure] = [f for f in view["findings"] if f["code"] == "EXTENSION_FAILED"]
        assert found == {"EXTENSION_FAILED": "seg-db"}
        assert message in failure["message"]
        stack.settle()
        stack.clock.advance(timedelta(minutes=10))  # the unextension job ends
        left = {e.network.name for e in stack.sandbox.hcx["source"].list_extensions()}
        assert left == {"seg-app"}  # nothing half-created stays behind
        again = stack.post("migrations", plan("same-region"))
        assert again.json()["decision"] == "restart"
        assert stack.finished(SAME)["phase"] == "completed"


def test_an_hcx_outage_longer_than_the_retries_is_reported_not_raised(stack: Stack) -> None:
    stack.sandbox.faults.add(FaultRule(server="hcx:destination", status=503))
    view = run(stack, plan("same-region"))
    assert list(blocked(view)) == ["HCX_UNREACHABLE"]
    assert "Traceback" not in view["findings"][0]["message"]
