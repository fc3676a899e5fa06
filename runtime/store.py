"""The runtime's durable state: one SQLite file in WAL mode.

Tables (all keyed by instance id):

* `instances`: the status index (name, status, input, output, custom status, times, parent link).
  Status and list queries read only this table, never a history.
* `history`: the events of each instance's current execution, one row per event, append-only.
* `inbox`: messages waiting for the next episode (ExecutionStarted, task results, fired timers, raised
  events, terminate/suspend/resume). A message carries the execution id it belongs to, if any, so
  results for an execution that has since ended or continued as new are dropped, as DTFx does.
* `activities`: scheduled activity calls not yet completed. A row lives until its result is committed,
  so after a crash every row left is run again (activities are at-least-once).
* `timers`: durable timers not yet fired.

Every episode is one transaction (`commit_episode`), and so is every activity result
(`complete_activity`) and every batch of fired timers: a `kill -9` at any moment leaves either the
state before or the state after each of them. `synchronous=NORMAL` is durable across process crashes
(WAL frames are in the OS before COMMIT returns); a power cut may lose the last commits.

Each thread gets its own connection. Times are stored as fixed-width UTC text, so text order is time
order. Depends on the standard library and `runtime.history` only.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runtime.errors import StoreError

__all__ = [
    "TERMINAL_STATUSES",
    "ActivityRow",
    "InboxRow",
    "InstanceRow",
    "Store",
    "TimerRow",
    "db_time",
]

SCHEMA_VERSION = "1"
TERMINAL_STATUSES = ("Completed", "Failed", "Terminated", "Canceled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    parent_name TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_instances_created ON instances (created_time, instance_id);
CREATE INDEX IF NOT EXISTS ix_instances_status ON instances (status, created_time);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    kind INTEGER NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_inbox_instance ON inbox (instance_id, id);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE INDEX IF NOT EXISTS ix_activities_instance ON activities (instance_id);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    timer_id INTEGER NOT NULL,
    fire_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_timers_fire ON timers (fire_at);
CREATE INDEX IF NOT EXISTS ix_timers_instance ON timers (instance_id);
"""


