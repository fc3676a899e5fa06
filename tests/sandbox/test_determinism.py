"""Determinism: the same scenario and seed give the same sequence of events on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from runtime.clock import VirtualClock
from sandbox.avs.bodies import CloudLinkBody, SegmentBody, parse_body
from sandbox.core.scenario import Scenario
from sandbox.hcx.ids import endpoint_id
from sandbox.sandbox import Sandbox

OVERRIDES: dict[str, Any] = {
    "paired": True,
    "destination": {
        "hcx": {"addon": "enterprise"},
        "segments": [{"name": "seg-web", "gateway_cidr": "10.2.1.1/24", "connected_gateway": "TNT21-T1"}],
    },
    "source": {
        "vm_generators": [{"count": 6, "name_prefix": "gen", "networks": ["web"], "disk_gb": [40, 80]}]
    },
    "faults": {"vm_failures": [{"vm": "gen-002", "phase": "transfer", "times": 1}]},
}


def _run(scenario: Scenario) -> list[tuple[Any, ...]]:
    """Drive ARM and HCX through the same script and return the event log."""
    clock = VirtualClock(scenario.start)
    sb = Sandbox(scenario, clock=clock)
    link = {"properties": {"linkedCloud": sb.cloud_id("destination")}}
    sb.arm.create_or_update_cloud_link("rg-src", "pc-src", "to-dst", parse_body(CloudLinkBody, link))
    source = sb.hcx["source"]
    items = []
    for vm in sb.world.inventory["source"]:
        record = source.vm_by_name(vm.name)
        assert record is not None
        items.append(
            {
                "migrationType": "vSphereReplication",
                "entity": {"entityId": record.vm_id, "entityName": vm.name, "entityType": "VirtualMachine"},
                "source": {"endpointId": source.endpoint_id, "endpointType": "VC"},
                "destination": {"endpointId": endpoint_id(sb.world, "destination"), "endpointType": "VC"},
                "transferParams": {"transferType": "vSphereReplication", "schedule": {}},
                "switchoverParams": {"schedule": {}},
                "networkParams": {
                    "networkMappings": [{"srcNetworkName": "web", "destNetworkName": "seg-web"}]
                },
            }
        )
    source.start_migrations({"items": items}, "tester")
    for hour in range(72):
        clock.advance(timedelta(hours=1))
        if hour == 5:
            cutover = {"properties": {"connectedGateway": None}}
            sb.arm.update_segment("rg-dst", "pc-dst", "seg-web", parse_body(SegmentBody, cutover))
        source.introspect()  # reading catches the manager up, as a polling client would
    return [(e.at, e.source, e.kind, e.detail) for e in sb.world.events]


def test_the_same_scenario_and_seed_give_the_same_events(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(**OVERRIDES)
    first, second = _run(scenario), _run(scenario)
    assert first == second
    sources = {source for _, source, _, _ in first}
    assert {"arm", "hcx:source"} <= sources
    assert len(first) > 20


def test_a_different_seed_gives_a_different_history(make_scenario: Callable[..., Scenario]) -> None:
    assert _run(make_scenario(**OVERRIDES)) != _run(make_scenario(**{**OVERRIDES, "seed": 99}))
