"""Helpers several test areas share (the shared fixtures themselves are in tests/conftest.py).

* `merge`: deep-merge overrides into a base scenario or plan.
* `start_runtime`: `python -m runtime start …` in a subprocess, up to its "Listening on" line.
* `assert_surface`: a module's `__all__` lists names it has, each once.
"""

from __future__ import annotations

import copy
import importlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with `overrides` merged in: dicts merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def start_runtime(
    *args: str, env: Mapping[str, str] | None = None, drain: bool = False
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """(process, base URL, output lines so far) of `python -m runtime start *args`, run from the repo.

    Waits up to a minute for the "Listening on" line; a runtime that does not get there is killed and
    the test fails with its output. With `drain`, a thread keeps appending the rest of the output to
    the returned list (so the pipe never fills); without it, read the rest with `communicate()`.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "start", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=None if env is None else dict(env),
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"Listening on (http://\S+)", line)
        if found:
            if drain:
                reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
                reader.start()
            return process, found.group(1), lines
    process.kill()
    pytest.fail("the runtime did not start:\n" + "".join(lines)[-3000:])


def assert_surface(name: str) -> None:
    """Module `name` lists its public surface in `__all__`: not empty, no name twice, each one there."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} has an empty __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names what it lacks: {missing}"
    assert [n for n in exported if getattr(module, n) is None] == [], f"{name}.__all__ names a None"
    assert len(set(exported)) == len(exported), f"{name}.__all__ names something twice"
