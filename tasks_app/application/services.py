"""Use cases of the Task API, named `task_<action>`; each takes the ports it needs."""

from __future__ import annotations

from datetime import datetime

from tasks_app.application.access import AccessDenied, Caller, acting_user, require_own
from tasks_app.application.ports import ConcurrentUpdate, Page, RelayTrigger, TaskRepository
from tasks_app.domain.errors import InvalidValue, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 100
WRITE_ATTEMPTS = 5  # reads and writes again when another request changed the task in between


def task_create(
    *,
    user_id: str | None,
    title: str,
    description: str = "",
    caller: Caller | None = None,
    repository: TaskRepository,
    relay: RelayTrigger,
    now: datetime,
) -> Task:
    """Create a task for the caller; a `user_id` naming someone else is refused, even for admins."""
    owner = acting_user(caller, user_id)
    if caller is not None and owner != caller.user_id:
        raise AccessDenied("Tasks are created for yourself: leave user_id out or give your own.")
    task = Task.create(user_id=owner, title=title, description=description, now=now)
    repository.add(task)
    relay(task.task_id)
    return task


def task_get(*, task_id: str, caller: Caller | None = None, repository: TaskRepository) -> Task:
    task = repository.get(_task_id(task_id))
    require_own(caller, task, may_read_others=True)
    return task


def task_list(
    *,
    user_id: str | None,
    limit: int = PAGE_SIZE_DEFAULT,
    cursor: str | None = None,
    caller: Caller | None = None,
    repository: TaskRepository,
) -> Page:
    owner = acting_user(caller, user_id)
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidValue("limit", f"Must be between 1 and {PAGE_SIZE_MAX}.")
    return repository.list_for_user(owner, limit=limit, cursor=cursor or None)


def task_complete(
    *, task_id: str, caller: Caller | None = None, repository: TaskRepository, relay: RelayTrigger, now: datetime
) -> Task:
    """Complete the caller's task; of concurrent completes one wins and the others get a 409."""
    parsed = _task_id(task_id)
    for _ in range(WRITE_ATTEMPTS):
        task = repository.get(parsed)
        require_own(caller, task, may_read_others=False)
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
