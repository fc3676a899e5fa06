"""Start and stop a real Azurite queue service for a test (ephemeral port, in-memory, no telemetry).

The binary comes from env AZURITE_BIN (set by `make test`) or .tools/node_modules/.bin; if Azurite is
not installed the test fails and says to run `make tools`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development key (not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Queue service (?:is )?successfully listens on (http://\S+)")


def azurite_queue_binary() -> str:
    candidates = []
    configured = os.environ.get("AZURITE_BIN")
    if configured:
        candidates.append(Path(configured).with_name("azurite-queue"))
    candidates.append(REPO / ".tools" / "node_modules" / ".bin" / "azurite-queue")
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("azurite-queue")
    if found:
        return found
    pytest.fail("Azurite is not installed: run `make tools` (npm install --prefix .tools azurite@3)")


@contextmanager
def azurite_queue(workdir: Path) -> Iterator[str]:
    """Yields a connection string for a fresh Azurite queue service."""
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            azurite_queue_binary(),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            "0",
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        endpoint = None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                endpoint = match.group(1).rstrip("/")
                break
        if endpoint is None:
            pytest.fail("Azurite did not start: " + "".join(seen)[-2000:])
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"QueueEndpoint={endpoint}/{ACCOUNT};"
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
