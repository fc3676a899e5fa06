"""`conductor`: the operator's command line (typer for commands and help, rich for tables and progress).

    conductor plan validate PLAN [--endpoint]     check a plan offline; with an endpoint, run preflight too
    conductor plan draft --from-rvtools FILE ...  group an inventory into waves and write a plan
    conductor plan draft --from-hcx --hcx-url ... the same, from the source HCX Manager's inventory
    conductor plan estimate PLAN --inventory FILE durations per VM and wave, beside the lower bound
    conductor submit | status | watch | approve | cancel | retry | report   (conductor.migrations)
    conductor demo                                the sandbox demo (conductor.demo)

Commands that talk to the Function App read the endpoint and function key from `--endpoint`/`--key`
or CONDUCTOR_ENDPOINT/CONDUCTOR_FUNCTION_KEY.

Errors: every `ConductorError`, `PlanError` and `PlannerError` is one line on stderr saying what to do,
with a non-zero exit (1 general, 2 bad input, 3 endpoint; 4 is a migration that ended badly); anything
else is one line too, unless `--debug` is given, which shows the traceback. Nothing prints a secret:
the function key is never echoed, not even in errors. This module depends on the rest of `conductor`
and on `shared`.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from conductor.drafting import PlanEstimateResult, draft_plan, draft_yaml, estimate_plan_file
from conductor.errors import ConductorError, InputError
from conductor.hcx_inventory import read_hcx_inventory
from conductor.planfile import read_plan
from conductor.rvtools import read_rvtools
from shared.errors import PlanError
from shared.estimate import BandwidthModel
from shared.plan import MigrationPlan
from shared.planner import InventoryVm, PlannerError, PlannerOptions, plan_waves
from shared.report import render_html, render_markdown, report_from_estimate
from shared.report.format import bytes_text, duration_text, gbps_text

__all__ = ["app", "main"]

app = typer.Typer(
    name="conductor",
    help="HCX Conductor: plan, estimate and run VMware HCX migrations between two AVS private clouds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plan_app = typer.Typer(help="Write, check and estimate migration plans.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")

out = Console()
err = Console(stderr=True)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    """HCX Conductor: plan, estimate and run VMware HCX migrations between two AVS private clouds."""
    # --debug is read by main() before dispatch; declaring it here puts it in --help.


# --- options shared by draft and estimate --------------------------------------------------------

LinkGbps = Annotated[float, typer.Option("--link-gbps", min=0.001, help="Link between the clouds, Gbps.")]
Efficiency = Annotated[
    float, typer.Option("--efficiency", min=0.01, max=1.0, help="Share of the link migrations get (0.6-0.8).")
]
Meshes = Annotated[int, typer.Option("--meshes", min=1, help="Service meshes pairing the sites.")]
IxPerMesh = Annotated[int, typer.Option("--ix-per-mesh", min=1, help="IX appliances per mesh (HCX 4.8+).")]
ManagerLimit = Annotated[
    int, typer.Option("--manager-limit", min=1, help="Concurrent Bulk/RAV per HCX Manager: 300, 600 scaled.")
]
ChurnOpt = Annotated[
    float, typer.Option("--churn", min=0, help="GB/h written per VM when the inventory has no figure.")
]


def _bandwidth(
    link: float, efficiency: float, meshes: int, ix: int, manager: int, limit: int | None
) -> BandwidthModel:
    return BandwidthModel(
        link_gbps=link,
        efficiency=efficiency,
        meshes=meshes,
        ix_per_mesh=ix,
        manager_concurrency=manager,
        plan_concurrency=limit,
    )


def _inventory(path: Path, app_column: str | None) -> list[InventoryVm]:
    inventory = read_rvtools(path, app_column=app_column)
    for warning in inventory.warnings[:5]:
        err.print(f"[yellow]warning:[/] {_escape(warning)}", highlight=False, soft_wrap=True)
    if len(inventory.warnings) > 5:
        err.print(f"[yellow]warning:[/] … and {len(inventory.warnings) - 5} more", highlight=False)
    skipped = ", ".join(f"{n} {reason}(s)" for reason, n in inventory.skipped.items())
    err.print(
        f"Read {len(inventory.vms)} VMs from {path}" + (f" (skipped {skipped})" if skipped else ""),
        highlight=False,
        soft_wrap=True,
    )
    return inventory.vms


def _hcx_inventory(url: str | None, user: str, pins: list[str], ca_bundle: str | None) -> list[InventoryVm]:
    if not url:
        raise InputError(
            "--from-hcx needs the source HCX Manager's URL", "pass --hcx-url or set CONDUCTOR_HCX_URL"
        )
    password = os.environ.get("CONDUCTOR_HCX_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise InputError(
                f"no password for {user}", "set CONDUCTOR_HCX_PASSWORD (it is never printed or logged)"
            )
        password = typer.prompt(f"Password for {user}", hide_input=True)
    vms = read_hcx_inventory(url, user, password, pins=pins, ca_bundle=ca_bundle)
    if not vms:
        raise InputError(f"{url}: the HCX Manager lists no VMs", "check that the URL is the source manager")
    err.print(f"Read {len(vms)} VMs from {url}", highlight=False, soft_wrap=True)
    return vms


# --- plan validate ------------------------------------------------------------------------------


@plan_app.command("validate")
def plan_validate(
    plan: Annotated[Path, typer.Argument(help="The plan file (YAML or JSON).")],
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Function App URL; runs preflight against the clouds.", envvar="CONDUCTOR_ENDPOINT"
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help="Function key for --endpoint.", envvar="CONDUCTOR_FUNCTION_KEY", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the normalised plan as JSON.")] = False,
) -> None:
    """Check a plan's schema and contradictions offline; with --endpoint, also run preflight."""
    parsed = read_plan(plan)
    if as_json:
        out.print_json(parsed.model_dump_json(exclude_defaults=True))
        return
    vms = sum(len(w.vms) for w in parsed.waves)
    selected = sum(1 for w in parsed.waves if w.selection is not None)
    waves = len(parsed.waves)
    out.print(
        f"[green]✓[/] {plan}: plan [bold]{parsed.id}[/] is valid — {waves} wave{'s' if waves != 1 else ''}, "
        f"{vms} VMs named"
        + (f", {selected} wave(s) selecting by folder or pattern" if selected else "")
        + f", digest {parsed.digest()[:12]}…",
        highlight=False,
        soft_wrap=True,
    )
    if endpoint is not None:
        from conductor.migrations import preflight

        preflight(plan, endpoint, key, out)


