"""Shared fixtures for the sandbox's tests (HCX-only fixtures live in tests/sandbox/hcx/conftest.py).

Every fixture builds fresh objects and shares nothing: a new virtual clock, a new scenario, a new
sandbox on new ephemeral ports. The contract-tier clients are the real ones: azure-mgmt-avs 10.1.0's
`AVSClient` with TLS verification against the sandbox CA and a static AccessToken credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.mgmt.avs import AVSClient

from runtime.clock import VirtualClock
from sandbox.avs import ArmBackend
from sandbox.core.scenario import Scenario, parse_scenario
from sandbox.core.world import World
from sandbox.sandbox import Sandbox
from tests.fixtures import merge

# Two small Gen 1 clouds in one region; tests merge overrides into a copy.
BASE: dict[str, Any] = {
    "name": "sandbox-test",
    "seed": 5,
    "source": {
        "name": "pc-src",
        "resource_group": "rg-src",
        "region": "westeurope",
        "network_block": "10.100.0.0/22",
        "gateways": ["TNT11-T1"],
        "segments": [{"name": "seg-web", "gateway_cidr": "10.1.1.1/24", "connected_gateway": "TNT11-T1"}],
        "networks": [{"name": "web", "vlan": 101, "gateway_cidr": "10.1.1.1/24"}],
        "datastores": [
            {"name": "vsanDatastore", "capacity_gb": 40000, "free_gb": 30000},
            {"name": "esan-01", "capacity_gb": 8000, "free_gb": 8000},
        ],
        "vms": [
            {"name": "web-01", "networks": ["web"], "disk_gb": 40, "used_gb": 20},
            {"name": "web-02", "networks": ["web"], "disk_gb": 40, "used_gb": 20},
        ],
    },
    "destination": {
        "name": "pc-dst",
        "resource_group": "rg-dst",
        "region": "westeurope",
        "network_block": "10.110.0.0/22",
        "hcx": {"addon": "none"},
        "gateways": ["TNT21-T1"],
    },
    "service_meshes": [{"name": "mesh-1"}],
}


class StaticToken:
    """A credential that always returns the sandbox's static token (never a real credential)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def avs_client_for(sb: Sandbox, *, token: str | None = None, **kwargs: Any) -> AVSClient:
    """The real client, TLS verified against the sandbox CA; no retries unless a test asks."""
    options: dict[str, Any] = {"retry_total": 0, "polling_interval": 1}
    options.update(kwargs)
    return AVSClient(
        StaticToken(token or sb.token),
        sb.subscription_id,
        base_url=sb.arm_url,
        connection_verify=sb.ca_path,
        **options,
    )


@pytest.fixture
def make_scenario() -> Callable[..., Scenario]:
    """`make_scenario(destination={...}, faults={...})` merges overrides into the base scenario."""

    def build(**overrides: Any) -> Scenario:
        return parse_scenario(merge(BASE, overrides))

    return build


@pytest.fixture
def scenario(make_scenario: Callable[..., Scenario]) -> Scenario:
    return make_scenario()


@pytest.fixture
def clock(scenario: Scenario) -> VirtualClock:
    return VirtualClock(scenario.start)


@pytest.fixture
def world(scenario: Scenario, clock: VirtualClock) -> World:
    return World(scenario, clock)


@pytest.fixture
def arm(world: World) -> ArmBackend:
    backend = ArmBackend(world)
    world.arm = backend
    return backend


@pytest.fixture
def sandbox(scenario: Scenario, clock: VirtualClock) -> Iterator[Sandbox]:
    """A started sandbox on a virtual clock; ARM pages hold two items so paging is exercised."""
    with Sandbox(scenario, clock=clock, arm_page_size=2) as sb:
        yield sb


@pytest.fixture
def avs(sandbox: Sandbox) -> Iterator[AVSClient]:
    client = avs_client_for(sandbox)
    yield client
    client.close()
