"""The commands that act on migrations through the Function App's HTTP API (docs/api.md):

    conductor submit PLAN [--watch]        send a plan; the same plan again is idempotent
    conductor status [ID] [--json]         one migration's progress, or the list of migrations
    conductor watch ID                     live progress until it ends; non-zero unless it succeeded
    conductor approve ID [--wave W]        release switchovers waiting for approval
    conductor cancel ID                    cancel a running migration
    conductor retry ID [--wave W] [--vm V] give failed VMs a fresh set of attempts
    conductor report ID [--out DIR]        write the finished migration's report (HTML, Markdown, JSON)

Every command takes `--endpoint` (CONDUCTOR_ENDPOINT) and `--key` (CONDUCTOR_FUNCTION_KEY); the key
is only ever sent, never printed. `follow()` is the watch loop the demo reuses. Exit codes: 0 done,
1-3 the CLI's own errors (conductor.errors), 4 a migration that ended blocked, failed or cancelled
(or completed with VMs that failed for good), 130 interrupted. Depends on `conductor.client`,
`conductor.progress`, `conductor.reports` and rich.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from conductor.client import Answer, AppClient, EndpointError, KeyRefused
from conductor.errors import ConductorError, InputError
from conductor.planfile import read_plan
from conductor.progress import Meter, Outcome, moved_bytes, outcome, render
from conductor.reports import FORMATS, fetch_report, write_report

__all__ = ["MIGRATION_FAILED_EXIT", "follow", "preflight", "register"]

MIGRATION_FAILED_EXIT = 4

Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="The Function App: https://<app>.azurewebsites.net, or http://127.0.0.1:7071 locally.",
        envvar="CONDUCTOR_ENDPOINT",
        show_default=False,
    ),
]
Key = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Function key (never printed). Prefer the environment variable.",
        envvar="CONDUCTOR_FUNCTION_KEY",
        show_default=False,
        show_envvar=True,
    ),
]
MigrationId = Annotated[str, typer.Argument(help="The migration's id: the plan's `id`.", show_default=False)]
Interval = Annotated[
    float, typer.Option("--interval", min=0.2, help="Seconds between status reads.", show_default=True)
]


def _client(endpoint: str | None, key: str | None) -> AppClient:
    return AppClient(endpoint, key)


def _plan_bytes(path: Path) -> tuple[bytes, str]:
    """The plan file as sent (YAML or JSON, unchanged), after the same offline checks as `plan validate`."""
    read_plan(path)  # the offline checks first: a bad plan never leaves the workstation
    content = path.read_bytes()
    kind = "application/json" if path.suffix.lower() == ".json" else "application/yaml"
    return content, kind


def _sample_time(view: dict[str, Any], now: datetime) -> datetime:
    """When the view's byte counts were true: the latest wave update when the app says, else `now`."""
    stamps = []
    for wave in view.get("waves") or []:
        text = wave.get("updated") if isinstance(wave, dict) else None
        if isinstance(text, str):
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                continue
            stamps.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return max(stamps) if stamps else now


def _summary(view: dict[str, Any]) -> str:
    """One plain line for logs and pipes: phase and each wave's state."""
    waves = ", ".join(f"{w.get('name')} {w.get('state')}" for w in view.get("waves") or [])
    return f"{view.get('id')}: {view.get('phase')}" + (f" ({waves})" if waves else "")


Hook = Callable[[dict[str, Any], list[str]], None]


def follow(
    client: AppClient,
    plan_id: str,
    console: Console,
    *,
    interval: float = 2.0,
    now: Callable[[], datetime] | None = None,
    clock_note: str = "",
    hook: Hook | None = None,
    notes: list[str] | None = None,
    patience: float = 120.0,
) -> tuple[dict[str, Any], Outcome]:
    """Read the status every `interval` seconds and draw it until the migration ends.

    `hook(view, notes)` runs after each read (the demo approves there and appends what it did to
    `notes`, which every frame shows). A terminal gets a live frame; a pipe gets a line per change and
    the last frame. An endpoint that stops answering is retried for `patience` seconds.
    """
    clock = now or (lambda: datetime.now(UTC))
    meter = Meter()
    said: list[str] = notes if notes is not None else []
    live = Live(console=console, refresh_per_second=4, auto_refresh=False) if console.is_terminal else None
    last_line = ""
    failing_since: float | None = None
    seen = False
    if live is not None:
        live.start()
    try:
        while True:
            try:
                view = client.status(plan_id).body
                failing_since = None
                seen = True
            except KeyRefused:
                raise
            except EndpointError:
                if patience <= 0 or not seen:
                    raise  # a wrong endpoint fails at once; a known-good one may be restarting
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > patience:
                    raise
                time.sleep(interval)
                continue
            moment = clock()
            meter.add(_sample_time(view, moment), moved_bytes(view))
            if hook is not None:
                hook(view, said)
            end = outcome(view)
            frame = render(view, meter, moment, said, clock_note)
            if live is not None:
                live.update(frame, refresh=True)
            else:
                line = _summary(view)
                if line != last_line:
                    console.print(line, highlight=False, soft_wrap=True)
                    last_line = line
            if end is not None:
                if live is None:
                    console.print(frame)
                return view, end
            time.sleep(interval)
    finally:
        if live is not None:
            live.stop()