# --- plan draft ---------------------------------------------------------------------------------


@plan_app.command("draft")
def plan_draft(
    source: Annotated[
        str, typer.Option(help="Source private cloud ARM id.", envvar="CONDUCTOR_SOURCE_CLOUD")
    ],
    destination: Annotated[
        str, typer.Option(help="Destination private cloud ARM id.", envvar="CONDUCTOR_DESTINATION_CLOUD")
    ],
    from_rvtools: Annotated[
        Path | None,
        typer.Option("--from-rvtools", help="RVTools export: the xlsx, the vInfo CSV, or a folder of CSVs."),
    ] = None,
    from_hcx: Annotated[
        bool, typer.Option("--from-hcx", help="Read the source HCX Manager's inventory instead.")
    ] = False,
    hcx_url: Annotated[
        str | None, typer.Option("--hcx-url", help="Source HCX Manager URL.", envvar="CONDUCTOR_HCX_URL")
    ] = None,
    hcx_user: Annotated[
        str,
        typer.Option(
            "--hcx-user",
            help="HCX user; the password comes from CONDUCTOR_HCX_PASSWORD, else a prompt.",
            envvar="CONDUCTOR_HCX_USERNAME",
        ),
    ] = "cloudadmin@vsphere.local",
    hcx_fingerprint: Annotated[
        list[str] | None,
        typer.Option(
            "--hcx-fingerprint",
            help="Pinned SHA-256 of the manager's certificate (repeatable).",
            envvar="CONDUCTOR_HCX_FINGERPRINT",
        ),
    ] = None,
    hcx_ca_bundle: Annotated[
        str | None,
        typer.Option(
            "--hcx-ca-bundle", help="CA bundle (PEM) trusted for the manager.", envvar="HCX_CA_BUNDLE"
        ),
    ] = None,
    plan_id: Annotated[str, typer.Option("--id", help="The plan id (3-63 of a-z, 0-9, '-').")] = "draft-plan",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the plan here (default: stdout).")
    ] = None,
    migration_type: Annotated[
        str,
        typer.Option("--type", help="Type for powered-on VMs: bulk, rav or vmotion (powered-off go cold)."),
    ] = "bulk",
    window_hours: Annotated[
        float, typer.Option("--window-hours", min=0.01, help="Switchover window per wave, hours.")
    ] = 4.0,
    transfer_hours: Annotated[
        float, typer.Option("--transfer-hours", min=0.01, help="Time a wave's transfers may take, hours.")
    ] = 24.0,
    max_wave_vms: Annotated[
        int | None, typer.Option("--max-wave-vms", min=1, help="At most this many VMs per wave.")
    ] = None,
    max_concurrent: Annotated[
        int | None, typer.Option("--max-concurrent", min=1, max=600, help="The plan's own concurrency limit.")
    ] = None,
    pilot: Annotated[int, typer.Option("--pilot", min=0, help="VMs in a first pilot wave (0: none).")] = 0,
    large_gb: Annotated[
        float, typer.Option("--large-gb", min=1, help="Used data that isolates a VM, GB.")
    ] = 1000.0,
    heavy_gbh: Annotated[
        float, typer.Option("--write-heavy-gbh", min=0.01, help="Churn that isolates a VM, GB/h.")
    ] = 5.0,
    app_column: Annotated[
        str | None, typer.Option("--app-column", help="vInfo column naming each VM's application.")
    ] = None,
    link_gbps: LinkGbps = 10.0,
    efficiency: Efficiency = 0.7,
    meshes: Meshes = 1,
    ix_per_mesh: IxPerMesh = 1,
    manager_limit: ManagerLimit = 300,
    churn: ChurnOpt = 0.5,
) -> None:
    """Group an inventory into waves and write a draft plan (YAML) with its estimates."""
    if from_hcx == (from_rvtools is not None):
        raise InputError(
            "give exactly one of --from-rvtools FILE or --from-hcx", "see `conductor plan draft --help`"
        )
    if migration_type not in ("bulk", "rav", "vmotion"):
        raise InputError(
            f"--type {migration_type!r}: must be bulk, rav or vmotion",
            "powered-off VMs go cold by themselves",
        )
    if from_rvtools is not None:
        inventory = _inventory(from_rvtools, app_column)
    else:
        inventory = _hcx_inventory(hcx_url, hcx_user, hcx_fingerprint or [], hcx_ca_bundle)
    options = PlannerOptions(
        bandwidth=_bandwidth(link_gbps, efficiency, meshes, ix_per_mesh, manager_limit, max_concurrent),
        migration_type=migration_type,
        switchover_window_hours=window_hours,
        max_transfer_hours=transfer_hours,
        max_wave_vms=max_wave_vms,
        large_vm_gb=large_gb,
        write_heavy_gb_per_hour=heavy_gbh,
        default_churn_gb_per_hour=churn,
        pilot_vms=pilot,
    )
    waves = plan_waves(inventory, options)
    plan = draft_plan(waves, plan_id=plan_id, source=source, destination=destination)
    text = draft_yaml(plan, waves, inventory)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text)
        except OSError as exc:
            raise InputError(
                f"{output}: cannot write ({exc.strerror})", "choose another --output path"
            ) from None
    # The planner sizes waves for their switchover window, so these figures assume each wave's
    # switchovers wait for it; `plan estimate` follows the plan as written.
    table = Table(title=f"{len(waves.waves)} waves (switchovers in each wave's window)", title_justify="left")
    for column in ("wave", "kind", "type", "VMs", "data", "estimated", "lower bound"):
        table.add_column(
            column, justify="right" if column in ("VMs", "data", "estimated", "lower bound") else "left"
        )
    for w in waves.waves:
        table.add_row(
            w.name,
            w.kind,
            w.vms[0].migration_type,
            str(len(w.vms)),
            bytes_text(w.estimate.initial_bytes),
            duration_text(w.estimate.duration_s),
            duration_text(w.estimate.lower_bound_s),
        )
    err.print(table)
    bound = duration_text(waves.lower_bound_s)
    err.print(
        f"Estimated {duration_text(waves.duration_s)} end to end (lower bound {bound})"
        + (f"; plan written to {output}" if output else ""),
        highlight=False,
        soft_wrap=True,
    )


