"""kill -9 the runtime process in the middle of orchestrations, restart it, and lose nothing.

Every instance must complete with the right output; every activity's side effect must appear at
least once and at most twice (twice only for an activity that was running at a kill: activities are
at-least-once), and no more such repeats than kills × workers.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests import fixtures

WORKERS = 3
INSTANCES = 12
KILLS = 4
EXPECTED = [f"seq-{n}" for n in range(4)] + [f"fan-{n}" for n in range(4)]


def start_runtime(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    process, base, _ = fixtures.start_runtime(
        *("--app", "tests.apps.crash_app:app", "--state", str(tmp_path / "state.sqlite")),
        *("--settings", str(tmp_path / "local.settings.json"), "--port", "0", "--workers", str(WORKERS)),
        env={k: v for k, v in os.environ.items() if k != "CRASH_JOURNAL"},
    )
    return process, base


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.slow
def test_sigkill_mid_orchestrations_loses_and_repeats_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "journal.txt"
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"CRASH_JOURNAL": str(journal)}}))
    pace = random.Random(7)
    process, base = start_runtime(tmp_path)
    try:
        api = f"{base}/runtime/webhooks/durabletask"
        for n in range(INSTANCES):
            assert httpx.post(f"{api}/orchestrators/crashy/crash-{n}", json={"n": n}).status_code == 202
        for _ in range(KILLS):
            time.sleep(pace.uniform(0.15, 0.5))
            kill(process)
            process, base = start_runtime(tmp_path)
        api = f"{base}/runtime/webhooks/durabletask"
        deadline = time.monotonic() + 90
        while True:
            statuses = httpx.get(f"{api}/instances/?instanceIdPrefix=crash-").json()
            if len(statuses) == INSTANCES and all(s["runtimeStatus"] == "Completed" for s in statuses):
                break
            assert time.monotonic() < deadline, [s["runtimeStatus"] for s in statuses]
            time.sleep(0.2)
        assert all(s["output"] == EXPECTED for s in statuses)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output[-3000:]
    assert "Stopped." in output

    counts = Counter(journal.read_text().splitlines())
    expected_keys = {f"crash-{n}|{key}" for n in range(INSTANCES) for key in EXPECTED}
    assert set(counts) == expected_keys
    repeated = [key for key, count in counts.items() if count > 1]
    assert all(count <= 2 for count in counts.values()), counts.most_common(3)
    assert len(repeated) <= KILLS * WORKERS
