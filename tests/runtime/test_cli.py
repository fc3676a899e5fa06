"""`python -m runtime start`: flags, start-up banner, clean shutdown, settings and clocks."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from runtime import AcceleratedClock, ConfigError
from runtime.settings import HostConfig, apply_settings, clock_from_flag, clock_from_url, load_local_settings
from sandbox.core.tls import SandboxCA, server_ssl_context
from tests import fixtures
from tests.fixtures import REPO

FLAGS = [
    "--app",
    "--host",
    "--port",
    "--state",
    "--settings",
    "--clock",
    "--clock-from",
    "--clock-ca",
    "--workers",
    "--max-body-bytes",
]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_help_documents_every_flag() -> None:
    result = run_cli("start", "--help")
    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout


def test_an_unknown_app_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = run_cli(
        "start", "--app", "no_such_module:app", "--state", str(tmp_path / "s.sqlite"), "--port", "0"
    )
    assert result.returncode == 2
    assert "cannot import no_such_module" in result.stderr


def test_start_prints_routes_and_durable_endpoints_and_stops_on_sigterm(tmp_path: Path) -> None:
    process, base, banner = fixtures.start_runtime(
        *("--app", "tests.apps.triggers_app:build_app", "--state", str(tmp_path / "s.sqlite")),
        *("--port", "0", "--clock", "accelerated:60"),
    )
    try:
        text = "".join(banner)
        assert base is not None, text
        assert f"item_by_number: [GET] {base}/api/items/{{id:int}}" in text
        assert f"{base}/runtime/webhooks/durabletask/instances/{{instanceId}}" in text
        assert f"on_event: eventGridTrigger {base}/runtime/webhooks/eventgrid?functionName=on_event" in text
        assert "keys are not checked" in text
        assert "AcceleratedClock" in text
        assert httpx.get(f"{base}/api/items/7").json() == {"id": 7, "kind": "number"}
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Stopped." in rest


def test_local_settings_do_not_override_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "from file", "B": "from file"}}))
    environ = {"A": "from env"}
    skipped = apply_settings(load_local_settings(path), environ, override=False)
    assert environ == {"A": "from env", "B": "from file"}
    assert skipped == ["A"]


def test_local_settings_without_values_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text("[]")
    with pytest.raises(ConfigError, match="Values"):
        load_local_settings(path)


def test_host_json_settings_are_read_and_bad_values_name_the_field() -> None:
    config = HostConfig.from_dict(
        {
            "extensions": {
                "http": {"routePrefix": ""},
                "durableTask": {"hubName": "Hub", "maxConcurrentActivityFunctions": 3},
                "queues": {"maxDequeueCount": 2, "visibilityTimeout": "00:00:05", "messageEncoding": "none"},
            }
        }
    )
    assert (config.route_prefix, config.hub_name, config.max_activity_functions) == ("", "Hub", 3)
    assert config.queues.max_dequeue_count == 2
    assert config.queues.visibility_timeout.total_seconds() == 5
    with pytest.raises(ConfigError, match="visibilityTimeout"):
        HostConfig.from_dict({"extensions": {"queues": {"visibilityTimeout": "soon"}}})
    with pytest.raises(ConfigError, match="maxConcurrentActivityFunctions"):
        HostConfig.from_dict({"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}})


def test_clock_flags() -> None:
    assert type(clock_from_flag("wall")).__name__ == "WallClock"
    accelerated = clock_from_flag("accelerated:120")
    assert isinstance(accelerated, AcceleratedClock)
    assert accelerated.factor == 120
    with pytest.raises(ConfigError, match="--clock"):
        clock_from_flag("sundial")
    with pytest.raises(ConfigError, match="factor"):
        clock_from_flag("accelerated:-1")


@pytest.fixture
def tls_clock_server(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, object]]]:
    """An HTTPS server (sandbox CA) serving a clock spec at /_sandbox/clock."""
    ca = SandboxCA(seed=11)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(ca.certificate.pem)
    spec = AcceleratedClock(datetime(2026, 3, 1, tzinfo=UTC), 240.0, wall_origin=1_800_000_000.0).spec()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def clock(request: web.Request) -> web.Response:
        return web.json_response(spec)

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/_sandbox/clock", clock)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(ca.issue("localhost", [])))
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]
        started.set()

    thread = threading.Thread(
        target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True
    )
    thread.start()
    started.wait(10)
    yield f"https://127.0.0.1:{holder['port']}/_sandbox/clock", ca_file, spec
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_clock_from_url_rebuilds_the_sandbox_clock_over_verified_tls(
    tls_clock_server: tuple[str, Path, dict[str, object]],
) -> None:
    url, ca_file, spec = tls_clock_server
    clock = clock_from_url(url, str(ca_file))
    assert isinstance(clock, AcceleratedClock)
    assert clock.spec() == spec


def test_clock_from_url_refuses_an_untrusted_certificate(
    tls_clock_server: tuple[str, Path, dict[str, object]],
) -> None:
    url, _, _ = tls_clock_server
    with pytest.raises(ConfigError, match="--clock-from"):
        clock_from_url(url)
