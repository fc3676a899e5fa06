"""The bandwidth model and the time line, driven directly (no HTTP, no clock)."""

from __future__ import annotations

import math

import pytest

from sandbox.hcx.models.bandwidth import GBPS, FlowNetwork, fair_rates
from sandbox.hcx.models.timeline import Timeline


def test_a_lone_flow_is_capped_at_one_gbps() -> None:
    assert fair_rates({"ix": 1}, 1.0, 1.6, 8.0) == {"ix": 1.0}


def test_flows_behind_one_appliance_share_its_one_point_six_gbps() -> None:
    assert fair_rates({"ix": 4}, 1.0, 1.6, 8.0)["ix"] == pytest.approx(0.4)


def test_the_link_is_shared_fairly_when_it_binds() -> None:
    # Three appliances could carry 4.8 Gbps but the link gives 2: each of the 6 flows gets a third.
    rates = fair_rates({"a": 2, "b": 2, "c": 2}, 1.0, 1.6, 2.0)
    assert sum(2 * r for r in rates.values()) == pytest.approx(2.0)
    assert list(rates.values()) == pytest.approx([1 / 3] * 3)


def test_a_lightly_loaded_appliance_keeps_its_share_when_the_link_binds() -> None:
    # "a" has 1 flow, "b" 16: max-min gives a's flow the same level as b's until b saturates at 1.6.
    rates = fair_rates({"a": 1, "b": 16}, 1.0, 1.6, 2.0)
    total = rates["a"] + 16 * rates["b"]
    assert total == pytest.approx(2.0)
    assert rates["b"] == pytest.approx(0.1)
    assert rates["a"] == pytest.approx(0.4)


def test_empty_groups_get_no_rate() -> None:
    assert fair_rates({"a": 0}, 1.0, 1.6, 2.0) == {}


def test_a_flow_finishes_when_its_bytes_have_moved_at_its_rate() -> None:
    net = FlowNetwork(link=10 * GBPS)
    net.start("f", "ix", 10 * GBPS)  # ten seconds at 1 Gbps
    assert net.seconds_to_next_finish() == pytest.approx(10.0)
    net.advance(4)
    assert net.moved("f") == pytest.approx(4 * GBPS)
    net.advance(6)
    assert net.pop_finished() == ["f"]
    assert len(net) == 0


def test_a_second_flow_halves_the_first_ones_rate_and_finish_order_follows_size() -> None:
    net = FlowNetwork(link=10 * GBPS, per_group=1.0 * GBPS)
    net.start("big", "ix", 10 * GBPS)
    net.advance(2)  # big moved 2 s worth
    net.start("small", "ix", 1 * GBPS)
    assert net.rate("big") == pytest.approx(0.5 * GBPS)
    assert net.seconds_to_next_finish() == pytest.approx(2.0)  # small: 1 Gb at 0.5 Gbps
    net.advance(2)
    assert net.pop_finished() == ["small"]
    assert net.rate("big") == pytest.approx(1.0 * GBPS)
    assert net.moved("big") == pytest.approx(3 * GBPS)


def test_stopping_a_flow_returns_its_bytes_and_frees_its_share() -> None:
    net = FlowNetwork(link=10 * GBPS, per_group=1.0 * GBPS)
    net.start("a", "ix", 100 * GBPS)
    net.start("b", "ix", 100 * GBPS)
    net.advance(10)
    assert net.stop("a") == pytest.approx(5 * GBPS)
    assert net.rate("b") == pytest.approx(GBPS)
    assert net.seconds_to_next_finish() == pytest.approx(95.0)


def test_the_timeline_runs_timers_and_transfers_in_time_order() -> None:
    line = Timeline(FlowNetwork(link=10 * GBPS))
    seen: list[tuple[str, float]] = []
    line.at(5.0, lambda: seen.append(("timer", line.now)))
    line.transfer("f", "ix", 3 * GBPS, lambda: seen.append(("flow", line.now)))
    line.at(1.0, lambda: seen.append(("early", line.now)))
    line.run_until(10.0)
    assert seen == [("early", 1.0), ("flow", pytest.approx(3.0)), ("timer", 5.0)]
    assert line.now == 10.0


def test_a_cancelled_timer_never_fires_and_next_due_skips_it() -> None:
    line = Timeline(FlowNetwork(link=GBPS))
    fired: list[int] = []
    timer = line.at(1.0, lambda: fired.append(1))
    line.at(2.0, lambda: fired.append(2))
    line.cancel(timer)
    assert line.next_due() == 2.0
    line.run_until(5.0)
    assert fired == [2]


def test_an_action_may_schedule_more_work_at_its_own_instant() -> None:
    line = Timeline(FlowNetwork(link=GBPS))
    seen: list[str] = []
    line.at(1.0, lambda: line.at(line.now, lambda: seen.append("chained")))
    line.run_until(1.0)
    assert seen == ["chained"]
    assert math.isinf(line.next_due())
