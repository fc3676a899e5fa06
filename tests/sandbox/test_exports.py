"""Each sandbox package lists its surface in `__all__`, and every listed name exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import assert_surface

MODULES = [
    "sandbox",
    "sandbox.__main__",
    "sandbox.sandbox",
    "sandbox.core.scenario",
    "sandbox.core.world",
    "sandbox.core.tls",
    "sandbox.core.faults",
    "sandbox.core.server",
    "sandbox.core.introspection",
    "sandbox.avs",
    "sandbox.avs.exceptions",
    "sandbox.avs.bodies",
    "sandbox.avs.models",
    "sandbox.avs.models.clusters",
    "sandbox.avs.responses",
    "sandbox.avs.urls",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_exists_once(name: str) -> None:
    assert_surface(name)


def test_the_public_classes_of_a_module_are_exported() -> None:
    from sandbox.avs import exceptions

    errors = {n for n, v in vars(exceptions).items() if isinstance(v, type) and issubclass(v, Exception)}
    assert errors == set(exceptions.__all__)


def test_reading_a_scenario_does_not_load_the_servers() -> None:
    code = (
        "import sys, sandbox; from sandbox import load_scenario; "
        "load_scenario('examples/scenarios/same-region.yaml'); print('aiohttp' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
