"""shared/telemetry.py: dimensions on log records and spans, and the Azure Monitor pipeline end to end.

The end-to-end test runs the real distro in a child process (it installs process-global providers)
against a loopback HTTP server that stands in for the Application Insights ingestion endpoint, and
reads the envelopes the exporter really sends.
"""

from __future__ import annotations

import ast
import asyncio
import gzip
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import shared.telemetry as telemetry
from shared.telemetry import (
    DimensionFilter,
    DimensionSpanProcessor,
    attach_dimension_filter,
    configure_telemetry,
    current_dimensions,
    telemetry_context,
)

REPO = Path(__file__).resolve().parents[2]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[_Capture]:
    """A handler on the root logger, where the distro puts its own; removed (with its filter) after."""
    handler = _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def _log(message: str, **extra: Any) -> None:
    logging.getLogger("tests.infra.telemetry").info(message, extra=extra or None)


def _dims(record: logging.LogRecord) -> dict[str, str]:
    return {name: getattr(record, name) for name in ("migration_id", "wave", "vm") if hasattr(record, name)}


def test_the_package_lists_its_surface() -> None:
    assert set(telemetry.__all__) == {
        "CONNECTION_STRING_SETTING",
        "DIMENSIONS",
        "DimensionFilter",
        "DimensionSpanProcessor",
        "attach_dimension_filter",
        "configure_telemetry",
        "current_dimensions",
        "telemetry_context",
    }
    assert all(hasattr(telemetry, name) for name in telemetry.__all__)


def test_without_a_connection_string_configure_stays_local_but_still_stamps_records(
    captured: _Capture,
) -> None:
    assert configure_telemetry({}) is False
    with telemetry_context(migration_id="mig-1", wave="wave-a", vm="web-01"):
        _log("inside")
    _log("outside")
    inside, outside = captured.records
    assert _dims(inside) == {"migration_id": "mig-1", "wave": "wave-a", "vm": "web-01"}
    assert _dims(outside) == {}


def test_nested_contexts_add_to_the_outer_one_and_restore_it_on_exit(captured: _Capture) -> None:
    attach_dimension_filter()
    with telemetry_context(migration_id="mig-2"):
        with telemetry_context(wave=3):
            with telemetry_context(vm="db-01"):
                assert current_dimensions() == {"migration_id": "mig-2", "wave": "3", "vm": "db-01"}
                _log("deep")
            _log("wave level")
        assert current_dimensions() == {"migration_id": "mig-2"}
    assert current_dimensions() == {}
    deep, wave_level = captured.records
    assert _dims(deep) == {"migration_id": "mig-2", "wave": "3", "vm": "db-01"}
    assert _dims(wave_level) == {"migration_id": "mig-2", "wave": "3"}


def test_an_explicit_extra_value_wins_over_the_context(captured: _Capture) -> None:
    attach_dimension_filter()
    with telemetry_context(migration_id="mig-3", vm="ctx-vm"):
        _log("explicit", vm="explicit-vm")
    assert _dims(captured.records[0]) == {"migration_id": "mig-3", "vm": "explicit-vm"}


def test_attaching_the_filter_twice_adds_it_once(captured: _Capture) -> None:
    assert attach_dimension_filter() >= 1
    assert attach_dimension_filter() == 0
    assert sum(isinstance(f, DimensionFilter) for f in captured.filters) == 1


def test_the_filter_never_drops_a_record(captured: _Capture) -> None:
    attach_dimension_filter()
    _log("no context at all")
    assert [r.getMessage() for r in captured.records] == ["no context at all"]


def test_concurrent_threads_never_see_each_others_dimensions(captured: _Capture) -> None:
    attach_dimension_filter()
    barrier = threading.Barrier(2)

    def work(migration: str) -> None:
        with telemetry_context(migration_id=migration):
            barrier.wait(timeout=5)  # both contexts are open at the same time
            _log(migration)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(work, ["mig-a", "mig-b"]))
    assert {r.getMessage(): _dims(r) for r in captured.records} == {
        "mig-a": {"migration_id": "mig-a"},
        "mig-b": {"migration_id": "mig-b"},
    }


def test_concurrent_asyncio_tasks_never_see_each_others_dimensions(captured: _Capture) -> None:
    attach_dimension_filter()

    async def work(vm: str) -> None:
        with telemetry_context(vm=vm):
            await asyncio.sleep(0)  # let the other task run inside its own context
            _log(vm)

    async def main() -> None:
        await asyncio.gather(work("vm-1"), work("vm-2"))

    asyncio.run(main())
    by_message = {r.getMessage(): _dims(r) for r in captured.records}
    assert by_message == {"vm-1": {"vm": "vm-1"}, "vm-2": {"vm": "vm-2"}}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"migration_id": ""}, "migration_id"),
        ({"wave": "   "}, "wave"),
        ({"vm": True}, "vm"),
        ({"vm": 1.5}, "vm"),
    ],
)
def test_a_bad_dimension_value_is_refused_with_the_field_named(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field), telemetry_context(**kwargs):
        pass
    assert current_dimensions() == {}


