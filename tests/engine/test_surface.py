"""The engine's packages list their public surface in `__all__`, and every listed name exists."""

from __future__ import annotations

import pytest

from tests.fixtures import assert_surface

MODULES = [
    "shared.engine",
    "shared.engine.admission",
    "shared.engine.approval",
    "shared.engine.cadence",
    "shared.engine.cutover",
    "shared.engine.errors",
    "shared.engine.observe",
    "shared.engine.payloads",
    "shared.engine.report",
    "shared.engine.root",
    "shared.engine.spec",
    "shared.engine.state",
    "shared.engine.status",
    "shared.engine.wave",
    "orchestrators.wave",
    "orchestrators.cutover",
    "activities.migrations",
    "activities.report",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_only_names_that_exist(name: str) -> None:
    assert_surface(name)


def test_engine_errors_form_one_tree_under_shared_error() -> None:
    from shared.engine import EngineError, EngineStateError
    from shared.errors import SharedError

    assert issubclass(EngineStateError, EngineError)
    assert issubclass(EngineError, SharedError)
