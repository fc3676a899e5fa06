"""Sandbox speed: the sandbox must never be the bottleneck (issue 3, Performance).

    python -m benchmarks.sandbox_bench [--seconds 5] [--concurrency 16] [--days 7] [--json]

Two figures, each printed beside its target as a ratio:

1. **HCX requests per second over TLS on loopback** (target >= 300/s). The sandbox runs standalone
   (`python -m sandbox serve`, its own process, as the app meets it); this process logs in to the
   source HCX Manager with the cloudadmin credentials from ARM `listAdminCredentials`, pins the
   manager's certificate, and keeps `--concurrency` keep-alive connections (aiohttp's client) busy
   with a mix of the read routes a migration run polls (pairings, meshes, extensions, paged VM
   inventory, migration query). The same load against an in-process sandbox (server thread and
   client sharing one interpreter, as in the test suite) is measured side by side.
2. **A simulated week of the 1,000-VM scenario's migration traffic** (target < 60 s wall). Every VM
   of `examples/scenarios/large.yaml` migrates with Bulk across both service meshes in daily waves,
   each switching over in a window the next day (so base syncs and 2-hourly delta syncs run all
   week); a virtual clock advances in five-minute steps for `--days` days while the source manager
   is queried every simulated half hour, as a polling orchestrator would.

This module depends on the sandbox, aiohttp, httpx and the clock; it binds loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from runtime.clock import VirtualClock
from sandbox.core import tls
from sandbox.core.scenario import VmSpec, load_scenario
from sandbox.core.world import Side
from sandbox.hcx.ids import endpoint_id
from sandbox.sandbox import Sandbox

__all__ = ["RequestFigures", "WeekFigures", "main", "measure_requests", "measure_week"]

ROOT = Path(__file__).resolve().parents[1]
SAME_REGION = ROOT / "examples" / "scenarios" / "same-region.yaml"
LARGE = ROOT / "examples" / "scenarios" / "large.yaml"
TARGET_RPS = 300.0
TARGET_WEEK_SECONDS = 60.0
API = "/hybridity/api"
# (method, path, body): what a running migration polls.
MIX: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("GET", f"{API}/cloudConfigs", None),
    ("GET", f"{API}/interconnect/serviceMesh", None),
    ("GET", f"{API}/l2Extensions", None),
    (
        "POST",
        f"{API}/service/inventory/virtualmachines",
        {"filter": {}, "paging": {"skipCount": 0, "pageSize": 50}},
    ),
    (
        "POST",
        f"{API}/migrations?action=query",
        {"filter": {}, "options": {"compat": "2.1"}, "paging": {"pageSize": 50}},
    ),
)


@dataclass
class RequestFigures:
    where: str
    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float


@dataclass
class WeekFigures:
    vms: int
    started: int
    completed: int
    simulated_days: float
    steps: int
    queries: int
    wall_seconds: float
    terabytes_moved: float
    # Simulated hours from the start to the last completion.
    makespan_hours: float | None


async def _load(
    base_url: str, pem: str, token: str, seconds: float, concurrency: int
) -> tuple[int, int, list[float]]:
    """Keep `concurrency` keep-alive TLS connections busy with MIX for `seconds`.

    The load generator is aiohttp's client: httpx's async client spends about a core on ~400
    requests/s on this machine, so it would measure itself rather than the sandbox.
    """
    context = tls.client_ssl_context(pem)
    headers = {"x-hm-authorization": token, "Accept": "application/json"}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(ssl=context, limit=concurrency)
    async with aiohttp.ClientSession(base_url=base_url, headers=headers, connector=connector) as session:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < deadline:
                method, path, body = MIX[i % len(MIX)]
                i += 1
                began = time.perf_counter()
                async with session.request(method, path, json=body) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - began)

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return len(latencies), errors, latencies


def _login(hcx_url: str, pem: str, username: str, password: str) -> str:
    with httpx.Client(verify=tls.client_ssl_context(pem), timeout=30) as client:
        response = client.post(f"{hcx_url}{API}/sessions", json={"username": username, "password": password})
        response.raise_for_status()
        return response.headers["x-hm-authorization"]


def _figures(where: str, count: int, errors: int, latencies: list[float], seconds: float) -> RequestFigures:
    ordered = sorted(latencies) or [0.0]
    return RequestFigures(
        where=where,
        requests=count,
        errors=errors,
        seconds=round(seconds, 2),
        per_second=round(count / seconds, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p95_ms=round(ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0] * 1000, 2),
    )


def measure_requests_standalone(seconds: float, concurrency: int) -> RequestFigures:
    """Load a `python -m sandbox serve` process from this one, through ARM for the credentials."""
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as state:
        command = [sys.executable, "-m", "sandbox", "serve", str(SAME_REGION), "--clock", "virtual"]
        command += ["--state-dir", state]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("ready"):
                    break
            described = json.loads((Path(state) / "sandbox.json").read_text())
            settings = dict(
                line.split("=", 1)
                for line in (Path(state) / "app.env").read_text().splitlines()
                if "=" in line
            )
            source = described["clouds"]["source"]
            arm = httpx.post(
                f"{described['arm_endpoint']}{source['resource_id'].lstrip('/')}/listAdminCredentials",
                params={"api-version": "2026-03-01"},
                headers={"Authorization": f"Bearer {settings['AVS_STATIC_TOKEN']}"},
                verify=ssl.create_default_context(cafile=described["ca_path"]),
                timeout=30,
            )
            arm.raise_for_status()
            creds = arm.json()
            pem = (Path(state) / "hcx-source.pem").read_text()
            if tls.fingerprint(pem) != source["hcx_fingerprint_sha256"]:
                raise RuntimeError("the served HCX Manager is not the one the sandbox described")
            token = _login(source["hcx_url"], pem, creds["vcenterUsername"], creds["vcenterPassword"])
            began = time.perf_counter()
            count, errors, latencies = asyncio.run(_load(source["hcx_url"], pem, token, seconds, concurrency))
            return _figures("standalone server", count, errors, latencies, time.perf_counter() - began)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def measure_requests(seconds: float, concurrency: int) -> RequestFigures:
    """The same load against a sandbox in this process (server thread and client share the GIL)."""
    scenario = load_scenario(SAME_REGION)
    with Sandbox(scenario, clock=VirtualClock(scenario.start)) as sb:
        side: Side = "source"
        creds = sb.world.credentials[side]
        pem = sb.hcx_certificate_pem(side)
        token = _login(sb.hcx_url(side), pem, creds.username, creds.password)
        began = time.perf_counter()
        count, errors, latencies = asyncio.run(_load(sb.hcx_url(side), pem, token, seconds, concurrency))
        return _figures("in-process server", count, errors, latencies, time.perf_counter() - began)


def _items(sb: Sandbox, vms: list[VmSpec], window: datetime) -> list[dict[str, Any]]:
    """Bulk migration items for `vms`, alternating meshes, switching over in a 12-hour window."""
    source = sb.hcx["source"]
    schedule = {
        "startTime": int(window.timestamp() * 1000),
        "expiryTime": int((window + timedelta(hours=12)).timestamp() * 1000),
    }
    destination = endpoint_id(sb.world, "destination")
    meshes = [m.name for m in sb.scenario.service_meshes]
    items = []
    for i, vm in enumerate(vms):
        record = source.vm_by_name(vm.name)
        assert record is not None
        items.append(
            {
                "migrationType": "vSphereReplication",
                "entity": {"entityId": record.vm_id, "entityName": vm.name, "entityType": "VirtualMachine"},
                "source": {"endpointId": source.endpoint_id, "endpointType": "VC"},
                "destination": {"endpointId": destination, "endpointType": "VC"},
                "serviceMeshId": meshes[i % len(meshes)],
                "transferParams": {
                    "transferType": "vSphereReplication",
                    "transferProfile": [
                        {"option": "removeSnapshots", "value": True},
                        {"option": "removeISOs", "value": True},
                    ],
                    "schedule": {},
                },
                "switchoverParams": {"schedule": schedule},
                "networkParams": {
                    "networkMappings": [
                        {"srcNetworkName": n, "destNetworkName": f"L2E_{n}"} for n in vm.networks
                    ]
                },
            }
        )
    return items


def measure_week(
    days: float = 7.0, step_minutes: float = 5.0, query_every_minutes: float = 30.0
) -> WeekFigures:
    """Migrate the large scenario in daily waves while a virtual clock runs through `days` days.

    Wave k (one per day, all but the last day) starts at day k and switches over in a window opening
    at day k + 1, so each wave replicates and runs 2-hourly delta syncs while the previous one
    switches over, within HCX's 300-per-manager limit, as an operator's plan would have it.
    """
    scenario = load_scenario(LARGE)
    clock = VirtualClock(scenario.start)
    sb = Sandbox(scenario, clock=clock)  # backends only: the week is about the engine, not HTTP
    for network in scenario.source.networks:
        # What Network Extension would have created at the destination before the migrations.
        sb.arm.ensure_segment(
            "destination", f"L2E_{network.name}", network.gateway_cidr or "10.0.0.1/24", None
        )
    source = sb.hcx["source"]
    inventory = sb.world.inventory["source"]
    waves = max(1, int(days) - 1)
    per_wave = -(-len(inventory) // waves)
    steps_per_day = int(24 * 60 / step_minutes)
    steps = int(days * steps_per_day)
    every = max(1, int(query_every_minutes / step_minutes))
    started = queries = 0
    began = time.perf_counter()
    for step in range(steps + 1):
        if step % steps_per_day == 0 and step // steps_per_day < waves:
            wave = step // steps_per_day
            window = clock.now() + timedelta(days=1)
            chunk = inventory[wave * per_wave : (wave + 1) * per_wave]
            results = source.start_migrations({"items": _items(sb, chunk, window)}, "bench")
            started += sum(1 for r in results if r.migration is not None)
        if step == steps:
            break
        clock.advance(timedelta(minutes=step_minutes))
        if (step + 1) % every == 0:
            source.query_migrations(
                {"filter": {}, "options": {"compat": "2.1"}, "paging": {"pageSize": 1000}}
            )
            queries += 1
    wall = time.perf_counter() - began
    state = source.introspect()
    completed = sum(1 for m in state["migrations"] if m["state"] == "MIGRATION_COMPLETE")
    moved = sum(float(m.get("bytesTransferred") or 0) for m in state["migrations"])
    finished = [datetime.fromisoformat(m["completed"]) for m in state["migrations"] if m.get("completed")]
    makespan = (max(finished) - scenario.start).total_seconds() / 3600 if finished else None
    return WeekFigures(
        vms=len(inventory),
        started=started,
        completed=completed,
        simulated_days=days,
        steps=steps,
        queries=queries,
        wall_seconds=round(wall, 2),
        terabytes_moved=round(moved / 1e12, 2),
        makespan_hours=round(makespan, 1) if makespan is not None else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sandbox_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each request-rate run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--days", type=float, default=7.0, help="simulated days of migration traffic")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    standalone = measure_requests_standalone(args.seconds, args.concurrency)
    in_process = measure_requests(args.seconds, args.concurrency)
    week = measure_week(args.days)
    if args.json:
        print(
            json.dumps({"requests": [asdict(standalone), asdict(in_process)], "week": asdict(week)}, indent=2)
        )
        return 0
    print("HCX requests over TLS on loopback (target >= 300/s)")
    for fig in (standalone, in_process):
        print(
            f"  {fig.where:<18} {fig.per_second:>8.1f}/s  ({fig.per_second / TARGET_RPS:.1f}x target)  "
            f"{fig.requests} requests, {fig.errors} errors, p50 {fig.p50_ms} ms, p95 {fig.p95_ms} ms"
        )
    print(f"1,000-VM scenario, {week.simulated_days:g} simulated days (target < 60 s wall)")
    print(
        f"  {week.wall_seconds:.1f} s wall  "
        f"({TARGET_WEEK_SECONDS / max(week.wall_seconds, 1e-9):.1f}x under target)  "
        f"{week.started}/{week.vms} started, {week.completed} completed, {week.terabytes_moved} TB moved, "
        f"{week.steps} clock steps, {week.queries} queries; last switchover "
        f"{week.makespan_hours} simulated hours after the first start"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
