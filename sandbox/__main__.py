"""`python -m sandbox serve SCENARIO` and `python -m sandbox validate SCENARIO`.

`serve` starts the sandbox standalone and prints what a person or a script needs to point the app at
it: the ARM endpoint, subscription and resource ids, the CA path, each HCX Manager's URL and SHA-256
fingerprint, and the app settings (the static ARM token is written to the env file, never printed).
It then runs until interrupted. With `--clock virtual` time moves only through
`POST /_sandbox/clock`; the default is an accelerated clock at the scenario's `time_compression`.
`validate` reads a scenario and names every bad field; both exit 2 on a bad scenario file.

argparse (standard library) is enough for two subcommands; this module depends on the sandbox only.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from runtime.clock import AcceleratedClock, Clock, VirtualClock
from sandbox.core.scenario import Scenario, ScenarioError, load_scenario
from sandbox.core.world import SIDES, World

__all__ = ["main"]

EXIT_BAD_SCENARIO = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a scenario over TLS on 127.0.0.1 until interrupted")
    serve.add_argument("scenario", type=Path)
    serve.add_argument("--clock", choices=("accelerated", "virtual"), default="accelerated")
    serve.add_argument("--factor", type=float, default=None, help="simulated seconds per wall second")
    serve.add_argument("--state-dir", type=Path, default=None, help="where ca.pem and sandbox.json go")
    serve.add_argument("--env-file", type=Path, default=None, help="write the app settings here (KEY=VALUE)")
    validate = commands.add_parser("validate", help="check a scenario file and summarise it")
    validate.add_argument("scenario", type=Path)
    return parser


def _clock(kind: str, factor: float | None, scenario: Scenario) -> Clock:
    if kind == "virtual":
        return VirtualClock(scenario.start)
    rate = factor if factor is not None else scenario.time_compression
    if rate <= 0:
        raise ScenarioError(f"--factor: must be positive, got {rate}")
    return AcceleratedClock(scenario.start, rate)


def _summary(scenario: Scenario, out: TextIO) -> None:
    world = World(scenario)
    print(f"scenario {scenario.name!r} is valid (seed {scenario.seed})", file=out)
    for side in SIDES:
        cloud = world.cloud(side)
        vms = world.inventory[side]
        print(
            f"  {side:<12} {cloud.name} in {cloud.region}, Gen {cloud.generation}, HCX {cloud.hcx.addon}, "
            f"{len(vms)} VMs ({sum(vm.disk_gb for vm in vms):,.0f} GB provisioned, "
            f"{sum(vm.used for vm in vms):,.0f} GB used), {len(cloud.networks)} networks",
            file=out,
        )
    conn = scenario.connectivity
    print(
        f"  connectivity interconnect={conn.interconnect} global_reach={conn.global_reach} "
        f"vnet_peering={conn.vnet_peering} link={conn.link_gbps} Gbps; "
        f"{len(scenario.service_meshes)} service mesh(es)",
        file=out,
    )


def _write_env(path: Path, settings: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the ARM token
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{key}={value}\n" for key, value in settings.items())


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from sandbox.sandbox import Sandbox  # the servers load only when serving

    scenario = load_scenario(args.scenario)
    clock = _clock(args.clock, args.factor, scenario)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Sandbox(scenario, clock=clock, state_dir=args.state_dir) as sb:
        info = sb.describe()
        settings = sb.app_settings()
        env_file = args.env_file or Path(sb.state_dir) / "app.env"
        _write_env(env_file, settings)
        rate = f" x{clock.factor:g}" if isinstance(clock, AcceleratedClock) else ""
        print(
            f"HCX Conductor sandbox: {scenario.name} (seed {scenario.seed}, {args.clock} clock{rate})",
            file=out,
        )
        print(f"ARM endpoint       {info['arm_endpoint']}", file=out)
        print(f"subscription       {info['subscription_id']}  (tenant {info['tenant_id']})", file=out)
        print(f"CA bundle          {info['ca_path']}", file=out)
        for side in SIDES:
            cloud = info["clouds"][side]
            print(f"{side + ' cloud':<18} {cloud['resource_id']}", file=out)
            print(f"{'  region':<18} {cloud['region']}, Gen {cloud['generation']}", file=out)
            print(f"{'  HCX Manager':<18} {cloud['hcx_url']}  ({cloud['hcx_certificate']})", file=out)
            print(f"{'  HCX SHA-256':<18} {cloud['hcx_fingerprint_sha256']}", file=out)
        print(f"introspection      {info['introspection']}", file=out)
        print(f"app settings       (written to {env_file})", file=out)
        for key, value in settings.items():
            shown = "<in the env file>" if key == "AVS_STATIC_TOKEN" else value
            print(f"  {key}={shown}", file=out)
        print("ready; Ctrl-C stops the sandbox", file=out, flush=True)
        stop.wait()
    print("stopped", file=out, flush=True)
    return 0


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            _summary(load_scenario(args.scenario), out)
            return 0
        return _serve(args, out)
    except ScenarioError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_SCENARIO


if __name__ == "__main__":
    sys.exit(main())
