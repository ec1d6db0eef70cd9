"""In-memory fakes of the reminder sweep's ports (`ReminderIndex`, `ReminderWindows`), over the
fake task repository: what GSI4 and the users' settings would answer."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta

from tasks_app.domain.task import Task
from tests.fakes import FakeTaskRepository

HOUR = timedelta(hours=1)


class FakeReminderIndex:
    """GSI4 over the fake repository: open live tasks by `remind_at`, one "request" per hour asked."""

    def __init__(self, repository: FakeTaskRepository) -> None:
        self._repository = repository
        self._mark: datetime | None = None
        self.hours_read: list[datetime] = []

    def due_in_hour(self, hour: datetime, *, until: datetime) -> tuple[list[Task], int]:
        self.hours_read.append(hour)
        found = [
            task
            for task in self._repository.stored()
            if task.remind_at is not None
            and task.is_open
            and hour <= task.remind_at < hour + HOUR
            and task.remind_at <= until
        ]
        return sorted(found, key=lambda task: (task.remind_at, str(task.task_id))), 1

    def move_reminder(self, task: Task) -> bool:
        return self._repository.move_reminder(task)

    def swept_until(self) -> datetime | None:
        return self._mark

    def mark_swept(self, until: datetime) -> None:
        if self._mark is None or self._mark < until:
            self._mark = until


class FakeWindows:
    """Users' chosen windows; `meanwhile` runs when the sweep asks (between its read and its write)."""

    def __init__(self, chosen: Mapping[str, timedelta] | None = None) -> None:
        self.chosen = dict(chosen or {})
        self.asked: list[set[str]] = []
        self.meanwhile: Callable[[], None] = lambda: None

    def windows_for(self, user_ids: Collection[str]) -> Mapping[str, timedelta]:
        self.asked.append(set(user_ids))
        self.meanwhile()
        return {user: window for user, window in self.chosen.items() if user in user_ids}
