"""Each `conductor` module lists its public surface in `__all__`, and every listed name exists."""

from __future__ import annotations

import pkgutil

import pytest

import conductor
from tests.fixtures import assert_surface

MODULES = sorted(
    f"conductor.{m.name}" for m in pkgutil.iter_modules(conductor.__path__) if m.name != "__main__"
)


def test_every_module_is_checked() -> None:
    assert {"conductor.client", "conductor.demo", "conductor.migrations", "conductor.progress"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_only_names_that_exist(name: str) -> None:
    assert_surface(name)


def test_the_package_itself_imports_nothing_heavy() -> None:
    # `import conductor.rvtools` must not pay for typer and rich: the package re-exports nothing.
    assert conductor.__all__ == []
