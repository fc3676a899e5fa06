"""Local runtime benchmark: `python -m benchmarks.runtime_bench`.

Figures (each measured in this one run, on this machine):

* **fan-out of 1,000 activities** in one orchestration: wall time from the HTTP start to Completed
  (target < 10 s), episodes it took, history events replayed;
* **1,000 small orchestrations** (one activity each) started over the Durable HTTP API: wall time to
  all Completed (target < 30 s) and episodes per second;
* **replay cost per history event**: the last episode of a 200-activity chain replayed by the SDK,
  with and without the runtime's timestamp cache (`runtime/replay_cache.py`), side by side, and the
  ratio between them.

The app is defined here (no test fixtures); state lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import httpx

from runtime import LocalRuntime, VirtualClock, replay_cache
from runtime.executor import TimerSettings, build_context, run_episode
from runtime.history import EventType, dumps, new_event

__all__ = ["main", "run"]


def build_app() -> df.DFApp:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.activity_trigger(input_name="number")
    def square(number: int) -> int:
        return number * number

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        count = context.get_input()["count"]
        results = yield context.task_all([context.call_activity("square", n) for n in range(count)])
        return sum(results)

    @app.orchestration_trigger(context_name="context")
    def small(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return (yield context.call_activity("square", context.get_input()["n"]))

    @app.orchestration_trigger(context_name="context")
    def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        total = 0
        for n in range(context.get_input()["count"]):
            total += yield context.call_activity("square", n)
        return total

    return app


def _runtime(state: Path, workers: int) -> LocalRuntime:
    clock = VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), auto_advance=True)
    return LocalRuntime(build_app(), state, clock=clock, workers=workers)


def _wait_completed(rt: LocalRuntime, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        rt.wait_for_idle(timeout=max(0.0, deadline - time.monotonic()))
        pending = {i for i in pending if rt.get_status(i)["runtimeStatus"] not in ("Completed", "Failed")}
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} instance(s) not finished after {timeout} s")


def bench_fan_out(workdir: Path, count: int, workers: int) -> dict[str, Any]:
    with _runtime(workdir / "fan_out.sqlite", workers) as rt:
        started = time.perf_counter()
        response = httpx.post(f"{rt.durable_base_url}/orchestrators/fan_out/fan", json={"count": count})
        response.raise_for_status()
        _wait_completed(rt, ["fan"], timeout=600)
        elapsed = time.perf_counter() - started
        status = rt.get_status("fan")
        assert status["output"] == sum(n * n for n in range(count)), status
        return {
            "activities": count,
            "seconds": round(elapsed, 3),
            "episodes": rt.stats.episodes,
            "replayed_events": rt.stats.replayed_events,
        }


def bench_many(workdir: Path, count: int, workers: int) -> dict[str, Any]:
    with _runtime(workdir / "many.sqlite", workers) as rt:
        url = f"{rt.durable_base_url}/orchestrators/small"
        started = time.perf_counter()
        with httpx.Client() as client, ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(
                pool.map(lambda n: client.post(f"{url}/small-{n}", json={"n": n}).json()["id"], range(count))
            )
        _wait_completed(rt, ids, timeout=600)
        elapsed = time.perf_counter() - started
        return {
            "orchestrations": count,
            "seconds": round(elapsed, 3),
            "episodes": rt.stats.episodes,
            "episodes_per_second": round(rt.stats.episodes / elapsed, 1),
            "replay_seconds": round(rt.stats.replay_seconds, 3),
        }


def bench_replay(workdir: Path, length: int, repeats: int) -> dict[str, Any]:
    """Replay cost per event, timestamp cache off and on, measured on the same recorded history."""
    with _runtime(workdir / "chain.sqlite", 2) as rt:
        rt.start_new("chain", {"count": length}, instance_id="chain")
        _wait_completed(rt, ["chain"], timeout=600)
        events = rt.store.history("chain")
        handler = rt.functions.orchestrators["chain"].user_function
        row = rt.store.get_instance("chain")
        assert row is not None
    # Replay the final episode (everything but its closing events) as the runtime did.
    cut = max(
        i for i, text in enumerate(events) if json.loads(text)["EventType"] == EventType.ORCHESTRATOR_STARTED
    )
    past, fresh = events[:cut], events[cut:]
    fresh = [
        e
        for e in fresh
        if json.loads(e)["EventType"] in (EventType.ORCHESTRATOR_STARTED, EventType.TASK_COMPLETED)
    ]
    context = build_context(
        instance_id="chain",
        parent_instance_id=None,
        input_text=row.input,
        past_events=past,
        new_events=fresh or [dumps(new_event(EventType.ORCHESTRATOR_STARTED, datetime.now(UTC)))],
        timers=TimerSettings(),
    )
    replayed = len(past) + len(fresh)

    def measure() -> float:
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            result = run_episode(handler, context)
            samples.append(time.perf_counter() - began)
            assert result.state is not None
            assert result.state["isDone"], result.state
        return statistics.median(samples)

    was_installed = replay_cache.installed()
    replay_cache.uninstall()
    plain = measure()
    replay_cache.install()
    run_episode(handler, context)  # warm the cache as an earlier episode would have
    cached = measure()
    if not was_installed:
        replay_cache.uninstall()
    return {
        "history_events": replayed,
        "us_per_event_dateutil": round(plain / replayed * 1e6, 2),
        "us_per_event_cached": round(cached / replayed * 1e6, 2),
        "speedup": round(plain / cached, 2),
    }


def run(
    *, fan_out: int = 1000, many: int = 1000, chain: int = 200, workers: int = 8, repeats: int = 5
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="runtime-bench-") as tmp:
        workdir = Path(tmp)
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("fan_out", lambda: bench_fan_out(workdir, fan_out, workers)),
            ("many_small", lambda: bench_many(workdir, many, workers)),
            ("replay", lambda: bench_replay(workdir, chain, repeats)),
        ]
        return {name: step() for name, step in steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.runtime_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--fan-out", type=int, default=1000, help="activities in the fan-out (default 1000)")
    parser.add_argument("--many", type=int, default=1000, help="small orchestrations (default 1000)")
    parser.add_argument(
        "--chain", type=int, default=200, help="activities in the replayed chain (default 200)"
    )
    parser.add_argument("--workers", type=int, default=8, help="activity threads (default 8, as host.json)")
    args = parser.parse_args(argv)
    figures = run(fan_out=args.fan_out, many=args.many, chain=args.chain, workers=args.workers)
    fan, many, replay = figures["fan_out"], figures["many_small"], figures["replay"]
    print("Local runtime benchmark (one run, this machine)")
    print(
        f"  fan-out of {fan['activities']} activities: {fan['seconds']:.2f} s (target < 10 s), "
        f"{fan['episodes']} episodes, {fan['replayed_events']} events replayed"
    )
    print(
        f"  {many['orchestrations']} small orchestrations: {many['seconds']:.2f} s (target < 30 s), "
        f"{many['episodes_per_second']} episodes/s"
    )
    print(
        f"  replay cost ({replay['history_events']} events): {replay['us_per_event_dateutil']} us/event with "
        f"dateutil per event, {replay['us_per_event_cached']} us/event with the timestamp cache "
        f"({replay['speedup']}x)"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
