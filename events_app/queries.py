"""Reading the read models: a task's history and a user's statistics."""

from __future__ import annotations

from datetime import date
from typing import Any

from events_app.ports import ReadModels, UserStats
from tasks_app.application.ports import TaskRepository
from tasks_app.domain.errors import TaskNotFound
from tasks_app.domain.values import TaskId, UserId


def task_history(*, task_id: str, read_models: ReadModels, tasks: TaskRepository) -> list[dict[str, Any]]:
    """The task's events, oldest first; raises `TaskNotFound` for a task that does not exist."""
    if not TaskId.is_valid(task_id):
        raise TaskNotFound(task_id)
    events = read_models.history(task_id)
    if not events:
        tasks.get(TaskId(task_id))  # a new task's first event may still be on its way
    return events


def user_stats(*, user_id: str, read_models: ReadModels, today: date) -> UserStats:
    return read_models.stats(str(UserId.parse(user_id)), today)
