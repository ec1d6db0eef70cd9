"""Hand-written fakes of the application's ports, for unit tests and the repository contract."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from datetime import datetime

from tasks_app.adapters.cursor import CursorCodec
from tasks_app.application.ports import Page, PublishFailed
from tasks_app.domain.errors import InvalidTransition, TaskNotFound
from tasks_app.domain.events import DomainEvent
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import TaskId, TaskStatus, UserId

_APPLY = {
    TaskStatus.IN_PROGRESS: Task.start,
    TaskStatus.COMPLETED: Task.complete,
    TaskStatus.CANCELLED: Task.cancel,
}


class FakeTaskRepository:
    """Tasks in a dict; cursors signed like the real ones, so the same contract holds."""

    def __init__(self) -> None:
        self._tasks: dict[TaskId, Task] = {}
        self._cursors = CursorCodec("fake-secret")
        self._lock = threading.Lock()  # the contract promises one winner among concurrent changes

    def add(self, task: Task) -> None:
        if task.task_id in self._tasks:
            raise AssertionError(f"{task.task_id} stored twice")
        self._tasks[task.task_id] = copy.deepcopy(task)

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

    def change_status(self, task_id: TaskId, new_status: TaskStatus, *, at: datetime) -> Task:
        with self._lock:
            before = self.get(task_id)
            if not before.status.can_become(new_status):
                raise InvalidTransition(str(task_id), before.status.value, new_status.value)
            after = copy.deepcopy(before)
            _APPLY[new_status](after, at)
            after.pull_events()
            self._tasks[task_id] = after
            return before


def _position(task: Task) -> str:
    return f"{isoformat_utc(task.created_at)}#{task.task_id}"


class RecordingPublisher:
    """Keeps what it is given; `fail_with` makes it refuse like an unreachable SNS."""

    def __init__(self, fail_with: str | None = None) -> None:
        self.published: list[DomainEvent] = []
        self.fail_with = fail_with

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.fail_with:
            raise PublishFailed(self.fail_with)
        self.published.extend(events)
