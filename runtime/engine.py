"""The orchestration engine: runs episodes, activities and durable timers on top of the store.

Threads:

* one **dispatcher** fires due timers and runs one episode at a time (episodes are CPU-bound Python
  under the GIL, so more threads would not make them faster, and one thread per engine keeps every
  instance's episodes strictly ordered);
* `workers` **activity threads** (the `maxConcurrentActivityFunctions` of host.json) run activities.

The store is the truth; the engine keeps in memory only what it can rebuild from it at start-up: which
instances have messages (`_ready`), the activity queue, the timer heap, and a bounded cache of recent
histories so an episode does not re-read its history from SQLite.

Timers fire on the runtime's clock. The dispatcher sleeps for `clock.real_seconds_until(next timer)`
and is woken by `clock.subscribe` when a virtual clock moves. With `VirtualClock(auto_advance=True)`,
when nothing is runnable or running and timers are pending, the dispatcher jumps the clock to the
earliest one, as Temporal's time-skipping test server does.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.activities import run_activity
from runtime.clock import Clock, VirtualClock
from runtime.decider import Decision, Outcome, decide, failure_text
from runtime.executor import TimerSettings, build_context, run_episode
from runtime.functions import FunctionIndex
from runtime.history import EventType, HistoryIndex, dumps, format_timestamp, new_event
from runtime.invoke import Invoker
from runtime.store import ActivityRow, InboxRow, InstanceRow, Store, TimerRow, db_time
from runtime.transitions import Written, episode_events, write_episode, write_termination

__all__ = ["Engine", "EngineStats"]

log = logging.getLogger("runtime.engine")

_CACHE_SIZE = 512


@dataclass
class EngineStats:
    """Counters the benchmark reads; updated by the dispatcher and workers."""

    episodes: int = 0
    replayed_events: int = 0  # history events handed to the SDK, summed over episodes
    max_history: int = 0  # the longest history handed to the SDK in one episode (any instance)
    max_history_instance: str = ""  # the instance it belonged to
    replay_seconds: float = 0.0  # wall time spent inside the SDK's replay
    activities: int = 0


@dataclass
class _History:
    execution_id: str
    events: list[str]
    index: HistoryIndex = field(default_factory=HistoryIndex)


class Engine:
    """Durable execution for one app and one state file."""

    def __init__(
        self,
        store: Store,
        functions: FunctionIndex,
        invoker: Invoker,
        clock: Clock,
        *,
        workers: int,
        timer_settings: TimerSettings,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.store = store
        self.functions = functions
        self.invoker = invoker
        self.clock = clock
        self.workers = workers
        self.timer_settings = timer_settings
        self.stats = EngineStats()
        self._cv = threading.Condition()
        self._ready: OrderedDict[str, None] = OrderedDict()
        self._activities: deque[ActivityRow] = deque()
        self._running_activities = 0
        self._episode_running = False
        self._firing = False  # due timers taken from the heap but not yet in an inbox
        self._busy = 0
        self._timer_heap: list[tuple[datetime, int]] = []
        self._timers: dict[int, TimerRow] = {}
        self._instance_timers: dict[str, dict[int, int]] = {}
        self._cache: OrderedDict[str, _History] = OrderedDict()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._unsubscribe: Any = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        suspended = {
            row[0]
            for row in self.store.read().execute("SELECT instance_id FROM instances WHERE status='Suspended'")
        }
        with self._cv:
            for instance_id in self.store.instances_with_inbox():
                if instance_id not in suspended:
                    self._ready[instance_id] = None
            self._activities.extend(self.store.all_activities())
            for timer in self.store.all_timers():
                self._add_timer(timer)
        recovered = len(self._activities)
        if recovered or self._ready or self._timers:
            log.info(
                "resuming: %d instance(s) with messages, %d activity call(s) to run, %d timer(s)",
                len(self._ready),
                recovered,
                len(self._timers),
            )
        self._unsubscribe = self.clock.subscribe(self._wake)
        self._spawn(self._dispatch, "dispatcher")
        for number in range(self.workers):
            self._spawn(self._work, f"activity-{number}")

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=f"runtime-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._unsubscribe is not None:
            self._unsubscribe()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("still running at shutdown (will be re-run at next start): %s", ", ".join(stuck))

    def _wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    # -- what other parts call -----------------------------------------------------------------

    def notify(self, *instance_ids: str) -> None:
        """Instances got messages in the store: run their next episode."""
        with self._cv:
            for instance_id in instance_ids:
                self._ready[instance_id] = None
            self._cv.notify_all()

    def forget(self, instance_id: str) -> None:
        """The instance's state was reset or purged outside the dispatcher."""
        with self._cv:
            self._cache.pop(instance_id, None)
            self._drop_timers(instance_id)
            self._cv.notify_all()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark a trigger invocation (HTTP, queue, Event Grid) in progress: the runtime is not idle."""
        with self._cv:
            self._busy += 1
        try:
            yield
        finally:
            with self._cv:
                self._busy -= 1
                self._cv.notify_all()

    def wait_for_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not self._idle(include_timers=self._auto_advance()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cv.wait(remaining)
            return True

    def _auto_advance(self) -> bool:
        return isinstance(self.clock, VirtualClock) and self.clock.auto_advance

    def _idle(self, *, include_timers: bool) -> bool:
        busy = (
            self._ready
            or self._activities
            or self._running_activities
            or self._episode_running
            or self._firing
            or self._busy
        )
        if busy:
            return False
        upcoming = self._next_timer()
        if upcoming is None:
            return True
        return not include_timers and upcoming.fire_at > self.clock.now()

    # -- timers --------------------------------------------------------------------------------

    def _add_timer(self, timer: TimerRow) -> None:
        self._timers[timer.id] = timer
        self._instance_timers.setdefault(timer.instance_id, {})[timer.timer_id] = timer.id
        heapq.heappush(self._timer_heap, (timer.fire_at, timer.id))

    def _drop_timers(self, instance_id: str, timer_ids: set[int] | None = None) -> None:
        rows = self._instance_timers.get(instance_id, {})
        for timer_id in list(rows) if timer_ids is None else timer_ids:
            row_id = rows.pop(timer_id, None)
            if row_id is not None:
                self._timers.pop(row_id, None)
        if not rows:
            self._instance_timers.pop(instance_id, None)

    def _next_timer(self) -> TimerRow | None:
        while self._timer_heap and self._timer_heap[0][1] not in self._timers:
            heapq.heappop(self._timer_heap)
        return self._timers[self._timer_heap[0][1]] if self._timer_heap else None

    def _take_due(self) -> list[TimerRow]:
        due: list[TimerRow] = []
        now = self.clock.now()
        while (timer := self._next_timer()) is not None and timer.fire_at <= now:
            heapq.heappop(self._timer_heap)
            self._timers.pop(timer.id, None)
            self._instance_timers.get(timer.instance_id, {}).pop(timer.timer_id, None)
            due.append(timer)
        return due

    def _fire(self, due: list[TimerRow]) -> None:
        now = self.clock.now()
        events = [
            dumps(
                new_event(EventType.TIMER_FIRED, now, TimerId=t.timer_id, FireAt=format_timestamp(t.fire_at))
            )
            for t in due
        ]
        woken = self.store.fire_timers(due, events, EventType.TIMER_FIRED)
        self.notify(*woken)

    # -- the dispatcher ------------------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            due: list[TimerRow] = []
            instance_id: str | None = None
            advance_to: datetime | None = None
            with self._cv:
                while True:
                    if self._stopping:
                        return
                    due = self._take_due()
                    if due:
                        self._firing = True
                        break
                    if self._ready:
                        instance_id, _ = self._ready.popitem(last=False)
                        self._episode_running = True
                        break
                    upcoming = self._next_timer()
                    if upcoming is not None and self._auto_advance() and self._idle(include_timers=False):
                        advance_to = upcoming.fire_at
                        break
                    wait = None if upcoming is None else self.clock.real_seconds_until(upcoming.fire_at)
                    self._cv.wait(wait)
            if advance_to is not None:
                assert isinstance(self.clock, VirtualClock)
                log.debug("idle: moving the virtual clock to the next timer at %s", advance_to)
                self.clock.advance_to(advance_to)
                continue
            if due:
                try:
                    self._guarded(self._fire, due)
                finally:
                    with self._cv:
                        self._firing = False
                        self._cv.notify_all()
                continue
            assert instance_id is not None
            try:
                self._guarded(self._process, instance_id)
            finally:
                with self._cv:
                    self._episode_running = False
                    self._cv.notify_all()

    def _guarded(self, action: Any, argument: Any) -> None:
        try:
            action(argument)
        except Exception:  # a runtime bug must not stop the dispatcher; the store keeps the work
            log.exception("local runtime error while processing %r", argument)
            if isinstance(argument, str):
                with self._cv:
                    self._cache.pop(argument, None)
                self._fail_after_error(argument, traceback.format_exc(limit=3))
            time.sleep(0.05)

    def _fail_after_error(self, instance_id: str, text: str) -> None:
        try:
            row = self.store.get_instance(instance_id)
            if row is None or row.is_terminal:
                return
            message = failure_text(row.name, f"local runtime error: {text.strip().splitlines()[-1]}")
            with self.store.write() as cur:
                cur.execute(
                    "UPDATE instances SET status='Failed', output=?, last_updated_time=? WHERE instance_id=?",
                    (dumps(message), _db_now(self.clock), instance_id),
                )
                cur.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))
        except Exception:
            log.exception("could not record the failure of %s", instance_id)

    # -- one instance's turn -------------------------------------------------------------------

    def _history(self, row: InstanceRow) -> _History:
        with self._cv:  # forget() may drop entries from API threads
            cached = self._cache.get(row.instance_id)
        if cached is None or cached.execution_id != row.execution_id:
            events = self.store.history(row.instance_id)
            cached = _History(row.execution_id, events, HistoryIndex.build(json.loads(e) for e in events))
        with self._cv:
            self._cache[row.instance_id] = cached
            self._cache.move_to_end(row.instance_id)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return cached

    def _process(self, instance_id: str) -> None:
        row = self.store.get_instance(instance_id)
        inbox = self.store.inbox(instance_id)
        if not inbox:
            return
        if row is None or row.is_terminal:
            with self.store.write() as cur:
                self.store.delete_inbox(cur, [m.id for m in inbox])
            return
        current = [m for m in inbox if m.execution_id in (None, row.execution_id)]
        terminate = next((m for m in current if m.kind == EventType.EXECUTION_TERMINATED), None)
        if terminate is not None:
            self._terminate(row, terminate, [m.id for m in inbox])
            return
        if row.status == "Suspended":
            return  # messages wait in the inbox until resume
        history = self._history(row)
        deliver = sorted(current, key=lambda m: m.kind != EventType.EXECUTION_STARTED)
        if not history.events and (not deliver or deliver[0].kind != EventType.EXECUTION_STARTED):
            log.warning("dropping messages for %s: its execution has not started", instance_id)
            with self.store.write() as cur:
                self.store.delete_inbox(cur, [m.id for m in inbox])
            return
        self._episode(row, history, deliver, [m.id for m in inbox])

    def _episode(
        self, row: InstanceRow, history: _History, deliver: list[InboxRow], consumed: list[int]
    ) -> None:
        now = self.clock.now()
        fresh = [dumps(new_event(EventType.ORCHESTRATOR_STARTED, now))] + [m.event for m in deliver]
        for message in deliver:
            history.index.add(json.loads(message.event))
        spec = self.functions.orchestrators.get(row.name)
        if spec is None:
            decision = Decision(
                outcome=Outcome.FAILED,
                output=dumps(
                    failure_text(
                        row.name,
                        f"The function '{row.name}' doesn't exist, is disabled, "
                        "or is not an orchestrator function.",
                    )
                ),
            )
        else:
            context = build_context(
                instance_id=row.instance_id,
                parent_instance_id=row.parent_instance_id,
                input_text=row.input,
                past_events=history.events,
                new_events=fresh,
                timers=self.timer_settings,
            )
            started = time.perf_counter()
            result = run_episode(spec.user_function, context)
            self.stats.replay_seconds += time.perf_counter() - started
            self.stats.episodes += 1
            self.stats.replayed_events += len(history.events) + len(fresh)
            if len(history.events) + len(fresh) > self.stats.max_history:
                self.stats.max_history = len(history.events) + len(fresh)
                self.stats.max_history_instance = row.instance_id
            decision = decide(
                history.index,
                result,
                orchestrator=row.name,
                execution_id=row.execution_id,
                now=now,
                activities=self.functions.activities,
                orchestrators=self.functions.orchestrators,
            )
            if result.error and decision.outcome is Outcome.FAILED:
                log.warning("orchestration %s (%s) failed: %s", row.instance_id, row.name, result.error)
        self._commit(row, history, fresh, decision, consumed, now)

    def _commit(
        self,
        row: InstanceRow,
        history: _History,
        fresh: list[str],
        decision: Decision,
        consumed: list[int],
        now: datetime,
    ) -> None:
        appended = episode_events(fresh, decision, now)
        with self.store.write() as cur:
            written = write_episode(
                self.store, cur, row, len(history.events), appended, decision, consumed, now
            )
        with self._cv:
            if decision.outcome is Outcome.RUNNING:
                history.events.extend(appended)
                for event in decision.new_events:
                    history.index.add(event)
                self._drop_timers(row.instance_id, decision.cancelled_timers)
            else:
                self._cache.pop(row.instance_id, None)
                self._drop_timers(row.instance_id)
            self._schedule(written)

    def _schedule(self, written: Written) -> None:
        """Mirror a committed transaction in memory; call with the lock held."""
        for instance_id in written.reset:
            self._cache.pop(instance_id, None)
            self._drop_timers(instance_id)
        for timer in written.timers:
            self._add_timer(timer)
        self._activities.extend(written.activities)
        for instance_id in written.woken:
            self._ready[instance_id] = None
        self._cv.notify_all()

    def _terminate(self, row: InstanceRow, message: InboxRow, consumed: list[int]) -> None:
        history = self._history(row)
        with self.store.write() as cur:
            written = write_termination(
                self.store, cur, row, message, len(history.events), consumed, self.clock.now()
            )
        with self._cv:
            self._schedule(written)

    # -- activities ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._activities and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                item = self._activities.popleft()
                self._running_activities += 1
            try:
                self._run_activity(item)
            except Exception:
                log.exception("local runtime error while running activity %s", item.name)
            finally:
                with self._cv:
                    self._running_activities -= 1
                    self._cv.notify_all()

    def _run_activity(self, item: ActivityRow) -> None:
        still_wanted = (
            self.store.read().execute("SELECT 1 FROM activities WHERE id = ?", (item.id,)).fetchone()
            is not None
        )
        if not still_wanted:
            return  # the instance finished, was terminated or purged since the call was scheduled
        event = run_activity(self.functions, self.invoker, self.clock.now, item)
        self.stats.activities += 1
        if self.store.complete_activity(item, event["EventType"], dumps(event)):
            self.notify(item.instance_id)


def _db_now(clock: Clock) -> str:
    return db_time(clock.now())
