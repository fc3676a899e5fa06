"""The Sandbox: one world, the ARM simulator and two HCX Manager simulators, served over verified TLS.

    with Sandbox(load_scenario("examples/scenarios/same-region.yaml"), clock=VirtualClock()) as sb:
        client = AVSClient(StaticToken(sb.token), sb.subscription_id, base_url=sb.arm_url,
                           connection_verify=sb.ca_path)

Building a `Sandbox` builds the backends (usable directly in unit tests, no network); `start()` puts
them on HTTPS on 127.0.0.1 with ephemeral ports, all on one background thread, and `stop()` removes
that thread and any temporary files. ARM's certificate is issued by the sandbox CA (`ca_path`); each
HCX Manager's is self-signed unless the scenario says `certificate: sandbox-ca`, so site pairing has
to go through the certificate-trust step. Transport faults and request counting sit in front of every
server as middlewares; introspection routes live on the ARM server under `/_sandbox/`.
This module depends on the sandbox packages, aiohttp and the clock.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from runtime.clock import Clock
from sandbox.avs import ArmBackend
from sandbox.avs import create_app as create_arm_app
from sandbox.core.faults import FaultPlan, clock_middleware, counting_middleware, fault_middleware
from sandbox.core.introspection import introspection_routes, stats_snapshot
from sandbox.core.scenario import Scenario
from sandbox.core.server import ServerThread
from sandbox.core.tls import Certificate, SandboxCA, self_signed, server_ssl_context
from sandbox.core.world import SIDES, Side, World
from sandbox.hcx import HcxBackend
from sandbox.hcx import create_app as create_hcx_app

__all__ = ["ARM_HOST", "Sandbox", "SandboxNotStarted"]

# The name in the ARM server certificate besides 127.0.0.1 and localhost.
ARM_HOST = "management.sandbox.local"


class SandboxNotStarted(RuntimeError):
    """An address was asked for before `start()` (or after `stop()`)."""


class Sandbox:
    def __init__(
        self,
        scenario: Scenario,
        *,
        clock: Clock | None = None,
        state_dir: Path | None = None,
        arm_page_size: int = 50,
    ) -> None:
        self.scenario = scenario
        self.world = World(scenario, clock)
        self.subscription_id = scenario.subscription_id
        # Sandbox-only, loopback-only, derived from the seed so two runs of a scenario agree.
        self.token = "sbx-" + hashlib.sha256(f"{scenario.seed}:arm-token".encode()).hexdigest()[:40]
        self.ca = SandboxCA(scenario.seed)
        self._arm_cert = self.ca.issue(ARM_HOST, [ARM_HOST])
        self._hcx_certs: dict[Side, Certificate] = {side: self._hcx_certificate(side) for side in SIDES}
        self.world.hcx_certificates.update({side: cert.pem for side, cert in self._hcx_certs.items()})
        self.arm = ArmBackend(self.world)
        self.world.arm = self.arm
        self.hcx: dict[Side, HcxBackend] = {side: HcxBackend(self.world, side) for side in SIDES}
        self.world.hcx.update(self.hcx)
        self.faults = FaultPlan.from_scenario(self.world)
        self._arm_page_size = arm_page_size
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server = ServerThread()
        self._arm_port: int | None = None
        self._hcx_ports: dict[Side, int] = {}
        self._ca_path: Path | None = None

    def _hcx_certificate(self, side: Side) -> Certificate:
        host = self.world.hcx_host(side)
        if self.world.cloud(side).hcx.certificate == "sandbox-ca":
            return self.ca.issue(host, [host])
        return self_signed(host, [host], seed=f"{self.scenario.seed}:{side}")

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._arm_port is not None:
            return self
        directory = self._state_directory()
        self._ca_path = directory / "ca.pem"
        self._ca_path.write_text(self.ca.certificate.pem)
        for side in SIDES:
            (directory / f"hcx-{side}.pem").write_text(self._hcx_certs[side].pem)
        self._server.start()
        try:
            for side in SIDES:
                server = f"hcx:{side}"
                app = create_hcx_app(self.hcx[side], self._middlewares(server))
                self._hcx_ports[side] = self._server.serve(app, server_ssl_context(self._hcx_certs[side]))
                # Set before ARM serves anything: endpoints.hcxCloudManager renders from it.
                self.world.hcx_urls[side] = f"https://127.0.0.1:{self._hcx_ports[side]}"
            arm = create_arm_app(
                self.arm, self._middlewares("arm"), token=self.token, page_size=self._arm_page_size
            )
            arm.add_routes(introspection_routes(self.world, self.hcx))
            self._arm_port = self._server.serve(arm, server_ssl_context(self._arm_cert))
        except BaseException:
            self.stop()
            raise
        (directory / "sandbox.json").write_text(json.dumps(self.describe(), indent=2) + "\n")
        return self

    def stop(self) -> None:
        self._server.stop()
        self._arm_port = None
        self._hcx_ports.clear()
        self.world.hcx_urls.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._ca_path = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _state_directory(self) -> Path:
        if self._state_dir is not None:
            self._state_dir.mkdir(parents=True, exist_ok=True)
            return self._state_dir
        self._tmp = tempfile.TemporaryDirectory(prefix="hcx-sandbox-")
        return Path(self._tmp.name)

    def _middlewares(self, server: str) -> list[Any]:
        # Counting outermost, so a request answered by a fault is still counted; every answer, faults
        # included, carries the simulated time in `Date`.
        return [
            counting_middleware(self.world, server),
            clock_middleware(self.world),
            fault_middleware(self.world, self.faults, server),
        ]

    # -- addresses ---------------------------------------------------------------------------------

    def _require_started(self) -> int:
        if self._arm_port is None:
            raise SandboxNotStarted("the sandbox is not running; call start() or use it as a context manager")
        return self._arm_port

    @property
    def arm_url(self) -> str:
        return f"https://127.0.0.1:{self._require_started()}/"

    @property
    def ca_path(self) -> str:
        self._require_started()
        assert self._ca_path is not None
        return str(self._ca_path)

    @property
    def state_dir(self) -> str:
        return str(Path(self.ca_path).parent)

    def hcx_url(self, side: Side) -> str:
        self._require_started()
        return f"https://127.0.0.1:{self._hcx_ports[side]}"

    def hcx_fingerprint(self, side: Side) -> str:
        return self._hcx_certs[side].fingerprint_sha256

    def hcx_certificate_pem(self, side: Side) -> str:
        return self._hcx_certs[side].pem

    def cloud_id(self, side: Side) -> str:
        return self.world.cloud_id(side)

    def app_settings(self) -> dict[str, str]:
        """Settings that point the app at this sandbox (docs/architecture.md, App settings)."""
        return {
            "AVS_ARM_ENDPOINT": self.arm_url,
            "AVS_CA_BUNDLE": self.ca_path,
            "AVS_STATIC_TOKEN": self.token,
            # Trusts HCX Managers whose certificate the sandbox CA issued; self-signed ones are
            # trusted by their pinned fingerprint (hcx_fingerprint) instead.
            "HCX_CA_BUNDLE": self.ca_path,
        }

    def stats(self) -> dict[str, Any]:
        """The same JSON as `GET {arm_url}_sandbox/stats`."""
        return stats_snapshot(self.world)

    def describe(self) -> dict[str, Any]:
        """Everything `python -m sandbox serve` prints, as JSON (no secrets)."""
        return {
            "scenario": self.scenario.name,
            "seed": self.scenario.seed,
            "clock": self.world.clock.spec(),
            "arm_endpoint": self.arm_url,
            "subscription_id": self.subscription_id,
            "tenant_id": self.scenario.tenant_id,
            "ca_path": self.ca_path,
            "clouds": {
                side: {
                    "resource_id": self.cloud_id(side),
                    "resource_group": self.world.cloud(side).resource_group,
                    "name": self.world.cloud(side).name,
                    "region": self.world.cloud(side).region,
                    "generation": self.world.cloud(side).generation,
                    "hcx_url": self.hcx_url(side),
                    "hcx_fingerprint_sha256": self.hcx_fingerprint(side),
                    "hcx_certificate": self.world.cloud(side).hcx.certificate,
                }
                for side in SIDES
            },
            "introspection": self.arm_url + "_sandbox/stats",
        }
