"""The transport-fault plan: rules as data, seeded draws, simulated-minute windows, counters."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest

from runtime.clock import VirtualClock
from sandbox.core.faults import FaultPlan, FaultRule
from sandbox.core.scenario import Scenario
from sandbox.core.world import World


def _fired(plan: FaultPlan, server: str, n: int, seed: int = 1, minute: float = 0.0) -> list[int]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        rule = plan.pick(server, "GET", "/x", minute, rng)
        out.append(rule.status if rule else 0)
    return out


def test_a_rule_fires_at_most_times_times() -> None:
    plan = FaultPlan([FaultRule(server="arm", status=429, times=2)])
    assert _fired(plan, "arm", 4) == [429, 429, 0, 0]


def test_hcx_matches_both_managers_but_not_arm() -> None:
    plan = FaultPlan([FaultRule(server="hcx", status=503)])
    assert _fired(plan, "hcx:source", 1) == [503]
    assert _fired(plan, "hcx:destination", 1) == [503]
    assert _fired(plan, "arm", 1) == [0]


def test_method_and_path_narrow_a_rule() -> None:
    plan = FaultPlan([FaultRule(server="arm", status=500, method="PUT", path_contains="/addons/")])
    rng = random.Random(0)
    assert plan.pick("arm", "GET", "/subscriptions/s/addons/hcx", 0, rng) is None
    assert plan.pick("arm", "PUT", "/subscriptions/s/clusters/c", 0, rng) is None
    assert plan.pick("arm", "put", "/subscriptions/s/addons/hcx", 0, rng) is not None


def test_a_partial_rate_fires_about_that_often_and_repeats_for_the_same_seed() -> None:
    plan_a = FaultPlan([FaultRule(server="hcx", status=503, rate=0.2)])
    plan_b = FaultPlan([FaultRule(server="hcx", status=503, rate=0.2)])
    a, b = _fired(plan_a, "hcx:source", 2000, seed=3), _fired(plan_b, "hcx:source", 2000, seed=3)
    assert a == b
    assert 300 < a.count(503) < 500


def test_outages_come_from_the_scenario_as_simulated_minute_windows(
    make_scenario: Callable[..., Scenario],
) -> None:
    scenario = make_scenario(
        faults={
            "hcx_outages": [{"manager": "destination", "at_minute": 30, "minutes": 6}],
            "arm_429_rate": 0.5,
        }
    )
    world = World(scenario, VirtualClock(scenario.start))
    plan = FaultPlan.from_scenario(world)
    outage = plan.rules[0]
    assert (outage.server, outage.status, outage.window, outage.label) == (
        "hcx:destination",
        503,
        (30, 36),
        "outage",
    )
    rng = random.Random(0)
    assert plan.pick("hcx:destination", "GET", "/", 29.9, rng) is None
    assert plan.pick("hcx:destination", "GET", "/", 30.0, rng) is outage
    assert plan.pick("hcx:source", "GET", "/", 31, rng) is None
    assert plan.pick("hcx:destination", "GET", "/", 36.0, rng) is None
    throttle = plan.rules[1]
    assert (throttle.server, throttle.status, throttle.retry_after) == ("arm", 429, 1)
    world.clock.advance(timedelta(minutes=31))
    assert world.minutes_since_start() == pytest.approx(31)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rate": 1.5}, "rate: must be within"), ({"status": 200}, "status: a fault answers 4xx or 5xx")],
)
def test_a_bad_rule_is_refused_with_the_field_named(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultRule(server="arm", **{"status": 429, **kwargs})
