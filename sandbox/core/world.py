"""The world both simulators share: one scenario, one clock, one event log, one set of counters.

The ARM simulator (`sandbox.avs`) and the HCX Manager simulators (`sandbox.hcx`, one per private
cloud) each keep their own state, but facts that cross the two APIs live here:

* the cloudadmin credentials that `listAdminCredentials` returns and HCX `sessions` accepts;
* the expanded VM inventory of each cloud (generators expanded once, deterministically);
* the backends themselves, so one simulator can ask another (HCX asks ARM whether the clouds are
  connected and whether the HCX add-on is installed; the source HCX Manager asks the destination one
  during pairing and when a migrated VM lands);
* seeded random streams, the event log that proves determinism, and the introspection counters.

Counter families in `Stats` (what `GET /_sandbox/stats` groups by): `requests:<server>` keyed by
"METHOD /route/pattern" (server = `arm`, `hcx:source`, `hcx:destination`), `faults:<server>` keyed by
the fault (`429`, `503`, `outage`), and `migration_starts` keyed by VM name. A simulator may add its
own families; they are served as they are.

Every backend method that reads or changes state holds `world.lock`, so the servers (one event loop
thread) and tests that drive backends directly (the test thread) never race. This module depends on
the standard library and the scenario model only.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from runtime.clock import Clock, VirtualClock
from sandbox.core.scenario import CloudSpec, Scenario, VmGenerator, VmSpec

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["SIDES", "ArmView", "Credentials", "Event", "HcxView", "Side", "Stats", "World", "expand_vms"]

Side = Literal["source", "destination"]
SIDES: tuple[Side, Side] = ("source", "destination")


@dataclass(frozen=True)
class Credentials:
    username: str
    # Secret: returned only by listAdminCredentials and checked by HCX sessions; tests assert it never
    # reaches Durable history, logs or events.
    password: str = field(repr=False)


@dataclass(frozen=True)
class Event:
    at: datetime
    source: str  # "arm", "hcx:source", "hcx:destination"
    kind: str
    detail: tuple[tuple[str, Any], ...]


class Stats:
    """Counters the introspection endpoint serves: requests per route, starts per VM, and so on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, Counter[str]] = {}
        self.peaks: dict[str, int] = {}

    def count(self, family: str, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters.setdefault(family, Counter())[key] += n

    def peak(self, name: str, value: int) -> None:
        """Remember the highest `value` seen for `name` (e.g. concurrent migrations per mesh)."""
        with self._lock:
            self.peaks[name] = max(self.peaks.get(name, 0), value)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "counters": {family: dict(c) for family, c in self.counters.items()},
                "peaks": dict(self.peaks),
            }


class ArmView(Protocol):
    """What the HCX simulators may ask the ARM simulator."""

    def hcx_edition(self, side: Side) -> Literal["none", "advanced", "enterprise"]: ...

    def clouds_connected(self) -> bool: ...

    def ensure_segment(self, side: Side, name: str, gateway_cidr: str, connected_gateway: str | None) -> None:
        """Make an NSX segment exist at `side` (HCX Network Extension creates the destination one)."""
        ...


class HcxView(Protocol):
    """What one HCX simulator may ask the other (or the sandbox may ask either)."""

    def certificate_pem(self) -> str: ...


def expand_vms(cloud: CloudSpec, rng: random.Random) -> list[VmSpec]:
    """The cloud's explicit VMs followed by every generator's VMs, in a stable order."""
    vms = list(cloud.vms)
    for gen in cloud.vm_generators:
        vms.extend(_generate(gen, rng))
    return vms