def preflight(plan: Path, endpoint: str | None, key: str | None, console: Console) -> None:
    """`plan validate --endpoint`: the app's preflight (reads both clouds, changes nothing)."""
    content, kind = _plan_bytes(plan)
    with _client(endpoint, key) as client, console.status("Running preflight against both clouds…"):
        answer = client.validate(content, kind)
        while answer.status == 202:
            time.sleep(2.0)
            answer = client.validation(str(answer.body.get("instance_id")))
    body = answer.body
    findings = [f for f in body.get("findings") or [] if isinstance(f, dict)]
    _print_findings(console, findings)
    for action in body.get("actions") or []:
        console.print(f"[cyan]would[/] {escape(str(action))}", highlight=False, soft_wrap=True)
    errors = sum(1 for f in findings if f.get("severity") == "error")
    if not body.get("valid"):
        raise ConductorError(
            f"preflight found {errors} error(s)",
            "fix what each finding's remedy says (docs/findings.md), then validate again",
        )
    console.print("[green]✓[/] preflight passed: the plan can run", highlight=False)


def _finish(end: Outcome) -> None:
    if not end.ok:
        raise typer.Exit(MIGRATION_FAILED_EXIT)


def _print_findings(console: Console, findings: list[dict[str, Any]]) -> None:
    for f in findings:
        colour = {"error": "red", "warning": "yellow"}.get(str(f.get("severity")), "cyan")
        console.print(
            f"[{colour}]{f.get('severity')}[/] {escape(str(f.get('code')))}: {escape(str(f.get('message')))}"
            + (f"\n    → {escape(str(f.get('remedy')))}" if f.get("remedy") else ""),
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer, out: Console, err: Console) -> None:
    """Add the migration commands to the CLI's typer app."""

    @app.command("submit")
    def submit(
        plan: Annotated[Path, typer.Argument(help="The plan file (YAML or JSON).", show_default=False)],
        endpoint: Endpoint = None,
        key: Key = None,
        watch: Annotated[bool, typer.Option("--watch", help="Then watch it until it ends.")] = False,
        interval: Interval = 5.0,
    ) -> None:
        """Submit a plan to the Function App. Submitting the same plan again changes nothing."""
        content, kind = _plan_bytes(plan)
        with _client(endpoint, key) as client:
            body = client.submit(content, kind).body
            decision = str(body.get("decision"))
            said = {
                "start": "started",
                "restart": "started again (its last run ended blocked, failed or cancelled)",
                "existing": "already known: nothing new started",
            }.get(decision, decision)
            err.print(
                f"[green]✓[/] migration [bold]{escape(str(body.get('id')))}[/] {said} — "
                f"instance {escape(str(body.get('instance_id')))}, digest {str(body.get('digest'))[:12]}…",
                highlight=False,
                soft_wrap=True,
            )
            if not watch:
                err.print(f"Follow it with: conductor watch {body.get('id')}", highlight=False)
                return
            _, end = follow(client, str(body.get("id")), out, interval=interval)
        _finish(end)

    @app.command("status")
    def status(
        migration: Annotated[
            str | None, typer.Argument(help="A migration id; without one, list the migrations.")
        ] = None,
        endpoint: Endpoint = None,
        key: Key = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the app's status document.")] = False,
        phase: Annotated[str | None, typer.Option("--phase", help="List only this phase.")] = None,
    ) -> None:
        """Show one migration's progress once (the same frame as `watch`), or list the migrations."""
        with _client(endpoint, key) as client:
            if migration is None:
                listing = client.list(phase=phase or "").body
                if as_json:
                    out.print_json(json.dumps(listing))
                    return
                _print_list(out, listing)
                return
            view = client.status(migration).body
        if as_json:
            out.print_json(json.dumps(view))
            return
        out.print(render(view))
        end = outcome(view)
        if end is not None:
            _finish(end)

    @app.command("watch")
    def watch(
        migration: MigrationId,
        endpoint: Endpoint = None,
        key: Key = None,
        interval: Interval = 5.0,
    ) -> None:
        """Follow a migration live: phase, a bar per wave, VMs by state, throughput, ETA.

        Exits 0 when it completes, 4 when it ends blocked, failed or cancelled, or completes with VMs
        that failed for good. Ctrl-C stops watching; the migration goes on.
        """
        with _client(endpoint, key) as client:
            try:
                _, end = follow(client, migration, out, interval=interval)
            except KeyboardInterrupt:
                err.print(f"Stopped watching; the migration goes on (`conductor status {migration}`).")
                raise typer.Exit(130) from None
        _finish(end)

    @app.command("approve")
    def approve(
        migration: MigrationId,
        wave: Annotated[
            str | None, typer.Option("--wave", help="Approve only this wave (default: the whole migration).")
        ] = None,
        network: Annotated[
            str | None, typer.Option("--network", help="Approve this network's cutover.")
        ] = None,
        by: Annotated[
            str | None, typer.Option("--by", help="Who approves (default: your user name).")
        ] = None,
        endpoint: Endpoint = None,
        key: Key = None,
    ) -> None:
        """Approve switchovers (plan: `approval.required`) or a network's cutover that wait for a person.

        Approving before the app asks is fine: the approval is kept until the wave gets there.
        """
        body = {"wave": wave, "network": network, "by": by or _user()}
        target = f"wave {wave}" if wave else f"the cutover of {network}" if network else "the migration"
        _act(err, endpoint, key, migration, "approve", body, f"approved {target}")

    @app.command("cancel")
    def cancel(
        migration: MigrationId,
        wave: Annotated[str | None, typer.Option("--wave", help="Cancel only this wave.")] = None,
        vm: Annotated[str | None, typer.Option("--vm", help="Cancel only this VM.")] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
        endpoint: Endpoint = None,
        key: Key = None,
    ) -> None:
        """Cancel a migration, a wave or a VM: what has not started switching over is cancelled in HCX."""
        target = f"VM {vm}" if vm else f"wave {wave}" if wave else "the whole migration"
        if not yes and sys.stdin.isatty() and not typer.confirm(f"Cancel {target} of {migration}?"):
            raise typer.Exit(1)
        body = {"wave": wave, "vm": vm, "by": _user()}
        _act(err, endpoint, key, migration, "cancel", body, f"cancelling {target}")

    @app.command("retry")
    def retry(
        migration: MigrationId,
        wave: Annotated[str | None, typer.Option("--wave", help="Only this wave's failed VMs.")] = None,
        vm: Annotated[str | None, typer.Option("--vm", help="Only this VM.")] = None,
        endpoint: Endpoint = None,
        key: Key = None,
    ) -> None:
        """Give failed, blocked or skipped VMs a fresh set of attempts (seed checkpoints resume)."""
        body = {"wave": wave, "vm": vm, "by": _user()}
        _act(err, endpoint, key, migration, "retry", body, "retry requested")

    @app.command("report")
    def report(
        migration: MigrationId,
        out_dir: Annotated[
            Path, typer.Option("--out", "-o", help="Directory the report files are written to.")
        ] = Path("reports"),
        formats: Annotated[
            str, typer.Option("--format", help="Comma-separated: html, md, json.")
        ] = "html,md,json",
        endpoint: Endpoint = None,
        key: Key = None,
    ) -> None:
        """Write a finished migration's report: self-contained HTML, Markdown and JSON."""
        wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in FORMATS]
        if unknown or not wanted:
            raise InputError(
                f"--format {formats!r}: choose from {', '.join(FORMATS)}", "e.g. --format html,md"
            )
        with _client(endpoint, key) as client:
            parsed = fetch_report(client, migration)
        for path in write_report(parsed, out_dir, wanted, stem=migration):
            out.print(f"Report written to {path}", highlight=False, soft_wrap=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _act(
    err: Console,
    endpoint: str | None,
    key: str | None,
    migration: str,
    action: str,
    body: dict[str, str | None],
    what: str,
) -> None:
    """Send one operator action (the body without its empty fields) and say what the app did."""
    with _client(endpoint, key) as client:
        answer: Answer = client.action(migration, action, {k: v for k, v in body.items() if v})
    extra = ""
    if answer.body.get("terminated"):
        extra = f" (stopped {len(answer.body['terminated'])} running step(s))"
    err.print(
        f"[green]✓[/] {escape(str(answer.body.get('id') or ''))}: {what}{extra}",
        highlight=False,
        soft_wrap=True,
    )


def _print_list(out: Console, listing: dict[str, Any]) -> None:
    rows = listing.get("migrations") or []
    if not rows:
        out.print("No migrations.")
        return
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for column in ("id", "phase", "status", "waves", "findings", "updated"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            escape(str(row.get("id"))),
            str(row.get("phase")),
            str(row.get("runtime_status")),
            str(row.get("waves")),
            str(row.get("findings_total")),
            str(row.get("updated") or "")[:16].replace("T", " "),
        )
    out.print(table)
