"""A real Azurite (blob + queue services) for one test: ephemeral ports, in memory, no telemetry.

Built on tests/runtime/azurite.py (the account, its public development key and where the binary
lives), with the blob service too: the Blob Created path reads a plan file from it.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.runtime.azurite import ACCOUNT, KEY, azurite_queue_binary

_LISTENING = re.compile(r"Azurite (Blob|Queue) service is successfully listening at (http://\S+)")


@contextmanager
def azurite(workdir: Path) -> Iterator[str]:
    """Yields a connection string with BlobEndpoint and QueueEndpoint of a fresh Azurite."""
    workdir.mkdir(parents=True, exist_ok=True)
    binary = str(Path(azurite_queue_binary()).with_name("azurite"))
    process = subprocess.Popen(
        [
            binary,
            *("--blobHost", "127.0.0.1", "--blobPort", "0"),
            *("--queueHost", "127.0.0.1", "--queuePort", "0"),
            *("--tableHost", "127.0.0.1", "--tablePort", "0"),
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
        endpoints: dict[str, str] = {}
        seen: list[str] = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while len(endpoints) < 2 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                endpoints[match.group(1)] = match.group(2).rstrip("/")
        if len(endpoints) < 2:
            pytest.fail("Azurite did not start: " + "".join(seen)[-2000:])
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={endpoints['Blob']}/{ACCOUNT};QueueEndpoint={endpoints['Queue']}/{ACCOUNT};"
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
