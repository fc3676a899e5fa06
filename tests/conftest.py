"""Fixtures every test area shares: each test starts and ends with the process as it found it.

* `clean_environ`: the local runtime (and the CLI, and some tests) write app settings into
  os.environ; whatever a test sets there is put back as it was when it ends.
* `fresh_client_cache`: activities cache logged-in HCX clients per process, keyed by URL; ephemeral
  ports are reused by later sandboxes, so the cache is emptied around every test that loaded it.

Helpers (not fixtures) that several areas share live in tests/fixtures.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _clear_client_cache() -> None:
    # Only when a test has loaded the activities: importing them here would slow every other test.
    clients = sys.modules.get("activities._clients")
    if clients is not None:
        clients.cache.clear()


@pytest.fixture(autouse=True)
def fresh_client_cache() -> Iterator[None]:
    _clear_client_cache()
    yield
    _clear_client_cache()
