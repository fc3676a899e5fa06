"""Each shared package lists its public surface in `__all__`, and every listed name exists."""

from __future__ import annotations

import pytest

from tests.fixtures import assert_surface

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
    "shared.settings",
    "shared.avs",
    "shared.credentials",
    "shared.hcx",
    "shared.hcx.client",
    "shared.hcx.transport",
    "shared.hcx.envelope",
    "shared.hcx.models",
    "shared.hcx.migrations",
    "shared.hcx.errors",
    "shared.identity",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_only_names_that_exist(name: str) -> None:
    assert_surface(name)


def test_the_avs_module_offers_no_way_to_rotate_a_password() -> None:
    import shared.avs

    assert not [name for name in dir(shared.avs) if "rotate" in name.lower()]


def test_every_hcx_error_is_a_shared_error_with_a_retry_verdict() -> None:
    import shared.hcx.errors as errors
    from shared.errors import SharedError

    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, Exception):
            assert issubclass(cls, SharedError)
            assert cls.retryable == (issubclass(cls, errors.HcxUnavailable))
