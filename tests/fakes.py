"""Hand-written fakes of the ports, for unit tests and for the contract tests they share with DynamoDB."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from events_app.messages import ReceivedEvent
from events_app.ports import UserStats, no_counts
from events_app.projection import TaskProjection, day_steps, status_steps
from tasks_app import correlation
from tasks_app.adapters.cursor import TRASH_LISTING, CursorCodec, live_listing
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyRecord
from tasks_app.application.ports import ConcurrentUpdate, OutboxEntry, Page, TaskFilters, TaskSort
from tasks_app.domain.errors import TaskNotFound
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import TaskId, UserId


class FakeOutbox:
    """Entries by task, in sequence order."""

    def __init__(self) -> None:
        self.entries: list[OutboxEntry] = []

    def pending(self, *, task_id: TaskId | None = None, limit: int) -> list[OutboxEntry]:
        chosen = [e for e in self.entries if task_id is None or e.task_id == str(task_id)]
        return sorted(chosen, key=lambda e: (e.task_id, e.sequence))[:limit]

    def remove(self, entries: Sequence[OutboxEntry]) -> None:
        gone = {e.event_id for e in entries}
        self.entries = [e for e in self.entries if e.event_id not in gone]

    def still_stored(self, events: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        return {(e.task_id, e.sequence) for e in self.entries} & set(events)


class FakeTaskRepository:
    """The `TaskRepository` contract in memory (tests/integration/test_repository_contract.py
    holds it to the same tests as DynamoDB): deep copies in and out, one write at a time on the
    version read, idempotency records stored with the change, the trash, and cursors signed and
    bound to their listing like the real ones. Pages are always full: fewer than `limit` tasks
    only on the last one."""

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tasks: dict[TaskId, Task] = {}
        self._records: dict[tuple[str, str], IdempotencyRecord] = {}
        self._cursors = CursorCodec("fake-secret")
        self._lock = threading.Lock()  # the contract promises one winner among racing writes
        self._clock = clock  # when trashed tasks and records expire, as the DynamoDB one's
        self.outbox = FakeOutbox()

    def add(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        with self._lock:
            self._claim(idempotency)
            if task.task_id in self._tasks:
                raise ConcurrentUpdate(str(task.task_id))
            self._store(task, idempotency)

    def update(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        with self._lock:
            self._claim(idempotency)
            stored = self._tasks.get(task.task_id)
            if stored is None or stored.version != task.stored_version:
                raise ConcurrentUpdate(str(task.task_id))
            self._store(task, idempotency)

    def stored(self) -> list[Task]:
        """Copies of every stored task, trashed ones included (for the reminder index's fake)."""
        return [copy.deepcopy(task) for task in self._tasks.values()]

    def move_reminder(self, task: Task) -> bool:
        """Store `task.remind_at` alone if the task is still at `task.version` (the reminder
        index's conditional update)."""
        with self._lock:
            stored = self._tasks.get(task.task_id)
            if stored is None or stored.version != task.version:
                return False
            stored.remind_at = task.remind_at
            return True

    def get(self, task_id: TaskId) -> Task:
        task = self._tasks.get(task_id)
        if task is None or task.in_trash:
            raise TaskNotFound(str(task_id))
        return copy.deepcopy(task)

    def get_trashed(self, task_id: TaskId) -> Task:
        task = self._tasks.get(task_id)
        if task is None or not self._restorable(task):
            raise TaskNotFound(str(task_id))
        return copy.deepcopy(task)

    def list_for_user(
        self,
        user_id: UserId,
        *,
        limit: int,
        cursor: str | None,
        filters: TaskFilters = TaskFilters(),  # noqa: B008 - frozen, so one shared default is safe
        sort: TaskSort = TaskSort.NEWEST_FIRST,
    ) -> Page:
        live = [t for t in self._tasks.values() if t.user_id == user_id and not t.in_trash and _passes(t, filters)]
        if sort is TaskSort.DUE_SOONEST:
            return self._page(live, _due_position, user_id, live_listing(filters, sort), limit, cursor, ascending=True)
        return self._page(live, _created_position, user_id, live_listing(filters, sort), limit, cursor)

    def list_trash(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        trashed = [t for t in self._tasks.values() if t.user_id == user_id and self._restorable(t)]
        return self._page(trashed, _deleted_position, user_id, TRASH_LISTING, limit, cursor)

    def record_response(self, record: IdempotencyRecord) -> None:
        with self._lock:
            self._claim(record)
            self._records[(record.scope, record.key)] = record

    def find_response(self, scope: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        record = self._records.get((scope, key))
        return record if record is not None and record.expires_at > now else None

    def _page(
        self,
        tasks: list[Task],
        position: Callable[[Task], str],
        user_id: UserId,
        listing: str,
        limit: int,
        cursor: str | None,
        *,
        ascending: bool = False,
    ) -> Page:
        ordered = sorted(tasks, key=position, reverse=not ascending)
        if cursor is not None:
            after = self._cursors.decode(cursor, owner=str(user_id), listing=listing)
            ordered = [t for t in ordered if (position(t) > after if ascending else position(t) < after)]
        page = ordered[:limit]
        more = len(ordered) > limit
        next_cursor = (
            self._cursors.encode(owner=str(user_id), position=position(page[-1]), listing=listing) if more else None
        )
        return Page(items=[copy.deepcopy(task) for task in page], next_cursor=next_cursor)

    def _restorable(self, task: Task) -> bool:
        return task.deleted_at is not None and task.deleted_at + _TRASH_RETENTION > self._clock()

    def _claim(self, record: IdempotencyRecord | None) -> None:
        """Refuse a key that another request stored and that has not expired (SPEC §2)."""
        if record is None:
            return
        held = self._records.get((record.scope, record.key))
        if held is not None and held.expires_at > self._clock():
            raise IdempotencyKeyInUse(record.key)

    def _store(self, task: Task, record: IdempotencyRecord | None) -> None:
        # Stamped as the DynamoDB repository stamps them: with the request in hand (SPEC §9).
        origin = correlation.origin()
        self.outbox.entries.extend(OutboxEntry.from_event(event, origin=origin) for event in task.pull_events())
        self._tasks[task.task_id] = copy.deepcopy(task)
        if record is not None:
            self._records[(record.scope, record.key)] = record


_TRASH_RETENTION = timedelta(days=30)  # SPEC §1: restorable for 30 days, then purged


def _passes(task: Task, filters: TaskFilters) -> bool:
    """Whether `task` passes every filter of SPEC §2; an undated task matches no due bound."""
    due = task.due_at
    return (
        (not filters.statuses or task.status in filters.statuses)
        and (filters.priority is None or task.priority == filters.priority)
        and (filters.tag is None or filters.tag.strip().lower() in task.tags)
        and (filters.due_after is None or (due is not None and due > filters.due_after))
        and (filters.due_before is None or (due is not None and due < filters.due_before))
    )


def _created_position(task: Task) -> str:
    return f"{isoformat_utc(task.created_at)}#{task.task_id}"


def _due_position(task: Task) -> str:
    return f"{isoformat_utc(task.due_at) if task.due_at else '~'}#{task.task_id}"  # `~`: undated last


def _deleted_position(task: Task) -> str:
    return f"{isoformat_utc(task.deleted_at) if task.deleted_at else ''}#{task.task_id}"


class FakePublisher:
    """Keeps what it accepts; refuses the event ids in `refuse`, or everything when `down`."""

    def __init__(self) -> None:
        self.published: list[OutboxEntry] = []
        self.batches: list[list[OutboxEntry]] = []
        self.refuse: set[str] = set()
        self.down = False

    def publish(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        assert len(entries) <= 10, "PublishBatch takes ten at most"
        self.batches.append(list(entries))
        accepted = [] if self.down else [e for e in entries if e.event_id not in self.refuse]
        self.published.extend(accepted)
        return accepted


class FakeReadModels:
    """History and statistics in dicts, applied once per event, exact in any order, like the real
    ones: the same `TaskProjection` per task, the counters moved by its change."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, int], dict[str, Any]] = {}
        self.projections: dict[str, TaskProjection] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.days: dict[tuple[str, date], dict[str, int]] = {}
        self._lock = threading.Lock()  # one event at a time, as DynamoDB's transaction gives

    def apply(self, event: ReceivedEvent) -> bool:
        with self._lock:
            key = (event.aggregate_id, event.sequence)
            if key in self.events:
                return False
            self.events[key] = event.message
            before = self.projections.get(event.aggregate_id) or TaskProjection(user_id=event.text("user_id"))
            after = self.projections[event.aggregate_id] = before.after(event)
            counts = self.counts.setdefault(after.user_id, no_counts())
            for status, step in status_steps(before, after).items():
                counts[status] += step
            day = self.days.setdefault((after.user_id, event.day), {"created": 0, "completed": 0})
            for name, step in day_steps(event).items():
                day[name] += step
            return True

    def history(self, task_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [message for (task, _), message in sorted(self.events.items()) if task == task_id]

    def stats(self, user_id: str, day: date) -> UserStats:
        with self._lock:
            on_day = self.days.get((user_id, day), {"created": 0, "completed": 0})
            return UserStats(
                user_id=user_id,
                day=day,
                counts=dict(self.counts.get(user_id, no_counts())),
                created_on_day=on_day["created"],
                completed_on_day=on_day["completed"],
            )