def _generate(gen: VmGenerator, rng: random.Random) -> Iterator[VmSpec]:
    width = max(3, len(str(gen.start_index + gen.count - 1)))
    for i in range(gen.count):
        disk = round(rng.uniform(*gen.disk_gb), 1)
        yield VmSpec(
            name=f"{gen.name_prefix}-{gen.start_index + i:0{width}d}",
            disk_gb=disk,
            used_gb=round(disk * rng.uniform(*gen.used_ratio), 1),
            cpus=rng.choice((1, 2, 2, 4, 4, 8)),
            memory_mb=rng.choice((2048, 4096, 8192, 16384)),
            power_state="off" if rng.random() < gen.powered_off_ratio else "on",
            networks=[gen.networks[i % len(gen.networks)]] if gen.networks else [],
            folder=gen.folders[i % len(gen.folders)],
            app=gen.apps[i % len(gen.apps)] if gen.apps else None,
            snapshots=1 if rng.random() < gen.snapshot_ratio else 0,
            iso_mounted=rng.random() < gen.iso_ratio,
            churn_gb_per_hour=round(rng.uniform(*gen.churn_gb_per_hour), 2),
        )


class World:
    def __init__(self, scenario: Scenario, clock: Clock | None = None) -> None:
        self.scenario = scenario
        self.clock: Clock = clock or VirtualClock(scenario.start)
        self.lock = threading.RLock()
        self.stats = Stats()
        self.events: list[Event] = []
        self.credentials: dict[Side, Credentials] = {
            side: Credentials("cloudadmin@vsphere.local", self._password(side)) for side in SIDES
        }
        self.inventory: dict[Side, list[VmSpec]] = {
            side: expand_vms(self.cloud(side), self.rng(f"inventory:{side}")) for side in SIDES
        }
        # Filled in by the Sandbox when it builds the simulators and starts their servers.
        self.arm: ArmView | None = None
        self.hcx: dict[Side, HcxView] = {}
        self.hcx_urls: dict[Side, str] = {}
        # PEM of each HCX Manager's server certificate (sandbox.core.tls), for the pairing trust step.
        self.hcx_certificates: dict[Side, str] = {}

    def cloud(self, side: Side) -> CloudSpec:
        spec: CloudSpec = getattr(self.scenario, side)
        return spec

    def now(self) -> datetime:
        return self.clock.now()

    def rng(self, stream: str) -> random.Random:
        """An independent random stream per purpose, so adding draws to one never shifts another."""
        digest = hashlib.sha256(f"{self.scenario.seed}:{stream}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def record(self, source: str, kind: str, *, at: datetime | None = None, **detail: Any) -> None:
        """Append an event; `at` backdates it to when a time-driven transition was due (a transition
        is applied lazily, on the next request, but it happened at its due time)."""
        with self.lock:
            self.events.append(Event(at or self.now(), source, kind, tuple(sorted(detail.items()))))

    def cloud_id(self, side: Side) -> str:
        """The ARM resource id of the side's private cloud."""
        cloud = self.cloud(side)
        return (
            f"/subscriptions/{self.scenario.subscription_id}/resourceGroups/{cloud.resource_group}"
            f"/providers/Microsoft.AVS/privateClouds/{cloud.name}"
        )

    def hcx_host(self, side: Side) -> str:
        """The HCX Cloud Manager's host name, shaped like AVS's (`hcx.<id>.<region>.avs.azure.com`);
        it appears in the manager's certificate SANs and in ARM endpoints before a server is bound."""
        cloud = self.cloud(side)
        tag = hashlib.sha256(self.cloud_id(side).lower().encode()).hexdigest()[:22]
        return f"hcx.{tag}.{cloud.region}.avs.azure.com"

    def minutes_since_start(self) -> float:
        """Simulated minutes since the scenario's start (fault windows are expressed in these)."""
        return (self.now() - self.scenario.start).total_seconds() / 60

    def _password(self, side: Side) -> str:
        rng = self.rng(f"password:{side}")
        alphabet = string.ascii_letters + string.digits
        # Recognisable in leak searches, and unlike anything a test would write by hand.
        return "Sbx!" + "".join(rng.choice(alphabet) for _ in range(20))
