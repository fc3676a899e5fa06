"""Fixtures for the wave engine's tests: fresh objects per test, servers on 127.0.0.1 port 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.clock import VirtualClock
from sandbox import Sandbox
from tests.engine import world


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(world.START)


@pytest.fixture
def sandbox(clock: VirtualClock) -> Iterator[Sandbox]:
    with Sandbox(world.scenario(), clock=clock) as sb:
        yield sb
