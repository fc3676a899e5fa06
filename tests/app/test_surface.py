"""The app's own modules list their surface in `__all__`, and the example plans fit their worlds."""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from shared.plan import parse_plan
from shared.tls import normalise_fingerprint
from tests.app.conftest import PLAN_FOR, plan, scenario
from tests.fixtures import assert_surface

MODULES = [
    "shared.api",
    "shared.events",
    "shared.intake",
    "shared.preflight",
    "shared.prepared",
    "shared.status",
    "activities._clients",
    "activities.avs",
    "activities.events",
    "activities.hcx",
    "orchestrators.migration",
    "orchestrators.prepare",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_only_names_that_exist(name: str) -> None:
    assert_surface(name)


def test_the_function_app_serves_every_trigger_of_the_api() -> None:
    import function_app

    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    kinds = {name: {b.get_dict_repr()["type"] for b in f.get_bindings()} for name, f in functions.items()}
    assert {"migration", "prepare_migration", "validate_migration"} <= {
        n for n, k in kinds.items() if "orchestrationTrigger" in k
    }
    assert "eventGridTrigger" in kinds["eventgrid_intake"]
    assert {"queueTrigger", "queue", "durableClient"} <= kinds["queue_intake"]


@pytest.mark.parametrize("world", sorted(PLAN_FOR))
def test_each_example_plan_names_its_worlds_clouds_and_pins_its_managers(world: str) -> None:
    the_plan = parse_plan(plan(world))
    sandbox = Sandbox(scenario(world))
    assert (the_plan.source, the_plan.destination) == (
        sandbox.cloud_id("source"),
        sandbox.cloud_id("destination"),
    )
    assert set(the_plan.hcx.trusted_fingerprints) == {
        normalise_fingerprint(sandbox.hcx_fingerprint(side)) for side in ("source", "destination")
    }
