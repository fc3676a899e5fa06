"""Wave engine benchmark: `python -m benchmarks.engine_bench [cross-region] [large]`.

Each scenario runs the whole app the way an operator does: the plan is POSTed to function_app.py on
the local runtime, against the in-process sandbox, both on one virtual clock that jumps to the next
durable timer whenever the runtime is idle; the migration runs preparation, every wave, the network
cutover and the report. Figures, per scenario:

* **HCX requests the engine made**: every request both HCX Managers answered during the run (the
  sandbox counts them per route), the progress queries among them, the wave polls, and so the
  queries per poll (1.0: one query per poll for the whole wave) and all HCX requests per poll;
* **the largest history** of any orchestration instance (events handed to the SDK in one episode,
  over every generation of every instance) and which instance it was;
* VMs migrated and started once, wall time, simulated time, replay time, and whether the report's
  figures match the sandbox's own record of what moved.

Scenarios: `cross-region` (examples/scenarios/cross-region.yaml with examples/plans/cross-region.yaml,
about 200 VMs in five waves) and `large` (examples/scenarios/large.yaml, 1,000 VMs, two meshes; the
plan below moves them in two waves of 500, extends all 20 networks and cuts three over).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from runtime import LocalRuntime, VirtualClock
from sandbox import Sandbox, load_scenario
from shared.report import MigrationReport

__all__ = ["main", "run"]

REPO = Path(__file__).resolve().parents[1]
HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "http": {"routePrefix": "api"},
        "durableTask": {"hubName": "HcxConductor", "maxConcurrentActivityFunctions": 4},
    },
}
QUERY_ROUTE = "POST /hybridity/api/migrations"


def large_plan(sandbox: Sandbox) -> dict[str, Any]:
    networks = [f"net-{k:02d}" for k in range(1, 21)]
    return {
        "id": "large-1000",
        "source": sandbox.cloud_id("source"),
        "destination": sandbox.cloud_id("destination"),
        "hcx": {"trusted_fingerprints": [sandbox.hcx_fingerprint(s) for s in ("source", "destination")]},
        "network_extensions": [
            {"source_network": net, "gateway_cidr": f"10.20.{k}.1/24", "destination_gateway": "TNT41-T1"}
            for k, net in enumerate(networks, start=1)
        ],
        "migration": {"type": "bulk"},
        "waves": [
            {"name": "first-half", "selection": {"name_patterns": ["vm-0[0-4]*"]}},
            {"name": "second-half", "selection": {"name_patterns": ["vm-0[5-9]*", "vm-1*"]}},
        ],
        "network_cutover": {"networks": networks[:3]},
    }


@dataclass
class Result:
    scenario: str
    vms: int
    migrated: int
    started_once: bool
    wall_s: float
    simulated: str
    polls: int
    queries: int
    hcx_requests: int
    by_route: dict[str, int]
    max_history: int
    max_history_instance: str
    episodes: int
    replay_s: float
    report_matches: bool
    phase: str

    def lines(self) -> list[str]:
        routes = ", ".join(f"{k} {v}" for k, v in sorted(self.by_route.items(), key=lambda kv: -kv[1]))
        return [
            f"{self.scenario}: {self.migrated}/{self.vms} VMs migrated ({self.phase}), each started once: "
            f"{self.started_once}; report matches the sandbox: {self.report_matches}",
            f"  wall {self.wall_s:.1f} s for {self.simulated} simulated; {self.episodes} episodes, "
            f"replay {self.replay_s:.1f} s",
            f"  HCX requests: {self.hcx_requests} in all; wave polls {self.polls}, progress queries "
            f"{self.queries} = {self.queries / max(1, self.polls):.2f} per poll (start calls add one tag "
            f"lookup each); {self.hcx_requests / max(1, self.polls):.1f} HCX requests per poll",
            f"  largest history: {self.max_history} events ({self.max_history_instance})",
            f"  by route: {routes}",
        ]


def _finished(base: str, plan_id: str, runtime: LocalRuntime, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        runtime.wait_for_idle(timeout=timeout)
        answer = httpx.get(f"{base}/api/migrations/{plan_id}", timeout=120)
        if answer.status_code == 200:
            return dict(answer.json())
        if time.monotonic() > deadline:
            raise TimeoutError(f"{plan_id} still running: {answer.text[:500]}")
        time.sleep(0.05)


def run(name: str, timeout: float = 3600.0) -> Result:
    import function_app
    from activities import _clients

    scenario = load_scenario(REPO / "examples" / "scenarios" / f"{name}.yaml")
    clock = VirtualClock(scenario.start, auto_advance=True)
    _clients.cache.clear()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(scenario, clock=clock) as sandbox:
        reports = Path(tmp) / "reports"
        if name == "large":
            body = json.dumps(large_plan(sandbox)).encode()
            content_type = "application/json"
        else:
            body = (REPO / "examples" / "plans" / f"{name}.yaml").read_bytes()
            content_type = "application/yaml"
        plan_id = str(yaml.safe_load(body)["id"])
        settings = {**sandbox.app_settings(), "REPORT_DIR": str(reports)}
        saved = dict(os.environ)
        try:
            with LocalRuntime(
                function_app.app,
                Path(tmp) / "state.sqlite",
                clock=clock,
                settings=settings,
                workers=4,
                host_json=HOST_JSON,
            ) as runtime:
                started = time.perf_counter()
                base = runtime.base_url
                answer = httpx.post(
                    f"{base}/api/migrations",
                    content=body,
                    headers={"Content-Type": content_type},
                    timeout=120,
                )
                answer.raise_for_status()
                view = _finished(base, plan_id, runtime, timeout)
                wall = time.perf_counter() - started
                stats = runtime.stats
                polls = 0
                for wave in view.get("waves") or []:
                    instance = wave.get("instance")
                    if instance:
                        polls += int(runtime.get_status(instance)["customStatus"].get("polls") or 0)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            _clients.cache.clear()
        requests: Counter[str] = Counter()
        for server, routes in sandbox.stats()["requests"].items():
            if server.startswith("hcx"):
                requests.update(routes)
        records = sandbox.hcx["source"].introspect()["migrations"]
        starts = sandbox.stats()["migration_starts"]
        locations = (view.get("result") or {}).get("report", {}).get("locations", [])
        report_json = next((p for p in locations if p.endswith("report.json")), None)
        matches = False
        if report_json is not None:
            report = MigrationReport.model_validate_json(Path(report_json).read_text())
            by_vm: dict[str, list[str]] = {}
            for r in sorted(records, key=lambda r: r["attempt"]):
                by_vm.setdefault(r["vm"], []).append(r["id"])
            matches = {
                vm.name: vm.hcx_migration_ids for vm in report.vms if vm.hcx_migration_ids
            } == by_vm and (report.totals.bytes_transferred == sum(r["bytesTransferred"] for r in records))
        migrated = sum(int((w.get("counts") or {}).get("migrated", 0)) for w in view.get("waves") or [])
        vms = sum(
            int(w.get("vm_count") or sum((w.get("counts") or {}).values())) for w in view.get("waves") or []
        )
        return Result(
            scenario=name,
            vms=vms,
            migrated=migrated,
            started_once=bool(starts) and set(starts.values()) == {1},
            wall_s=wall,
            simulated=str(clock.now() - scenario.start),
            polls=polls,
            queries=requests.get(QUERY_ROUTE, 0),
            hcx_requests=sum(requests.values()),
            by_route=dict(requests),
            max_history=stats.max_history,
            max_history_instance=stats.max_history_instance,
            episodes=stats.episodes,
            replay_s=stats.replay_seconds,
            report_matches=matches,
            phase=str(view.get("phase")),
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_bench", description=__doc__)
    known = ["cross-region", "large"]
    # Checked by hand: Python 3.11's argparse tests an empty `nargs="*"` against `choices` as a value.
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(known)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in known]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    status = 0
    for name in args.scenarios or known:
        result = run(name)
        for line in result.lines():
            print(line, flush=True)
        if result.max_history > 1000 or not result.started_once or not result.report_matches:
            status = 1
    return status


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
