"""Use cases of the Task API, named `task_<action>`; each takes the ports it needs."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from tasks_app.application.ports import EventPublisher, Page, PublishFailed, TaskRepository
from tasks_app.domain.errors import InvalidValue, TaskNotFound
from tasks_app.domain.events import DomainEvent
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, TaskStatus, UserId

logger = logging.getLogger(__name__)

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 100


def task_create(
    *,
    user_id: str,
    title: str,
    description: str = "",
    repository: TaskRepository,
    publisher: EventPublisher,
    now: datetime,
) -> Task:
    task = Task.create(user_id=UserId.parse(user_id), title=title, description=description, now=now)
    events = task.pull_events()
    repository.add(task)
    _publish(publisher, events)
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


def task_complete(*, task_id: str, repository: TaskRepository, publisher: EventPublisher, now: datetime) -> Task:
    # One conditional write decides the race; the domain then replays the change on the
    # task as it was, which yields the same state and the events of exactly that change.
    task = repository.change_status(_task_id(task_id), TaskStatus.COMPLETED, at=now)
    task.complete(now)
    _publish(publisher, task.pull_events())
    return task


def _task_id(raw: str) -> TaskId:
    """An id that cannot exist is an unknown task, not a bad request."""
    if not TaskId.is_valid(raw):
        raise TaskNotFound(raw)
    return TaskId(raw)


def _publish(publisher: EventPublisher, events: list[DomainEvent]) -> None:
    # The task is already stored: failing the request now would invite a retry that creates a
    # duplicate. Until the outbox exists, log the whole messages so an operator can replay them.
    try:
        publisher.publish(events)
    except PublishFailed:
        logger.exception(
            "Events were not published",
            extra={"unpublished_events": [json.dumps(e.to_message()) for e in events]},
        )
