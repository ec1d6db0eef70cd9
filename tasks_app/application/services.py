"""Use cases of the Task API, named `task_<action>`; each takes the ports it needs.

Every change follows one path (`_change`): read the task, check the caller and the `If-Match`
version, apply the domain method, write it conditionally on the version read, its events into the
outbox in the same transaction (the table's stream then wakes the relay: nothing waits for it
here). A write that loses a race reads again; the loser of a race then sees the winner's version
(412 with `If-Match`) or state (409).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from tasks_app.application.access import AccessDenied, Caller, acting_user, require_own
from tasks_app.application.idempotency import IdempotencyClaim
from tasks_app.application.ports import (
    ConcurrentUpdate,
    Page,
    TaskFilters,
    TaskRepository,
    TaskSort,
)
from tasks_app.domain.errors import InvalidValue, TaskNotFound, VersionMismatch
from tasks_app.domain.task import Task
from tasks_app.domain.values import Priority, TaskId

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 100
WRITE_ATTEMPTS = 5  # reads and writes again when another request changed the task in between

Action = Callable[[Task, datetime], Any]
STATUS_ACTIONS: dict[str, Action] = {
    "start": Task.start,
    "complete": Task.complete,
    "cancel": Task.cancel,
    "reopen": Task.reopen,
}


def task_create(
    *,
    user_id: str | None,
    title: str,
    description: str = "",
    priority: Priority = Priority.NORMAL,
    due_at: datetime | None = None,
    tags: Iterable[str] = (),
    caller: Caller | None = None,
    repository: TaskRepository,
    now: datetime,
    idempotency: IdempotencyClaim | None = None,
) -> Task:
    """Create a task for the caller; a `user_id` naming someone else is refused, even for admins.

    Raises `InvalidValue` (400), `AccessDenied` (403), `IdempotencyKeyInUse` when a request with
    the same key won a race (the caller replays that one's response).
    """
    owner = acting_user(caller, user_id)
    if caller is not None and owner != caller.user_id:
        raise AccessDenied("Tasks are created for yourself: leave user_id out or give your own.")
    task = Task.create(
        user_id=owner, title=title, description=description, priority=priority, due_at=due_at, tags=tags, now=now
    )
    repository.add(task, idempotency=idempotency.record_for(task, now) if idempotency else None)
    return task


def task_get(*, task_id: str, caller: Caller | None = None, repository: TaskRepository) -> Task:
    """The task, if the caller may read it; `TaskNotFound` otherwise (trashed tasks included)."""
    task = repository.get(_task_id(task_id))
    require_own(caller, task, may_read_others=True)
    return task


def task_list(
    *,
    user_id: str | None,
    limit: int = PAGE_SIZE_DEFAULT,
    cursor: str | None = None,
    filters: TaskFilters = TaskFilters(),  # noqa: B008 - frozen, so one shared default is safe
    sort: TaskSort = TaskSort.NEWEST_FIRST,
    caller: Caller | None = None,
    repository: TaskRepository,
) -> Page:
    """A page of the user's live tasks (SPEC §2 listing); `AccessDenied` for another user's
    without the admin group, `InvalidValue` for a bad limit, `InvalidCursor` for a foreign cursor."""
    owner = acting_user(caller, user_id)
    _check_limit(limit)
    return repository.list_for_user(owner, limit=limit, cursor=cursor or None, filters=filters, sort=sort)


def task_trash(
    *,
    user_id: str | None,
    limit: int = PAGE_SIZE_DEFAULT,
    cursor: str | None = None,
    caller: Caller | None = None,
    repository: TaskRepository,
) -> Page:
    """A page of the user's trash, latest deletion first; errors as in `task_list`."""
    owner = acting_user(caller, user_id)
    _check_limit(limit)
    return repository.list_trash(owner, limit=limit, cursor=cursor or None)


def task_update(
    *,
    task_id: str,
    changes: Mapping[str, Any],
    expected_versions: frozenset[int] | None = None,
    caller: Caller | None = None,
    repository: TaskRepository,
    now: datetime,
    idempotency: IdempotencyClaim | None = None,
) -> Task:
    """Edit the caller's task; a change to the current values stores nothing and keeps the version."""

    def edit(task: Task, moment: datetime) -> bool:
        return task.update(changes, moment)

    return _change(task_id, edit, expected_versions, caller, repository, now, idempotency)


def task_act(
    *,
    task_id: str,
    action: str,
    expected_versions: frozenset[int] | None = None,
    caller: Caller | None = None,
    repository: TaskRepository,
    now: datetime,
    idempotency: IdempotencyClaim | None = None,
) -> Task:
    """Apply one of `STATUS_ACTIONS` (start, complete, cancel, reopen) to the caller's task.

    Raises `InvalidTransition` (409) when the status does not allow it, `VersionMismatch` (412)
    when the task's version is not one of `expected_versions` (If-Match), `TaskNotFound` (404),
    `AccessDenied` (403, an admin acting on someone else's task).
    """
    return _change(task_id, STATUS_ACTIONS[action], expected_versions, caller, repository, now, idempotency)


def task_delete(
    *,
    task_id: str,
    expected_versions: frozenset[int] | None = None,
    caller: Caller | None = None,
    repository: TaskRepository,
    now: datetime,
) -> Task:
    """Move the caller's task to the trash; errors as in `task_act`."""
    return _change(task_id, Task.delete, expected_versions, caller, repository, now, None)


def task_restore(
    *,
    task_id: str,
    expected_versions: frozenset[int] | None = None,
    caller: Caller | None = None,
    repository: TaskRepository,
    now: datetime,
    idempotency: IdempotencyClaim | None = None,
) -> Task:
    """Take the caller's task out of the trash as it was; `TaskNotFound` if it is not there."""
    return _change(task_id, Task.restore, expected_versions, caller, repository, now, idempotency, from_trash=True)


def _change(
    task_id: str,
    apply: Action,
    expected_versions: frozenset[int] | None,
    caller: Caller | None,
    repository: TaskRepository,
    now: datetime,
    idempotency: IdempotencyClaim | None,
    *,
    from_trash: bool = False,
) -> Task:
    parsed = _task_id(task_id)
    for _ in range(WRITE_ATTEMPTS):
        task = repository.get_trashed(parsed) if from_trash else repository.get(parsed)
        require_own(caller, task, may_read_others=False)
        if expected_versions is not None and task.version not in expected_versions:
            raise VersionMismatch(str(parsed), task.version)
        changed = apply(task, now) is not False
        record = idempotency.record_for(task, now) if idempotency else None
        if not changed:
            if record is not None:
                repository.record_response(record)
            return task
        try:
            repository.update(task, idempotency=record)
        except ConcurrentUpdate:
            continue
        return task
    raise ConcurrentUpdate(task_id)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidValue("limit", f"Must be between 1 and {PAGE_SIZE_MAX}.")


def _task_id(raw: str) -> TaskId:
    """An id that cannot exist is an unknown task, not a bad request."""
    if not TaskId.is_valid(raw):
        raise TaskNotFound(raw)
    return TaskId(raw)