def db_time(moment: datetime) -> str:
    """Fixed-width UTC text (`2026-01-05T09:00:00.000000Z`): sortable and exact to the microsecond."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class InstanceRow:
    instance_id: str
    name: str
    version: str
    execution_id: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: datetime
    last_updated_time: datetime
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_task_id: int | None
    parent_name: str | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class InboxRow:
    id: int
    instance_id: str
    execution_id: str | None
    kind: int
    event: str


@dataclass(frozen=True)
class ActivityRow:
    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class TimerRow:
    id: int
    instance_id: str
    execution_id: str
    timer_id: int
    fire_at: datetime


_INSTANCE_COLUMNS = (
    "instance_id, name, version, execution_id, status, input, output, custom_status, created_time, "
    "last_updated_time, parent_instance_id, parent_execution_id, parent_task_id, parent_name"
)


def _instance(row: Sequence[object]) -> InstanceRow:
    values = list(row)
    values[8] = from_db_time(str(values[8]))
    values[9] = from_db_time(str(values[9]))
    return InstanceRow(*values)  # type: ignore[arg-type]


class Store:
    """Thread-safe access to the state file; one SQLite connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        try:
            conn = self._conn()
            conn.executescript(_SCHEMA)
            found = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if found is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif found[0] != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: state schema {found[0]} is not the supported {SCHEMA_VERSION}"
                )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot use the state file ({exc})") from exc

    # -- connections and transactions ----------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction (BEGIN IMMEDIATE, so writers queue instead of deadlocking)."""
        conn = self._conn()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self._conn()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    # -- reads ---------------------------------------------------------------------------------

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        row = (
            self.read()
            .execute(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?", (instance_id,))  # noqa: S608
            .fetchone()
        )
        return _instance(row) if row else None

    def history(self, instance_id: str) -> list[str]:
        rows = self.read().execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
        )
        return [row[0] for row in rows]

    def inbox(self, instance_id: str) -> list[InboxRow]:
        rows = self.read().execute(
            "SELECT id, instance_id, execution_id, kind, event FROM inbox WHERE instance_id = ? ORDER BY id",
            (instance_id,),
        )
        return [InboxRow(*row) for row in rows]

    def instances_with_inbox(self) -> list[str]:
        rows = self.read().execute("SELECT instance_id, MIN(id) FROM inbox GROUP BY instance_id ORDER BY 2")
        return [row[0] for row in rows]

    def all_activities(self) -> list[ActivityRow]:
        rows = self.read().execute(
            "SELECT id, instance_id, execution_id, task_id, name, input FROM activities ORDER BY id"
        )
        return [ActivityRow(*row) for row in rows]

    def all_timers(self) -> list[TimerRow]:
        rows = self.read().execute(
            "SELECT id, instance_id, execution_id, timer_id, fire_at FROM timers ORDER BY fire_at, id"
        )
        return [TimerRow(r[0], r[1], r[2], r[3], from_db_time(r[4])) for r in rows]

    def list_instances(
        self,
        *,
        created_from: datetime | None,
        created_to: datetime | None,
        statuses: Sequence[str],
        prefix: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[InstanceRow]:
        """A page of the status index in (created_time, instance_id) order, after the key `after`."""
        where, args = self._filters(created_from, created_to, statuses, prefix)
        if after is not None:
            where.append("(created_time > ? OR (created_time = ? AND instance_id > ?))")
            args += [after[0], after[0], after[1]]
        sql = f"SELECT {_INSTANCE_COLUMNS} FROM instances"  # noqa: S608 - constant columns; values bound
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_time, instance_id LIMIT ?"
        return [_instance(row) for row in self.read().execute(sql, [*args, limit])]

    @staticmethod
    def _filters(
        created_from: datetime | None,
        created_to: datetime | None,
        statuses: Sequence[str],
        prefix: str | None,
    ) -> tuple[list[str], list[object]]:
        where: list[str] = []
        args: list[object] = []
        if created_from is not None:
            where.append("created_time >= ?")
            args.append(db_time(created_from))
        if created_to is not None:
            where.append("created_time <= ?")
            args.append(db_time(created_to))
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        if prefix:
            # GLOB is case-sensitive like instance ids; escape its wildcards in the prefix.
            escaped = prefix.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
            where.append("instance_id GLOB ?")
            args.append(escaped + "*")
        return where, args

    # -- writes used by several callers ----------------------------------------------------------

    @staticmethod
    def insert_instance(cur: sqlite3.Cursor, row: InstanceRow) -> None:
        cur.execute(
            f"INSERT OR REPLACE INTO instances ({_INSTANCE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            (
                row.instance_id,
                row.name,
                row.version,
                row.execution_id,
                row.status,
                row.input,
                row.output,
                row.custom_status,
                db_time(row.created_time),
                db_time(row.last_updated_time),
                row.parent_instance_id,
                row.parent_execution_id,
                row.parent_task_id,
                row.parent_name,
            ),
        )

    @staticmethod
    def enqueue(
        cur: sqlite3.Cursor, instance_id: str, execution_id: str | None, kind: int, event: str
    ) -> None:
        cur.execute(
            "INSERT INTO inbox (instance_id, execution_id, kind, event) VALUES (?,?,?,?)",
            (instance_id, execution_id, kind, event),
        )

    @staticmethod
    def clear_instance(cur: sqlite3.Cursor, instance_id: str, *, keep_inbox: bool = False) -> None:
        """Forget an instance's execution state (history, pending work); the index row stays."""
        cur.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))
        cur.execute("DELETE FROM activities WHERE instance_id = ?", (instance_id,))
        cur.execute("DELETE FROM timers WHERE instance_id = ?", (instance_id,))
        if not keep_inbox:
            cur.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))

    @staticmethod
    def append_history(cur: sqlite3.Cursor, instance_id: str, start: int, events: Iterable[str]) -> None:
        cur.executemany(
            "INSERT INTO history (instance_id, seq, event) VALUES (?,?,?)",
            [(instance_id, start + offset, text) for offset, text in enumerate(events)],
        )

    @staticmethod
    def delete_inbox(cur: sqlite3.Cursor, ids: Iterable[int]) -> None:
        cur.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in ids])

    @staticmethod
    def insert_activity(
        cur: sqlite3.Cursor,
        instance_id: str,
        execution_id: str,
        task_id: int,
        name: str,
        input_text: str | None,
    ) -> ActivityRow:
        cur.execute(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, task_id, name, input_text),
        )
        return ActivityRow(int(cur.lastrowid or 0), instance_id, execution_id, task_id, name, input_text)

    @staticmethod
    def insert_timer(
        cur: sqlite3.Cursor, instance_id: str, execution_id: str, timer_id: int, fire_at: datetime
    ) -> TimerRow:
        cur.execute(
            "INSERT INTO timers (instance_id, execution_id, timer_id, fire_at) VALUES (?,?,?,?)",
            (instance_id, execution_id, timer_id, db_time(fire_at)),
        )
        return TimerRow(int(cur.lastrowid or 0), instance_id, execution_id, timer_id, fire_at)

    @staticmethod
    def delete_timers(
        cur: sqlite3.Cursor, instance_id: str, execution_id: str, timer_ids: Iterable[int]
    ) -> None:
        cur.executemany(
            "DELETE FROM timers WHERE instance_id = ? AND execution_id = ? AND timer_id = ?",
            [(instance_id, execution_id, t) for t in timer_ids],
        )

    def complete_activity(self, row: ActivityRow, kind: int, event: str) -> bool:
        """Record an activity's result atomically with removing its work row. Returns False (and
        records nothing) when the row is gone: the instance ended, was purged or continued as new."""
        with self.write() as cur:
            cur.execute("DELETE FROM activities WHERE id = ?", (row.id,))
            if cur.rowcount == 0:
                return False
            self.enqueue(cur, row.instance_id, row.execution_id, kind, event)
            return True

    def fire_timers(self, due: Sequence[TimerRow], events: Sequence[str], kind: int) -> list[str]:
        """Move due timers into their instances' inboxes in one transaction; returns the instance
        ids that received a message (a timer deleted meanwhile, e.g. cancelled, is skipped)."""
        woken: list[str] = []
        with self.write() as cur:
            for timer, event in zip(due, events, strict=True):
                cur.execute("DELETE FROM timers WHERE id = ?", (timer.id,))
                if cur.rowcount:
                    self.enqueue(cur, timer.instance_id, timer.execution_id, kind, event)
                    woken.append(timer.instance_id)
        return woken

    def purge(self, cur: sqlite3.Cursor, instance_id: str) -> None:
        self.clear_instance(cur, instance_id)
        cur.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))

    def terminal_instances(
        self, created_from: datetime, created_to: datetime | None, statuses: Sequence[str]
    ) -> list[str]:
        chosen = [s for s in statuses if s in TERMINAL_STATUSES] if statuses else list(TERMINAL_STATUSES)
        if not chosen:
            return []
        where, args = self._filters(created_from, created_to, chosen, None)
        sql = "SELECT instance_id FROM instances WHERE " + " AND ".join(where)  # noqa: S608 - values bound
        return [row[0] for row in self.read().execute(sql, args)]
