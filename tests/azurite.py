"""Start and stop a real Azurite for one test: the services it asks for, ephemeral ports, in memory.

One helper for every test that needs Azure Storage: `azurite(workdir, services)` yields a connection
string for the queue and/or blob services; `azurite_endpoints(workdir, services, *extra)` yields the
endpoints themselves and takes extra Azurite options (TLS, OAuth). One service runs its own binary
(`azurite-queue`, `azurite-blob`); several run the combined `azurite`, which also opens the table
service (on an ephemeral port too, since it cannot be left out).

The binaries come from env AZURITE_BIN (set by `make test`; its siblings are the per-service ones) or
.tools/node_modules/.bin; if Azurite is not installed the test fails and says to run `make tools`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development key (not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# The single-service binaries say "listens on", the combined one "is successfully listening at".
_LISTENING = re.compile(
    r"Azurite (Blob|Queue|Table) service (?:is )?successfully (?:listens on|listening at) (https?://\S+)"
)


def azurite_binary(name: str) -> str:
    """The path of Azurite's `name` binary (`azurite`, `azurite-queue`, `azurite-blob`)."""
    candidates = []
    configured = os.environ.get("AZURITE_BIN")
    if configured:
        candidates.append(Path(configured).with_name(name))
    candidates.append(REPO / ".tools" / "node_modules" / ".bin" / name)
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail("Azurite is not installed: run `make tools` (npm install --prefix .tools azurite@3)")


@contextmanager
def azurite_endpoints(workdir: Path, services: Sequence[str], *extra: str) -> Iterator[dict[str, str]]:
    """Yields {service: endpoint} ("blob", "queue") of a fresh Azurite running `services`."""
    workdir.mkdir(parents=True, exist_ok=True)
    if len(services) == 1:
        binary, opened = azurite_binary(f"azurite-{services[0]}"), list(services)
    else:
        binary, opened = azurite_binary("azurite"), ["blob", "queue", "table"]
    ports = [arg for service in opened for arg in (f"--{service}Host", "127.0.0.1", f"--{service}Port", "0")]
    process = subprocess.Popen(
        [binary, *ports, "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", *extra],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        endpoints: dict[str, str] = {}
        seen: list[str] = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while not set(services) <= endpoints.keys() and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if match := _LISTENING.search(line):
                endpoints[match.group(1).lower()] = match.group(2).rstrip("/")
        if not set(services) <= endpoints.keys():
            pytest.fail("Azurite did not start: " + "".join(seen)[-2000:])
        yield {service: endpoints[service] for service in services}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def azurite(workdir: Path, services: Sequence[str] = ("queue",)) -> Iterator[str]:
    """Yields a connection string with the `services`' endpoints of a fresh Azurite."""
    with azurite_endpoints(workdir, services, "--silent") as endpoints:
        yield f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};" + "".join(
            f"{service.capitalize()}Endpoint={endpoints[service]}/{ACCOUNT};" for service in services
        )
