"""`python -m runtime start`: serve a Function App on this machine (like `func start`).

Resolves `--app module:attribute` (the attribute may be the `df.DFApp` or a function returning one),
loads `--settings` into the environment, builds the clock, starts `LocalRuntime`, prints the routes
and Durable endpoints, and runs until Ctrl-C or SIGTERM, then shuts down cleanly. Uses argparse
(standard library): the runtime's only command needs nothing more.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from runtime.clock import Clock
from runtime.errors import ConfigError, LocalRuntimeError
from runtime.host import LocalRuntime
from runtime.http.server import DEFAULT_MAX_BODY_BYTES
from runtime.settings import apply_settings, clock_from_flag, clock_from_url, load_local_settings

__all__ = ["main", "parser"]

log = logging.getLogger("runtime")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m runtime", description="The HCX Conductor local Functions runtime."
    )
    commands = top.add_subparsers(dest="command", required=True)
    start = commands.add_parser(
        "start",
        help="serve a Function App with Durable Functions on this machine",
        description="Serve the app's HTTP triggers, the Durable HTTP API, Event Grid and queue triggers, "
        "with orchestration state in a SQLite file. Ctrl-C or SIGTERM stops it cleanly.",
    )
    start.add_argument(
        "--app", default="function_app:app", help="module:attribute of the DFApp (default: %(default)s)"
    )
    start.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s, loopback only)"
    )
    start.add_argument(
        "--port", type=int, default=7071, help="port to bind, 0 for any free port (default: %(default)s)"
    )
    start.add_argument(
        "--state", default=".state/runtime.sqlite", help="SQLite state file (default: %(default)s)"
    )
    start.add_argument(
        "--settings",
        default="local.settings.json",
        help="local.settings.json whose Values become environment variables, unless already set "
        "(default: %(default)s; skipped if the file does not exist)",
    )
    start.add_argument(
        "--clock",
        default="wall",
        help="wall, virtual (jumps to the next timer when idle) or accelerated:<factor> "
        "(default: %(default)s)",
    )
    start.add_argument(
        "--clock-from",
        metavar="URL",
        help="GET a clock spec (Clock.spec() JSON) from URL, e.g. the sandbox's /_sandbox/clock",
    )
    start.add_argument("--clock-ca", metavar="PEM", help="CA bundle to verify --clock-from's TLS certificate")
    start.add_argument(
        "--workers",
        type=int,
        help="activity threads (default: host.json extensions.durableTask.maxConcurrentActivityFunctions)",
    )
    start.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body accepted, larger ones get 413 (default: %(default)s)",
    )
    start.add_argument("--verbose", action="store_true", help="log debug messages")
    return top


def _load_app(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"--app {reference!r}: expected module:attribute, e.g. function_app:app")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"--app {reference!r}: cannot import {module_name} ({exc})") from exc
    try:
        app = getattr(module, attribute)
    except AttributeError as exc:
        raise ConfigError(f"--app {reference!r}: {module_name} has no attribute {attribute!r}") from exc
    if not hasattr(app, "get_functions") and callable(app):
        app = app()
    return app


def _clock(args: argparse.Namespace) -> Clock:
    if args.clock_from:
        return clock_from_url(args.clock_from, args.clock_ca)
    return clock_from_flag(args.clock)


def _start(args: argparse.Namespace) -> int:
    settings_path = Path(args.settings)
    if settings_path.is_file():
        skipped = apply_settings(load_local_settings(settings_path), os.environ, override=False)
        for name in skipped:
            log.info("Skipping '%s' from %s: already set in the environment", name, settings_path)
    elif args.settings != "local.settings.json":
        raise ConfigError(f"--settings {args.settings}: no such file")
    clock = _clock(args)
    app = _load_app(args.app)
    runtime = LocalRuntime(
        app,
        args.state,
        clock=clock,
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_body_bytes=args.max_body_bytes,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    try:
        for line in runtime.describe():
            print(line)
        print(f"Listening on {runtime.base_url} (Ctrl-C to stop)", flush=True)
        while not stop.wait(3600):
            pass
    finally:
        print("Stopping...", flush=True)
        runtime.stop()
    print("Stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        return _start(args)
    except LocalRuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
