"""`conductor demo` (`make demo`): a whole migration on the sandbox, live, in about a minute.

In one process, on one `AcceleratedClock`: the sandbox's cross-region scenario (two simulated AVS
private clouds with their HCX Managers, examples/scenarios/cross-region.yaml) and the local runtime
serving the unchanged function_app.py. The CLI then does what an operator does against a deployed
app, over HTTP with a function key: submits examples/plans/cross-region.yaml, follows it with the
same display as `conductor watch`, approves the web wave's switchover when the app asks (and says so;
`--no-approve` leaves it to the plan's approval timeout), and prints where the app wrote the report.

Nothing outside `--out` (default out/demo) is touched: the runtime's SQLite state, the sandbox's
certificates, the app's log and the reports live there, and a new run starts from scratch. Queue
polling is off (no AzureWebJobsStorage: the demo needs no Azurite) and every log line goes to
`demo.log`, so the screen shows only the display. Ctrl-C stops the runtime and the sandbox cleanly.

The clock factor (1440, the scenario's own `time_compression`) plays the 29 simulated hours the plan
takes (preparation, five waves, the web wave waiting for its 20:00 switchover window, cutover) in
about 75 s on two cores, using about 20 s of CPU: the wall time is the clock's, so a slower machine
keeps up (README.md has the measured figures). Depends on `runtime`, `sandbox`, the app
(function_app.py) and the rest of `conductor`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from conductor.client import AppClient
from conductor.errors import ConductorError, InputError
from conductor.migrations import MIGRATION_FAILED_EXIT, follow
from conductor.reports import read_report, report_locations, summary_line

__all__ = ["DEFAULT_FACTOR", "Demo", "DemoResult", "register"]

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "examples" / "scenarios" / "cross-region.yaml"
PLAN = REPO / "examples" / "plans" / "cross-region.yaml"
DEFAULT_FACTOR = 1440.0
DEMO_BY = "conductor demo (--auto-approve)"


@dataclass
class DemoResult:
    """How the demo ended: the final status document, whether it succeeded, the report's files."""

    view: dict[str, Any]
    ok: bool
    reports: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    approved: list[str] = field(default_factory=list)


class _Approver:
    """The demo's stand-in for a person: approves each wave that waits for approval, once, and says so."""

    def __init__(self, client: AppClient, plan_id: str, clock_now: Any, enabled: bool) -> None:
        self.client = client
        self.plan_id = plan_id
        self.now = clock_now
        self.enabled = enabled
        self.approved: list[str] = []
        self.waiting: set[str] = set()

    def __call__(self, view: dict[str, Any], notes: list[str]) -> None:
        for wave in view.get("waves") or []:
            name = str(wave.get("name"))
            if wave.get("state") != "awaiting_approval" or name in self.approved:
                continue
            if not self.enabled:
                if name not in self.waiting:
                    self.waiting.add(name)
                    notes.append(
                        f"wave [bold]{escape(name)}[/] waits for approval (--no-approve): "
                        f"`conductor approve {self.plan_id} --wave {escape(name)}`, or the plan's timeout"
                    )
                continue
            self.client.action(self.plan_id, "approve", {"wave": name, "by": DEMO_BY})
            self.approved.append(name)
            at = self.now().strftime("%H:%M")
            notes.append(
                f"auto-approved the switchover of wave [bold]{escape(name)}[/] at {at} (simulated) — "
                f"the demo stands in for `conductor approve {self.plan_id} --wave {escape(name)}`"
            )


