"""The sandbox benchmark still measures what it says (figures themselves are not asserted here)."""

from __future__ import annotations

from benchmarks.sandbox_bench import measure_requests, measure_week


def test_the_request_benchmark_gets_answers_not_errors() -> None:
    figures = measure_requests(seconds=0.3, concurrency=4)
    assert figures.requests > 0
    assert figures.errors == 0


def test_the_week_benchmark_migrates_every_vm_of_the_large_scenario() -> None:
    week = measure_week(days=7, step_minutes=30, query_every_minutes=120)
    assert week.vms == week.started == week.completed == 1000
    assert week.makespan_hours is not None
    assert 24 < week.makespan_hours <= 7 * 24
    assert week.terabytes_moved > 85  # at least every VM's used disk, plus delta syncs
