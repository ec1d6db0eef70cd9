"""Ports: what the services need from storage and messaging, as Protocols adapters implement."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tasks_app.domain.errors import DomainError
from tasks_app.domain.events import DomainEvent
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, UserId


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; `next_cursor` is None on the last page."""

    items: list[Task]
    next_cursor: str | None


class ConcurrentUpdate(DomainError):
    """Another request changed the task between this one's read and its write."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id!r} was changed by another request at the same time; try again.")
        self.task_id = task_id


class TaskRepository(Protocol):
    """Where tasks live, with the events they record (the outbox) written in the same transaction.

    Implementations: DynamoDB (production) and an in-memory fake (tests).
    """

    def add(self, task: Task) -> None:
        """Store a new task and the events it recorded, atomically; never overwrites a task."""

    def get(self, task_id: TaskId) -> Task:
        """The task with this id, read after any write that returned; raises `TaskNotFound`."""

    def list_for_user(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        """The user's tasks, newest first, `limit` at a time.

        `cursor` is a `Page.next_cursor` this repository issued for the same user; anything
        else raises `InvalidCursor`.
        """

    def update(self, task: Task) -> None:
        """Store a read task's changes and the events it recorded, atomically.

        Raises `ConcurrentUpdate` if the stored task is no longer the version that was read, so
        of two racing changes exactly one is stored.
        """


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting to be published: the SPEC §4 message, and where it sits in its task's order."""

    task_id: str
    sequence: int
    event_id: str
    event_type: str
    message: str
    stored_at: datetime | None = field(default=None, compare=False)

    @classmethod
    def from_event(cls, event: DomainEvent) -> OutboxEntry:
        return cls(
            task_id=event.aggregate_id,
            sequence=event.sequence,
            event_id=event.event_id,
            event_type=event.event_type,
            message=json.dumps(event.to_message(), ensure_ascii=False),
            stored_at=datetime.fromisoformat(event.timestamp),
        )


class Outbox(Protocol):
    """The events stored with their tasks and not yet published."""

    def pending(self, *, task_id: TaskId | None = None, limit: int) -> list[OutboxEntry]:
        """Entries in each task's sequence order: `task_id`'s, or up to `limit` from each shard."""

    def remove(self, entries: Sequence[OutboxEntry]) -> None:
        """Forget entries that were published."""


PUBLISH_BATCH_MAX = 10  # entries per publish: the most one SNS PublishBatch accepts


class EventPublisher(Protocol):
    """Sends events to subscribers."""

    def publish(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """Publish up to `PUBLISH_BATCH_MAX` entries; returns those accepted. The rest were not
        published. More entries than that raise `ValueError`."""


# Called with a task's id once its changes are committed, so its events go out soon.
RelayTrigger = Callable[[TaskId], None]
