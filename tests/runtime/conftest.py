"""Fixtures for the runtime's tests: fresh objects per test, loopback servers on port 0."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import LocalRuntime, VirtualClock
from tests.apps.durable_app import Journal, build_app


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), auto_advance=True)


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def runtime(tmp_path: Path, clock: VirtualClock, journal: Journal) -> Iterator[LocalRuntime]:
    with LocalRuntime(build_app(journal), tmp_path / "state.sqlite", clock=clock, workers=4) as rt:
        yield rt
