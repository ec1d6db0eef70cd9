"""Ports: what the services need from storage and messaging, as Protocols adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tasks_app.domain.errors import DomainError
from tasks_app.domain.events import DomainEvent
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, TaskStatus, UserId


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; `next_cursor` is None on the last page."""

    items: list[Task]
    next_cursor: str | None


class TaskRepository(Protocol):
    """Where tasks live. Implementations: DynamoDB (production) and an in-memory fake (tests)."""

    def add(self, task: Task) -> None:
        """Store a new task; never overwrites an existing one."""

    def get(self, task_id: TaskId) -> Task:
        """The task with this id, read after any write that returned; raises `TaskNotFound`."""

    def list_for_user(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        """The user's tasks, newest first, `limit` at a time.

        `cursor` is a `Page.next_cursor` this repository issued for the same user; anything
        else raises `InvalidCursor`.
        """

    def change_status(self, task_id: TaskId, new_status: TaskStatus, *, at: datetime) -> Task:
        """Atomically move a task to `new_status` if the state machine allows it from its status.

        Returns the task as it was *before* the change, so the caller can replay the change in
        the domain and get its events. Raises `TaskNotFound` or `InvalidTransition`; of two
        concurrent calls for the same change, exactly one succeeds.
        """


class PublishFailed(DomainError):
    """The messaging system did not accept some events."""


class EventPublisher(Protocol):
    """Sends domain events to subscribers."""

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish every event, in order; raises `PublishFailed` if any was not accepted."""