class Demo:
    """One demo run: `Demo(out, factor).run(console)`; also used by the tests, with a larger factor."""

    def __init__(
        self,
        out: Path,
        factor: float = DEFAULT_FACTOR,
        *,
        approve: bool = True,
        scenario: Path = SCENARIO,
        plan: Path = PLAN,
        interval: float = 0.5,
    ) -> None:
        self.out = out
        self.factor = factor
        self.approve = approve
        self.scenario_path = scenario
        self.plan_path = plan
        self.interval = interval

    def run(self, console: Console) -> DemoResult:
        started = time.monotonic()
        for path in (self.scenario_path, self.plan_path):
            if not path.is_file():
                raise InputError(f"{path}: no such file", "run the demo from a clone of the repository")
        plan_text = self.plan_path.read_bytes()
        plan_id = _plan_id(self.plan_path)
        self._fresh_out()
        with self._logging(), _environment():
            console.print(
                f"Starting two simulated AVS private clouds and the local runtime "
                f"(time runs {self.factor:g}× faster; logs in {self.out / 'demo.log'})…",
                highlight=False,
            )
            with self._world() as (clock, base_url, key), AppClient(base_url, key, timeout=60.0) as client:
                body = client.submit(plan_text, "application/yaml").body
                console.print(
                    f"Submitted [bold]{escape(self.plan_path.name)}[/] over HTTP → migration "
                    f"[bold]{escape(str(body.get('id')))}[/] ({body.get('decision')})",
                    highlight=False,
                )
                approver = _Approver(client, plan_id, clock.now, self.approve)
                view, end = follow(
                    client,
                    plan_id,
                    console,
                    interval=self.interval,
                    now=clock.now,
                    clock_note=f"  simulated, {self.factor:g}× real time",
                    hook=approver,
                    patience=0,
                )
        reports = report_locations(view)
        return DemoResult(view, end.ok, reports, time.monotonic() - started, approver.approved)

    # --- the pieces ------------------------------------------------------------------------------

    def _fresh_out(self) -> None:
        """A new run starts from nothing: the previous run's state would make this plan 'existing'."""
        self.out.mkdir(parents=True, exist_ok=True)
        for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "demo.log"):
            with contextlib.suppress(FileNotFoundError):
                (self.out / name).unlink()
        for name in ("sandbox", "reports"):
            shutil.rmtree(self.out / name, ignore_errors=True)

    @contextlib.contextmanager
    def _logging(self) -> Iterator[None]:
        """Every log record to demo.log, none to the screen (the live display owns the terminal)."""
        root = logging.getLogger()
        handler = logging.FileHandler(self.out / "demo.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        saved = (root.handlers[:], root.level)
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            yield
        finally:
            logging.captureWarnings(False)
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
            handler.close()

    @contextlib.contextmanager
    def _world(self) -> Iterator[tuple[Any, str, str]]:
        """Sandbox + runtime on one accelerated clock; yields (clock, base URL, function key)."""
        from runtime import AcceleratedClock, LocalRuntime
        from sandbox import Sandbox, load_scenario

        app = _function_app()
        scenario = load_scenario(self.scenario_path)
        clock = AcceleratedClock(scenario.start, self.factor)
        key = secrets.token_urlsafe(24)  # the demo's own function key: sent, never shown
        with Sandbox(scenario, clock=clock, state_dir=self.out / "sandbox") as sb:
            settings = {
                **sb.app_settings(),
                "LOCAL_FUNCTION_KEYS": key,
                "REPORT_DIR": str((self.out / "reports").resolve()),
            }
            with LocalRuntime(app, self.out / "state.sqlite", clock=clock, settings=settings) as rt:
                yield clock, rt.base_url, key


def _plan_id(path: Path) -> str:
    from conductor.planfile import read_plan

    return read_plan(path).id


def _function_app() -> Any:
    """function_app.app: the module lives at the repository's root, beside this package."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import function_app

    return function_app.app


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    """The runtime writes the app's settings into os.environ; put it back afterwards. Queue polling
    needs a storage account: without AzureWebJobsStorage the runtime leaves the queue trigger off."""
    saved = dict(os.environ)
    for name in ("AzureWebJobsStorage", "REPORT_CONTAINER_URL", "LOCAL_MASTER_KEY"):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _report_lines(result: DemoResult, console: Console) -> None:
    files = sorted(result.reports, key=lambda x: (not x.endswith(".html"), x))
    summary = next((x for x in files if x.endswith(".json")), None)
    if summary is not None:
        with contextlib.suppress(ConductorError):  # the files are listed below in any case
            console.print(f"\n[bold]Report[/]: {escape(summary_line(read_report(summary)))}", highlight=False)
    if files:
        console.print("[bold]Report written[/]:", highlight=False)
        for location in files:
            console.print(f"  {location}", highlight=False, soft_wrap=True)
        html = next((x for x in files if x.endswith(".html")), None)
        if html:
            console.print(f"Open it: [bold]xdg-open {escape(html)}[/] (a self-contained page; works offline)")


def register(app: typer.Typer, out: Console, err: Console) -> None:
    @app.command("demo")
    def demo(
        factor: Annotated[
            float,
            typer.Option("--factor", min=1.0, help="How much faster than real time the simulated day runs."),
        ] = DEFAULT_FACTOR,
        output: Annotated[
            Path, typer.Option("--out", help="Where the state, the log and the report go (wiped first).")
        ] = Path("out/demo"),
        approve: Annotated[
            bool,
            typer.Option(
                "--auto-approve/--no-approve", help="Approve switchovers when the app asks, and say so."
            ),
        ] = True,
        interval: Annotated[
            float, typer.Option("--interval", min=0.1, help="Seconds between status reads.")
        ] = 0.5,
    ) -> None:
        """Migrate the cross-region example plan on the sandbox, live: no Azure needed."""
        try:
            result = Demo(output, factor, approve=approve, interval=interval).run(out)
        except KeyboardInterrupt:
            err.print("\nDemo stopped: the runtime and the sandbox were shut down cleanly.", highlight=False)
            raise typer.Exit(130) from None
        _report_lines(result, out)
        out.print(f"Demo took {result.wall_seconds:.0f} s of wall time.", highlight=False)
        if not result.ok:
            raise typer.Exit(MIGRATION_FAILED_EXIT)
        if not result.reports:
            raise ConductorError("the migration ended without a report", f"see {output / 'demo.log'}")
