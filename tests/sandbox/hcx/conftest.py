"""Fixtures for the HCX Manager simulator's tests: worlds built from small scenarios, both managers,
the real ARM backend beside them, and (for route tests) the whole Sandbox served over verified TLS.

Every fixture builds fresh objects; nothing is shared between tests. Unit tests drive the backends
directly and move a `VirtualClock`; route tests talk plain httpx over TLS (trusting exactly the
manager's certificate) to the Sandbox's HCX servers on 127.0.0.1 ephemeral ports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from runtime.clock import VirtualClock
from sandbox.avs.models import ArmBackend
from sandbox.core import tls
from sandbox.core.scenario import Scenario, parse_scenario
from sandbox.core.world import SIDES, Side, World
from sandbox.hcx import HcxBackend
from sandbox.hcx.ids import endpoint_id
from sandbox.sandbox import Sandbox
from tests.fixtures import merge

BASE: dict[str, Any] = {
    "name": "hcx-unit",
    "seed": 11,
    "source": {
        "name": "pc-src",
        "resource_group": "rg-src",
        "region": "westeurope",
        "networks": [
            {"name": "web", "vlan": 100, "gateway_cidr": "10.1.100.1/24"},
            {"name": "db", "vlan": 200, "gateway_cidr": "10.1.200.1/24"},
        ],
        "vms": [
            {"name": "app01", "networks": ["web"], "disk_gb": 100, "used_gb": 50},
            {"name": "app02", "networks": ["web"], "disk_gb": 100, "used_gb": 50},
            {"name": "db01", "networks": ["db"], "disk_gb": 200, "used_gb": 100},
        ],
    },
    "destination": {
        "name": "pc-dst",
        "resource_group": "rg-dst",
        "region": "westeurope",
        "segments": [{"name": "seg-web", "gateway_cidr": "10.2.100.1/24", "connected_gateway": "TNT-T1"}],
    },
    "connectivity": {"interconnect": True, "link_gbps": 10, "efficiency": 0.8},
    "paired": True,
    "service_meshes": [{"name": "mesh-1"}],
}


def make_scenario(**overrides: Any) -> Scenario:
    return parse_scenario(merge(BASE, overrides))


@dataclass
class Env:
    """One world with both HCX managers and the ARM backend, on a virtual clock."""

    world: World
    clock: VirtualClock
    arm: ArmBackend
    source: HcxBackend
    destination: HcxBackend
    mappings: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"srcNetworkName": "web", "destNetworkName": "seg-web", "destNetworkType": "NsxtSegment"},
            {"srcNetworkName": "db", "destNetworkName": "seg-db", "destNetworkType": "NsxtSegment"},
        ]
    )

    def advance(self, **kw: float) -> None:
        self.clock.advance(timedelta(**kw))

    def item(self, vm: str, migration_type: str = "vSphereReplication", **extra: Any) -> dict[str, Any]:
        """A v2 migration item for a source VM, as a client would build it."""
        record = self.source.vm_by_name(vm)
        assert record is not None, vm
        item: dict[str, Any] = {
            "migrationType": migration_type,
            "entity": {"entityId": record.vm_id, "entityName": vm, "entityType": "VirtualMachine"},
            "source": {"endpointId": self.source.endpoint_id, "endpointType": "VC"},
            "destination": {"endpointId": endpoint_id(self.world, "destination"), "endpointType": "VC"},
            "transferParams": {"transferType": "vSphereReplication", "schedule": {}},
            "switchoverParams": {"schedule": {}},
            "networkParams": {"networkMappings": self.mappings},
        }
        item.update(extra)
        return item

    def start(self, *items: dict[str, Any], **body: Any) -> list[str]:
        results = self.source.start_migrations({"items": list(items), **body}, "tester")
        return [r.migration.migration_id for r in results if r.migration is not None]

    def migration(self, migration_id: str) -> dict[str, Any]:
        """The migration as introspection shows it (catching time up first)."""
        for m in self.source.introspect()["migrations"]:
            if m["id"] == migration_id:
                return m
        raise KeyError(migration_id)

    def state(self, migration_id: str) -> str:
        return str(self.migration(migration_id)["state"])

    def ms(self, **kw: float) -> int:
        """Epoch milliseconds of now + kw (a switchover window edge)."""
        return int((self.clock.now() + timedelta(**kw)).timestamp() * 1000)


def build_env(**overrides: Any) -> Env:
    scenario = make_scenario(**overrides)
    clock = VirtualClock(scenario.start)
    world = World(scenario, clock)
    arm = ArmBackend(world)
    world.arm = arm
    source, destination = HcxBackend(world, "source"), HcxBackend(world, "destination")
    return Env(world, clock, arm, source, destination)


@pytest.fixture
def make_env() -> Callable[..., Env]:
    """A factory: `make_env(faults={...}, source={...})` merges overrides into the base scenario."""
    return build_env


@pytest.fixture
def env() -> Env:
    return build_env()


# -- route tests: both managers over verified TLS, served by the Sandbox assembly --------------------------


@dataclass
class Served:
    env: Env
    sandbox: Sandbox
    urls: dict[Side, str]
    certificates: dict[Side, str]  # each manager's certificate PEM
    clients: dict[Side, httpx.Client]

    def login(self, side: Side = "source") -> httpx.Client:
        creds = self.env.world.credentials[side]
        client = self.clients[side]
        response = client.post(
            "/hybridity/api/sessions", json={"username": creds.username, "password": creds.password}
        )
        assert response.status_code == 200, response.text
        client.headers["x-hm-authorization"] = response.headers["x-hm-authorization"]
        return client


def serve(**overrides: Any) -> Iterator[Served]:
    scenario = make_scenario(**overrides)
    clock = VirtualClock(scenario.start)
    sb = Sandbox(scenario, clock=clock)
    env = Env(sb.world, clock, sb.arm, sb.hcx["source"], sb.hcx["destination"])
    clients: dict[Side, httpx.Client] = {}
    sb.start()
    try:
        urls: dict[Side, str] = {side: sb.hcx_url(side) for side in SIDES}
        certificates: dict[Side, str] = {side: sb.hcx_certificate_pem(side) for side in SIDES}
        for side in SIDES:
            # Trust exactly this manager's certificate (or the CA that issued it), as the app would.
            sandbox_ca = sb.world.cloud(side).hcx.certificate == "sandbox-ca"
            trusted = sb.ca.certificate.pem if sandbox_ca else certificates[side]
            context = tls.client_ssl_context(trusted)
            clients[side] = httpx.Client(base_url=urls[side], verify=context, timeout=10)
        yield Served(env, sb, urls, certificates, clients)
    finally:
        for client in clients.values():
            client.close()
        sb.stop()


@pytest.fixture
def served() -> Iterator[Served]:
    yield from serve()


@pytest.fixture
def make_served() -> Iterator[Callable[..., Served]]:
    """A factory for route tests that need their own scenario: `make_served(faults={...})`."""
    stack: list[Iterator[Served]] = []

    def make(**overrides: Any) -> Served:
        gen = serve(**overrides)
        stack.append(gen)
        return next(gen)

    yield make
    for gen in stack:
        gen.close()