# --- plan estimate ------------------------------------------------------------------------------


@plan_app.command("estimate")
def plan_estimate(
    plan: Annotated[Path, typer.Argument(help="The plan file (YAML or JSON).")],
    inventory: Annotated[
        Path | None,
        typer.Option("--inventory", help="Sizes of the VMs: an RVTools export (xlsx, vInfo CSV or folder)."),
    ] = None,
    app_column: Annotated[
        str | None, typer.Option("--app-column", help="vInfo column naming applications.")
    ] = None,
    per_vm: Annotated[bool, typer.Option("--vms", help="Also list every VM.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write the forecast as an HTML report.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write the forecast as Markdown.")
    ] = None,
    link_gbps: LinkGbps = 10.0,
    efficiency: Efficiency = 0.7,
    meshes: Meshes = 1,
    ix_per_mesh: IxPerMesh = 1,
    manager_limit: ManagerLimit = 300,
    churn: ChurnOpt = 0.5,
) -> None:
    """Estimate each wave's and VM's duration, with the physical lower bound beside it."""
    parsed = read_plan(plan)
    if inventory is None:
        raise InputError(
            "plan estimate needs the VMs' sizes: pass --inventory with an RVTools export",
            "export the source vCenter with RVTools (vInfo and vNetwork) and pass the file",
        )
    vms = _inventory(inventory, app_column)
    bw = _bandwidth(link_gbps, efficiency, meshes, ix_per_mesh, manager_limit, None)
    result = estimate_plan_file(parsed, vms, bw, PlannerOptions(default_churn_gb_per_hour=churn))
    for f in result.findings:
        colour = "red" if f.severity == "error" else "yellow"
        err.print(
            f"[{colour}]{f.severity}[/] {f.code}: {_escape(f.message)}", highlight=False, soft_wrap=True
        )
    if as_json:
        out.print_json(json.dumps(_estimate_json(parsed, result, bw)))
    else:
        _print_estimate(result, bw, per_vm)
    if html or markdown:
        report = report_from_estimate(
            parsed.id,
            result.waves,
            datetime.now(UTC),
            capacity_gbps=bw.aggregate_gbps,
            findings=result.findings,
        )
        for path, text in (
            (html, render_html(report) if html else ""),
            (markdown, render_markdown(report) if markdown else ""),
        ):
            if path is not None:
                try:
                    path.write_text(text)
                except OSError as exc:
                    raise InputError(
                        f"{path}: cannot write ({exc.strerror})", "choose another path"
                    ) from None
                err.print(f"Forecast written to {path}", highlight=False, soft_wrap=True)
    if any(f.severity == "error" for f in result.findings):
        raise InputError(
            "the plan names VMs the inventory lacks (see above)", "fix the plan or the inventory"
        )