def test_spans_started_inside_a_context_carry_the_dimensions() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(DimensionSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with telemetry_context(migration_id="mig-4", wave="w"), tracer.start_as_current_span("inside"):
        pass
    with tracer.start_as_current_span("outside"):
        pass
    spans = {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}
    assert spans["inside"] == {"migration_id": "mig-4", "wave": "w"}
    assert spans["outside"] == {}


# --- end to end through the real distro -------------------------------------------------------------


class _Ingestion(BaseHTTPRequestHandler):
    """Answers like the Application Insights track endpoint and keeps every envelope it receives."""

    envelopes: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path.endswith("/track"):
            self.server.envelopes.extend(json.loads(body))  # type: ignore[attr-defined]
        reply = json.dumps({"itemsReceived": 1, "itemsAccepted": 1, "errors": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def ingestion() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingestion)
    server.envelopes = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


_CHILD = """
import json, logging
from opentelemetry import _logs, trace
from shared.telemetry import configure_telemetry, telemetry_context

first, second = configure_telemetry(), configure_telemetry()
log = logging.getLogger("hcx.e2e")
log.setLevel(logging.INFO)
log.info("before any migration")
with telemetry_context(migration_id="mig-e2e", wave="wave-1"):
    with telemetry_context(vm="app-01"):
        log.warning("vm switched over")
        with trace.get_tracer("hcx.e2e").start_as_current_span("query_wave_progress"):
            pass
_logs.get_logger_provider().force_flush()
trace.get_tracer_provider().force_flush()
print(json.dumps([first, second]))
"""


def _child_env(connection_string: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APPLICATIONINSIGHTS_", "PYTHON_APPLICATIONINSIGHTS_", "OTEL_"))
    }
    env.update(
        APPLICATIONINSIGHTS_CONNECTION_STRING=connection_string,
        # Keep the child on loopback: no statsbeat, no remote configuration, no cloud metadata probes.
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
        APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED="true",
        OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel",
        # The distro's default rate-limited sampler may drop the first span of a fresh process.
        OTEL_TRACES_SAMPLER="always_on",
    )
    return env


def test_logs_and_spans_reach_application_insights_with_the_dimensions(
    ingestion: ThreadingHTTPServer,
) -> None:
    endpoint = f"http://127.0.0.1:{ingestion.server_address[1]}/"
    connection_string = (
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        f"IngestionEndpoint={endpoint};LiveEndpoint={endpoint}"
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=REPO,
        env=_child_env(connection_string),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True]

    envelopes: list[dict[str, Any]] = ingestion.envelopes  # type: ignore[attr-defined]
    messages = {
        e["data"]["baseData"]["message"]: e["data"]["baseData"].get("properties", {})
        for e in envelopes
        if e["name"].endswith(".Message")
    }
    vm_messages = [e for e in envelopes if e["data"]["baseData"].get("message") == "vm switched over"]
    assert len(vm_messages) == 1, "configuring twice must not export twice"
    assert messages["vm switched over"]["migration_id"] == "mig-e2e"
    assert messages["vm switched over"]["wave"] == "wave-1"
    assert messages["vm switched over"]["vm"] == "app-01"
    assert "migration_id" not in messages["before any migration"]

    spans = [
        e["data"]["baseData"]
        for e in envelopes
        if e["name"].endswith((".RemoteDependency", ".Request"))
        and e["data"]["baseData"]["name"] == "query_wave_progress"
    ]
    assert len(spans) == 1
    assert {k: spans[0]["properties"][k] for k in ("migration_id", "wave", "vm")} == {
        "migration_id": "mig-e2e",
        "wave": "wave-1",
        "vm": "app-01",
    }


def test_a_malformed_connection_string_names_the_setting_and_hides_its_value() -> None:
    secretish = "garbage-connection-string-value"
    child = (
        "from shared.telemetry import configure_telemetry\n"
        "from shared.errors import SettingsError\n"
        "try:\n    configure_telemetry()\nexcept SettingsError as e:\n"
        "    import traceback; print('ERR', ''.join(traceback.format_exception(e)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child],
        cwd=REPO,
        env=_child_env(secretish),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.startswith("ERR"), result.stderr[-2000:]
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in result.stdout
    assert secretish not in result.stdout


def test_function_app_configures_telemetry_before_it_builds_the_app() -> None:
    tree = ast.parse((REPO / "function_app.py").read_text(encoding="utf-8"))
    order = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id == "configure_telemetry":
                order.append("configure")
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "app" for t in targets):
            order.append("app")
    assert order == ["configure", "app"]
