"""The SQLite store: schema checks, atomic episodes and activity results, the status index."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import runtime
from runtime import StoreError
from runtime.history import EventType
from runtime.store import ActivityRow, InstanceRow, Store

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def instance(instance_id: str, status: str = "Running", created: datetime = T0) -> InstanceRow:
    return InstanceRow(
        instance_id, "orch", "", "exec", status, None, None, None, created, created, None, None, None, None
    )


def test_state_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    assert store.read().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot use the state file"):
        Store(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(StoreError, match="schema 99"):
        Store(path)


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    with store.write() as cur:
        store.insert_instance(cur, instance("a"))

    def episode_that_crashes() -> None:
        with store.write() as cur:
            store.append_history(cur, "a", 0, ['{"EventType":12}'])
            store.insert_activity(cur, "a", "exec", 0, "act", "1")
            raise RuntimeError("crash in the middle of an episode")

    with pytest.raises(RuntimeError):
        episode_that_crashes()
    assert store.history("a") == []
    assert store.all_activities() == []
    store.close()


def test_an_activity_result_is_recorded_once_with_its_work_row_removed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    with store.write() as cur:
        row = store.insert_activity(cur, "a", "exec", 3, "act", "1")
    assert store.complete_activity(row, EventType.TASK_COMPLETED, '{"EventType":5}') is True
    assert store.complete_activity(row, EventType.TASK_COMPLETED, '{"EventType":5}') is False
    assert [m.kind for m in store.inbox("a")] == [EventType.TASK_COMPLETED]
    assert store.all_activities() == []
    store.close()


def test_results_for_dropped_work_are_not_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    ghost = ActivityRow(999, "a", "exec", 0, "act", None)
    assert store.complete_activity(ghost, EventType.TASK_COMPLETED, "{}") is False
    assert store.inbox("a") == []
    store.close()


def test_list_pages_in_creation_order_and_filters_by_prefix_and_status(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    with store.write() as cur:
        for n in range(5):
            store.insert_instance(
                cur, instance(f"job-{n}", "Completed" if n % 2 else "Running", T0 + timedelta(seconds=n))
            )
        store.insert_instance(cur, instance("other", "Running"))
    first = store.list_instances(
        created_from=None, created_to=None, statuses=[], prefix="job-", after=None, limit=2
    )
    assert [r.instance_id for r in first] == ["job-0", "job-1"]
    after = (first[-1].created_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), first[-1].instance_id)
    second = store.list_instances(
        created_from=None, created_to=None, statuses=[], prefix="job-", after=after, limit=10
    )
    assert [r.instance_id for r in second] == ["job-2", "job-3", "job-4"]
    done = store.list_instances(
        created_from=None, created_to=None, statuses=["Completed"], prefix=None, after=None, limit=10
    )
    assert [r.instance_id for r in done] == ["job-1", "job-3"]
    store.close()


def test_status_queries_use_the_index_not_the_history(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    plan = (
        store.read()
        .execute(
            "EXPLAIN QUERY PLAN SELECT instance_id FROM instances "
            "WHERE status IN ('Running') ORDER BY created_time"
        )
        .fetchall()
    )
    assert any("ix_instances_status" in str(row) for row in plan)
    store.close()


def test_the_package_lists_its_public_surface() -> None:
    exported = set(runtime.__all__)
    assert exported == {name for name in dir(runtime) if not name.startswith("_") and name[0].isupper()} | {
        "clock_from_spec"
    }
    assert runtime.__all__ == sorted(runtime.__all__)