def _print_estimate(result: PlanEstimateResult, bw: BandwidthModel, per_vm: bool) -> None:
    out.print(
        f"Bandwidth model: {gbps_text(bw.aggregate_gbps)} aggregate ({bw.bottleneck}), "
        f"{gbps_text(bw.single_gbps)} per migration, {bw.concurrency} at once",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(title_justify="left")
    notes = any(est.warnings for _, est in result.waves)
    columns = ("wave", "VMs", "data", "expected", "lower bound", "transfer", "switchovers") + (
        ("notes",) if notes else ()
    )
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("wave", "notes") else "right", no_wrap=column != "notes"
        )
    for name, est in result.waves:
        table.add_row(
            name,
            str(len(est.vms)),
            bytes_text(est.bytes),
            f"[bold]{duration_text(est.duration_s)}[/]",
            duration_text(est.lower_bound_s),
            duration_text(est.transfer_s),
            duration_text(est.switchover_phase_s),
            *(["; ".join(est.warnings)] if notes else []),
        )
    table.add_row(
        "[bold]total[/]",
        str(sum(len(e.vms) for _, e in result.waves)),
        bytes_text(result.bytes),
        f"[bold]{duration_text(result.duration_s)}[/]",
        duration_text(result.lower_bound_s),
        "",
        "",
        *([""] if notes else []),
    )
    out.print(table)
    if per_vm:
        vms = Table(title="VMs", title_justify="left")
        for column in ("VM", "wave", "type", "data", "expected", "lower bound", "delta syncs"):
            vms.add_column(
                column, justify="left" if column in ("VM", "wave", "type") else "right", no_wrap=True
            )
        for name, est in result.waves:
            for vm in est.vms:
                vms.add_row(
                    vm.name,
                    name,
                    vm.migration_type,
                    bytes_text(vm.bytes),
                    duration_text(vm.duration_s),
                    duration_text(vm.lower_bound_s),
                    str(vm.delta_syncs),
                )
        out.print(vms)


