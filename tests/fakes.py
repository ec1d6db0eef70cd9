"""Hand-written fakes of the ports, for unit tests and for the contract tests they share with DynamoDB."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

from events_app.messages import ReceivedEvent
from events_app.ports import UserStats, no_counts
from tasks_app.adapters.cursor import CursorCodec
from tasks_app.application.ports import ConcurrentUpdate, OutboxEntry, Page
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


class FakeTaskRepository:
    """Tasks in a dict with a `FakeOutbox`; cursors signed like the real ones, so the same contract holds."""

    def __init__(self) -> None:
        self._tasks: dict[TaskId, Task] = {}
        self._cursors = CursorCodec("fake-secret")
        self._lock = threading.Lock()  # the contract promises one winner among racing writes
        self.outbox = FakeOutbox()

    def add(self, task: Task) -> None:
        with self._lock:
            if task.task_id in self._tasks:
                raise ConcurrentUpdate(str(task.task_id))
            self._store(task)

    def update(self, task: Task) -> None:
        with self._lock:
            stored = self._tasks.get(task.task_id)
            if stored is None or stored.version != task.stored_version:
                raise ConcurrentUpdate(str(task.task_id))
            self._store(task)

    def get(self, task_id: TaskId) -> Task:
        if task_id not in self._tasks:
            raise TaskNotFound(str(task_id))
        return copy.deepcopy(self._tasks[task_id])

    def list_for_user(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        owned = sorted((task for task in self._tasks.values() if task.user_id == user_id), key=_position, reverse=True)
        if cursor is not None:
            after = self._cursors.decode(cursor, owner=str(user_id))
            owned = [task for task in owned if _position(task) < after]
        page = owned[:limit]
        more = len(owned) > limit
        next_cursor = self._cursors.encode(owner=str(user_id), position=_position(page[-1])) if more else None
        return Page(items=[copy.deepcopy(task) for task in page], next_cursor=next_cursor)

    def _store(self, task: Task) -> None:
        self.outbox.entries.extend(OutboxEntry.from_event(event) for event in task.pull_events())
        self._tasks[task.task_id] = copy.deepcopy(task)


def _position(task: Task) -> str:
    return f"{isoformat_utc(task.created_at)}#{task.task_id}"


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


class RecordingRelay:
    """A `RelayTrigger` that only remembers which tasks it was told about."""

    def __init__(self) -> None:
        self.task_ids: list[TaskId] = []

    def __call__(self, task_id: TaskId) -> None:
        self.task_ids.append(task_id)


class FakeReadModels:
    """History and statistics in dicts, applied once per event like the real ones."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, int], dict[str, Any]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.days: dict[tuple[str, date], dict[str, int]] = {}

    def apply(self, event: ReceivedEvent) -> bool:
        key = (event.aggregate_id, event.sequence)
        if key in self.events:
            return False
        self.events[key] = event.message
        user = event.text("user_id")
        counts = self.counts.setdefault(user, no_counts())
        day = self.days.setdefault((user, event.day), {"created": 0, "completed": 0})
        if event.event_type == "TaskCreated":
            counts["pending"] += 1
            day["created"] += 1
        elif event.event_type == "TaskStatusChanged":
            for status, step in ((event.text("old_status"), -1), (event.text("new_status"), 1)):
                if status in counts:
                    counts[status] += step
        elif event.event_type == "TaskCompleted":
            day["completed"] += 1
        return True

    def history(self, task_id: str) -> list[dict[str, Any]]:
        return [message for (task, _), message in sorted(self.events.items()) if task == task_id]

    def stats(self, user_id: str, day: date) -> UserStats:
        counts = self.counts.get(user_id, no_counts())
        on_day = self.days.get((user_id, day), {"created": 0, "completed": 0})
        return UserStats(
            user_id=user_id,
            day=day,
            counts={status: max(0, n) for status, n in counts.items()},
            created_on_day=on_day["created"],
            completed_on_day=on_day["completed"],
        )
