"""Each shared package lists its public surface in `__all__`, and every listed name exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "shared.errors",
    "shared.findings",
    "shared.cloud",
    "shared.tls",
    "shared.plan",
    "shared.plan.models",
    "shared.plan.plan",
    "shared.plan.checks",
    "shared.plan.loading",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_only_names_that_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, f"{name} has an empty __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []
    assert len(set(module.__all__)) == len(module.__all__)
