"""Scenario files: the examples load, and bad files fail with the field named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.core.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from sandbox.core.world import World
from tests.fixtures import merge
from tests.sandbox.conftest import BASE

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"


@pytest.mark.parametrize(
    ("name", "vms", "networks", "meshes"),
    [("same-region", 10, 2, 1), ("cross-region", 200, 3, 1), ("large", 1000, 20, 2)],
)
def test_example_scenarios_load_with_their_promised_size(
    name: str, vms: int, networks: int, meshes: int
) -> None:
    scenario = load_scenario(EXAMPLES / f"{name}.yaml")
    world = World(scenario)
    assert len(world.inventory["source"]) == vms
    assert len(scenario.source.networks) == networks
    assert len(scenario.service_meshes) == meshes


def test_the_cross_region_example_is_global_reach_between_two_regions() -> None:
    scenario = load_scenario(EXAMPLES / "cross-region.yaml")
    assert scenario.source.region != scenario.destination.region
    assert scenario.connectivity.global_reach == "connected"
    assert {"BULK_MIGRATION", "VMOTION", "RAV", "NETWORK_EXTENSION"} <= set(
        scenario.service_meshes[0].services
    )
    assert all(n.vlan > 0 and n.gateway_cidr for n in scenario.source.networks)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"source": {"vms": [{"name": "a", "disk_gb": -1}]}},
            "source.vms[0].disk_gb: Input should be greater than 0",
        ),
        (
            {"source": {"network_block": "10.0.0.0/24"}},
            "source.network_block: a private cloud's network block must be an IPv4 /22",
        ),
        ({"destination": {"regoin": "x"}}, "destination.regoin: Extra inputs are not permitted"),
        ({"faults": {"hcx_5xx_rate": 2}}, "faults.hcx_5xx_rate: Input should be less than or equal to 1"),
        (
            {"source": {"vms": [{"name": "a", "networks": ["nope"]}]}},
            "source.vms[0].networks: unknown networks",
        ),
        (
            {"faults": {"vm_failures": [{"vm": "ghost", "phase": "transfer"}]}},
            "faults.vm_failures[0].vm: no source VM",
        ),
        (
            {
                "source": {
                    "segments": [{"name": "s", "gateway_cidr": "10.9.0.1/24", "connected_gateway": "T9"}]
                }
            },
            "source.segments[0].connected_gateway: 'T9' is not one of source.gateways",
        ),
        (
            {"destination": {"region": "northeurope"}, "connectivity": {"interconnect": True}},
            "connectivity.interconnect: AVS Interconnect links clouds in the same region only",
        ),
        (
            {"destination": {"generation": 2}, "connectivity": {"global_reach": "connected"}},
            "connectivity.global_reach: Global Reach between private clouds needs Gen 1 circuits",
        ),
        ({"connectivity": {"vnet_peering": True}}, "connectivity.vnet_peering: only a Gen 2 cloud"),
        ({"service_meshes": [{"name": "m"}, {"name": "m"}]}, "service_meshes: duplicate names ['m']"),
        (
            {"service_meshes": [{"name": "m", "services": ["TELEPORT"]}]},
            "service_meshes[0].services: unknown HCX services ['TELEPORT']",
        ),
    ],
)
def test_a_bad_field_is_named_with_its_reason(overrides: dict[str, Any], expected: str) -> None:
    assert expected in _error(merge(BASE, overrides))


def test_every_bad_field_is_reported_at_once() -> None:
    message = _error(merge(BASE, {"seed": "x", "source": {"sku": 3, "vms": [{"name": "a", "cpus": 0}]}}))
    assert "seed:" in message
    assert "source.sku:" in message
    assert "source.vms[0].cpus:" in message


def test_generated_vm_names_can_be_named_by_faults(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(
        source={"vm_generators": [{"count": 12, "name_prefix": "gen"}]},
        faults={"vm_failures": [{"vm": "gen-012", "phase": "switchover", "times": 2}]},
    )
    names = [vm.name for vm in World(scenario).inventory["source"]]
    assert names[-1] == "gen-012"
    assert len(names) == 14


def test_yaml_and_json_files_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "s.json").write_text(json.dumps(BASE))
    assert load_scenario(tmp_path / "s.yaml") == load_scenario(tmp_path / "s.json")


def test_unreadable_and_malformed_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ScenarioError, match="is not valid JSON"):
        load_scenario(tmp_path / "bad.json")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ScenarioError, match=r"\(root\): Input should be a valid dictionary"):
        load_scenario(tmp_path / "list.yaml")


def test_the_same_seed_expands_the_same_inventory(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(source={"vm_generators": [{"count": 50}]})
    assert World(scenario).inventory == World(scenario).inventory
    other = make_scenario(seed=6, source={"vm_generators": [{"count": 50}]})
    assert World(scenario).inventory != World(other).inventory