def _estimate_json(plan: MigrationPlan, result: PlanEstimateResult, bw: BandwidthModel) -> dict[str, object]:
    return {
        "plan_id": plan.id,
        "bandwidth": bw.model_dump() | {"aggregate_gbps": bw.aggregate_gbps, "concurrency": bw.concurrency},
        "duration_s": result.duration_s,
        "lower_bound_s": result.lower_bound_s,
        "bytes": result.bytes,
        "waves": [
            {
                "name": name,
                "duration_s": est.duration_s,
                "lower_bound_s": est.lower_bound_s,
                "transfer_s": est.transfer_s,
                "switchover_phase_s": est.switchover_phase_s,
                "bytes": est.bytes,
                "warnings": est.warnings,
                "vms": [vm.model_dump() | {"duration_s": vm.duration_s, "bytes": vm.bytes} for vm in est.vms],
            }
            for name, est in result.waves
        ],
        "findings": [f.model_dump() for f in result.findings],
    }


# --- migrations and the demo ----------------------------------------------------------------------


def _register() -> None:
    from conductor.demo import register as register_demo
    from conductor.migrations import register as register_migrations

    register_migrations(app, out, err)
    register_demo(app, out, err)


_register()


# --- entry point --------------------------------------------------------------------------------


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app, turning every error into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # Standalone mode: typer prints usage errors and --help itself and exits through SystemExit.
        app(args=args, prog_name="conductor")
    except ConductorError as exc:
        if debug:
            raise
        _fail(_escape(exc.line()), exc.exit_code)
    except (PlanError, PlannerError) as exc:
        if debug:
            raise
        _fail(_escape(str(exc)), 2)
    except KeyboardInterrupt:
        if debug:
            raise
        err.print("interrupted", highlight=False)
        raise SystemExit(130) from None
    except Exception as exc:
        if debug:
            raise
        _fail(
            _escape(f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)"), 1
        )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
