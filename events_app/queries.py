"""Reading the read models: a task's history and a user's statistics (SPEC §2)."""

from __future__ import annotations

from datetime import date
from typing import Any

from events_app.ports import ReadModels, UserStats
from tasks_app.application.access import Caller, acting_user, require_own
from tasks_app.application.ports import TaskRepository
from tasks_app.domain.errors import TaskNotFound
from tasks_app.domain.values import TaskId


def task_history(
    *, task_id: str, caller: Caller | None = None, read_models: ReadModels, tasks: TaskRepository
) -> list[dict[str, Any]]:
    """The task's events, oldest first; `TaskNotFound` for a task that does not exist or is not
    the caller's. Checking the owner reads the task, so it is one request more than the history."""
    if not TaskId.is_valid(task_id):
        raise TaskNotFound(task_id)
    if caller is not None:
        require_own(caller, tasks.get(TaskId(task_id)), may_read_others=True)
    events = read_models.history(task_id)
    if not events and caller is None:
        tasks.get(TaskId(task_id))  # a new task's first event may still be on its way
    return events


def user_stats(*, user_id: str | None, caller: Caller | None = None, read_models: ReadModels, today: date) -> UserStats:
    """The statistics of `user_id` (the caller's own when None) for `today` (SPEC §2): live tasks
    by status, created and completed today. Raises `InvalidValue` for no or a bad user, and
    `AccessDenied` for another user's statistics without the admin group (`acting_user`)."""
    return read_models.stats(str(acting_user(caller, user_id)), today)
