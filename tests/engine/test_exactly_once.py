"""Exactly one HCX migration per VM attempt, even when the runtime is killed while it starts them.

The runtime runs in a subprocess (`python -m runtime start`) on the sandbox's accelerated clock
(`--clock-from .../_sandbox/clock`); the sandbox runs in this process. Its start operation answers
late on purpose: HCX has started the migrations, the answer is still on its way, and that is when the
test sends SIGKILL. The restarted runtime runs the interrupted start activities again (activities are
at least once); they find the migrations by their attempt tags and must not start a second one. The
sandbox's per-VM start counters are the proof.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.clock import AcceleratedClock
from sandbox import Sandbox
from tests import fixtures
from tests.engine import world

pytestmark = pytest.mark.slow

FACTOR = 300.0  # simulated seconds per wall second
SLOW_ANSWER = 1.5  # wall seconds the start answer is held back
KILLS = 2
VMS = ["web-01", "web-02", "web-03", "web-04", "app-01", "app-02", "db-01", "db-02"]
SEGMENTS = [
    {"name": f"seg-{net}", "gateway_cidr": f"10.50.{k}.1/24", "connected_gateway": "TNT21-T1"}
    for k, net in enumerate(("web", "app", "db"), start=1)
]


class SlowStarts:
    """Wraps the source HCX backend's start: HCX starts the migrations, then answers late."""

    def __init__(self, sandbox: Sandbox) -> None:
        backend = sandbox.hcx["source"]
        self.original = backend.start_migrations
        self.started = threading.Event()
        self.calls = 0
        backend.start_migrations = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.original(*args, **kwargs)
        self.calls += 1
        self.started.set()
        time.sleep(SLOW_ANSWER)
        return result


def start_runtime(tmp_path: Path, sandbox: Sandbox) -> tuple[subprocess.Popen[str], str, list[str]]:
    return fixtures.start_runtime(
        *("--app", "function_app:app", "--state", str(tmp_path / "state.sqlite")),
        *("--settings", str(tmp_path / "local.settings.json"), "--port", "0", "--workers", "3"),
        *("--clock-from", f"{sandbox.arm_url}_sandbox/clock", "--clock-ca", sandbox.ca_path),
        env={k: v for k, v in os.environ.items() if not k.startswith(("AVS_", "HCX_"))},
        drain=True,
    )


def test_killing_the_runtime_during_starts_never_starts_a_vm_twice(tmp_path: Path) -> None:
    scenario = world.scenario(destination={"segments": SEGMENTS})
    clock = AcceleratedClock(scenario.start, FACTOR)
    with Sandbox(scenario, clock=clock) as sandbox:
        slow = SlowStarts(sandbox)
        plan = world.plan_for(
            sandbox,
            [{"name": "all", "vms": VMS}],
            network_extensions=[],
            destination_networks=[s["name"] for s in SEGMENTS],
            migration={
                "type": "bulk",
                "network_mappings": [{"source": n, "destination": f"seg-{n}"} for n in ("web", "app", "db")],
            },
            limits={"max_concurrent_migrations": 4},
        )
        prepared = world.prepare(sandbox, plan, clock)  # type: ignore[arg-type]
        (tmp_path / "local.settings.json").write_text(json.dumps({"Values": sandbox.app_settings()}))
        wave = {
            "plan": plan.model_dump(mode="json"),
            "prepared": prepared.for_wave(0).model_dump(mode="json"),
            "wave": 0,
            "run": "crash1",
            "tuning": {"start_batch": 2},
        }
        instance = "mig-engine-test:wave-01"
        process, base, output = start_runtime(tmp_path, sandbox)
        outputs = [output]
        try:
            api = f"{base}/runtime/webhooks/durabletask"
            assert httpx.post(f"{api}/orchestrators/migrate_wave/{instance}", json=wave).status_code == 202
            for _ in range(KILLS):
                assert slow.started.wait(60), "no start call came"
                process.send_signal(signal.SIGKILL)  # HCX has started them; the answer is not back yet
                process.wait(timeout=10)
                slow.started.clear()
                process, base, output = start_runtime(tmp_path, sandbox)
                outputs.append(output)
            api = f"{base}/runtime/webhooks/durabletask"
            deadline = time.monotonic() + 120
            while True:
                status = httpx.get(f"{api}/instances/{instance}").json()
                if status["runtimeStatus"] in ("Completed", "Failed"):
                    break
                assert time.monotonic() < deadline, status.get("customStatus", {}).get("counts")
                time.sleep(0.3)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"]["outcome"] == "completed"
        starts = sandbox.stats()["migration_starts"]
        assert starts == dict.fromkeys(VMS, 1), starts
        migrations = sandbox.hcx["source"].introspect()["migrations"]
        assert sorted(m["vm"] for m in migrations) == sorted(VMS)
        assert all(m["state"] == "MIGRATION_COMPLETE" for m in migrations)
        # The restarted runtimes ran the interrupted starts again and found what HCX had started.
        text = "".join("".join(o) for o in outputs[1:])
        assert text.count("already started, not starting again") >= 2, text[-4000:]
        assert slow.calls >= KILLS
