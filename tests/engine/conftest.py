"""Fixtures for the wave engine's tests: fresh objects per test, servers on 127.0.0.1 port 0."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from runtime.clock import VirtualClock
from sandbox import Sandbox
from tests.engine import world


@pytest.fixture(autouse=True)
def clean_environ() -> Iterator[None]:
    """Keep os.environ as it was: the local runtime writes its settings into the environment."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(world.START)


@pytest.fixture
def sandbox(clock: VirtualClock) -> Iterator[Sandbox]:
    with Sandbox(world.scenario(), clock=clock) as sb:
        yield sb
