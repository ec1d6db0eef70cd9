"""Use cases of the Task API, named `task_<action>`; each takes the ports it needs."""

from __future__ import annotations

from datetime import datetime

from tasks_app.application.ports import ConcurrentUpdate, Page, RelayTrigger, TaskRepository
from tasks_app.domain.errors import InvalidValue, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, UserId

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 100
WRITE_ATTEMPTS = 5  # reads and writes again when another request changed the task in between


def task_create(
    *,
    user_id: str,
    title: str,
    description: str = "",
    repository: TaskRepository,
    relay: RelayTrigger,
    now: datetime,
) -> Task:
    task = Task.create(user_id=UserId.parse(user_id), title=title, description=description, now=now)
    repository.add(task)
    relay(task.task_id)
    return task


def task_get(*, task_id: str, repository: TaskRepository) -> Task:
    return repository.get(_task_id(task_id))


def task_list(
    *,
    user_id: str,
    limit: int = PAGE_SIZE_DEFAULT,
    cursor: str | None = None,
    repository: TaskRepository,
) -> Page:
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidValue("limit", f"Must be between 1 and {PAGE_SIZE_MAX}.")
    return repository.list_for_user(UserId.parse(user_id), limit=limit, cursor=cursor or None)


def task_complete(*, task_id: str, repository: TaskRepository, relay: RelayTrigger, now: datetime) -> Task:
    """Complete a task; of concurrent completes one wins and the others see it completed (409)."""
    parsed = _task_id(task_id)
    for _ in range(WRITE_ATTEMPTS):
        task = repository.get(parsed)
        task.complete(now)
        try:
            repository.update(task)
        except ConcurrentUpdate:
            continue
        relay(parsed)
        return task
    raise ConcurrentUpdate(task_id)


def _task_id(raw: str) -> TaskId:
    """An id that cannot exist is an unknown task, not a bad request."""
    if not TaskId.is_valid(raw):
        raise TaskNotFound(raw)
    return TaskId(raw)
