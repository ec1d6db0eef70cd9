"""Ports: what the services need from storage and messaging, as Protocols adapters implement."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from tasks_app.application.idempotency import IdempotencyRecord
from tasks_app.correlation import Origin
from tasks_app.domain.errors import DomainError
from tasks_app.domain.events import DomainEvent
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import Priority, TaskId, TaskStatus, UserId


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; `next_cursor` is None on the last page."""

    items: list[Task]
    next_cursor: str | None


class TaskSort(StrEnum):
    """The orders of a listing (SPEC §2): newest first, or soonest due with undated tasks last."""

    NEWEST_FIRST = "-created_at"
    DUE_SOONEST = "due_at"


@dataclass(frozen=True, slots=True)
class TaskFilters:
    """What a listing keeps (SPEC §2): any of `statuses`, and the other filters all at once.

    `due_before` and `due_after` are exclusive bounds; a task without a due date matches
    neither.
    """

    statuses: tuple[TaskStatus, ...] = ()
    priority: Priority | None = None
    tag: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None

    def fingerprint(self) -> str:
        """Canonical text of the filters, which a cursor is bound to."""
        return json.dumps(
            [
                sorted(status.value for status in self.statuses),
                self.priority.value if self.priority else None,
                self.tag,
                isoformat_utc(self.due_before) if self.due_before else None,
                isoformat_utc(self.due_after) if self.due_after else None,
            ]
        )


class ConcurrentUpdate(DomainError):
    """Another request changed the task between this one's read and its write."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id!r} was changed by another request at the same time; try again.")
        self.task_id = task_id


class DependencyUnavailable(Exception):
    """A dependency (DynamoDB, SNS) is unreachable, too slow or throttling: an outage, not a bug.

    Adapters raise it in place of their SDK's errors, so that every path answers 503
    `SERVICE_UNAVAILABLE` with `Retry-After` (SPEC §2) and consumers retry the message.
    `retry_after` is in seconds; `reason` says what happened, for the logs.
    """

    def __init__(self, dependency: str, reason: str, *, retry_after: int) -> None:
        super().__init__(f"{dependency} is unavailable: {reason}")
        self.dependency = dependency
        self.reason = reason
        self.retry_after = retry_after


class TaskRepository(Protocol):
    """Where tasks live, with the events they record (the outbox) written in the same transaction.

    Implementations: DynamoDB (production) and an in-memory fake (tests). Every write is one
    transaction holding the task, its new events and, when given, the idempotency record.
    """

    def add(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        """Store a new task and the events it recorded, atomically; never overwrites a task.

        Raises `IdempotencyKeyInUse` when another request stored the same key first.
        """

    def get(self, task_id: TaskId) -> Task:
        """The live task with this id, read after any write that returned; raises `TaskNotFound`
        for an unknown or trashed task."""

    def get_trashed(self, task_id: TaskId) -> Task:
        """The task with this id if it is in the trash; raises `TaskNotFound` otherwise."""

    def list_for_user(
        self,
        user_id: UserId,
        *,
        limit: int,
        cursor: str | None,
        filters: TaskFilters = TaskFilters(),
        sort: TaskSort = TaskSort.NEWEST_FIRST,
    ) -> Page:
        """The user's live tasks that pass `filters`, in `sort` order, at most `limit` at a time.

        A page may hold fewer than `limit` tasks and still have a `next_cursor` (filters read a
        bounded number of items per page). `cursor` is a `Page.next_cursor` this repository
        issued for the same user, filters and sort; anything else raises `InvalidCursor`.
        """

    def list_trash(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        """The user's trashed tasks, latest deletion first; cursors as in `list_for_user`."""

    def update(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        """Store a read task's changes (edits, status, trash) and the events it recorded, atomically.

        Raises `ConcurrentUpdate` if the stored task is no longer the version that was read, so
        of two racing changes exactly one is stored; `IdempotencyKeyInUse` as in `add`.
        """

    def record_response(self, record: IdempotencyRecord) -> None:
        """Store an idempotency record alone, for a request that changed nothing; raises
        `IdempotencyKeyInUse` when another request stored the key first."""

    def find_response(self, scope: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The unexpired record of `scope`'s key, or None."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event waiting to be published: the SPEC §4 message, and where it sits in its task's order.

    `request_id` and `trace_header` name the request that caused it (SPEC §9), sent beside the
    message as attributes, never in it; None for an event stored before they were kept, or by
    a change that no request made (a management command).
    """

    task_id: str
    sequence: int
    event_id: str
    event_type: str
    message: str
    stored_at: datetime | None = field(default=None, compare=False)
    request_id: str | None = field(default=None, compare=False)
    trace_header: str | None = field(default=None, compare=False)

    @classmethod
    def from_event(cls, event: DomainEvent, *, origin: Origin | None = None) -> OutboxEntry:
        """The entry of `event`, stamped with `origin` (the request that caused it), if given."""
        origin = origin or Origin()
        return cls(
            task_id=event.aggregate_id,
            sequence=event.sequence,
            event_id=event.event_id,
            event_type=event.event_type,
            message=json.dumps(event.to_message(), ensure_ascii=False),
            stored_at=datetime.fromisoformat(event.timestamp),
            request_id=origin.request_id,
            trace_header=origin.trace_header,
        )


class Outbox(Protocol):
    """The events stored with their tasks and not yet published."""

    def pending(self, *, task_id: TaskId | None = None, limit: int) -> list[OutboxEntry]:
        """Entries in each task's sequence order: `task_id`'s, or up to `limit` from each shard."""

    def remove(self, entries: Sequence[OutboxEntry]) -> None:
        """Forget entries that were published."""

    def still_stored(self, events: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of `events` (task id, sequence) are still in the outbox, read consistently."""


PUBLISH_BATCH_MAX = 10  # entries per publish: the most one SNS PublishBatch accepts


class EventPublisher(Protocol):
    """Sends events to subscribers."""

    def publish(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """Publish up to `PUBLISH_BATCH_MAX` entries; returns those accepted. The rest were not
        published. More entries than that raise `ValueError`."""


class RelayMetrics(Protocol):
    """Reports what the relay published (SPEC §9), without an AWS request of its own."""

    def published(self, entries: Sequence[OutboxEntry]) -> None:
        """`entries` were just accepted by the publisher: called at once, so now is their
        publish time. Raises nothing."""


class ReminderWindows(Protocol):
    """How long before a task's due date each user wants `TaskDueSoon` (issue 14 item 6).

    Users missing from the answer get `DEFAULT_REMINDER_WINDOW`; no window is longer than
    `MAX_REMINDER_WINDOW` (longer ones are cut to it). The notifications app implements it from
    each user's settings.
    """

    def windows_for(self, user_ids: Collection[str]) -> Mapping[str, timedelta]:
        """The windows of those of `user_ids` who chose one. Raises `DependencyUnavailable` in an outage."""


class ReminderIndex(Protocol):
    """The index of tasks that have a reminder pending (GSI4 on DynamoDB), bucketed by the UTC
    hour of the instant a sweep should look at them, and the sweep's own progress."""

    def due_in_hour(self, hour: datetime, *, until: datetime) -> tuple[list[Task], int]:
        """The tasks whose next look falls in the UTC hour starting at `hour` and is no later
        than `until`, in instant order, with the number of requests (DynamoDB Query pages) read.
        Index reads may be a moment stale: writes are conditioned on the version read."""

    def move_reminder(self, task: Task) -> bool:
        """Store `task.remind_at` alone (no event, version unchanged) if the task is still at
        `task.version`; False when another writer changed it first."""

    def swept_until(self) -> datetime | None:
        """How far sweeps have looked, None before the first."""

    def mark_swept(self, until: datetime) -> None:
        """Remember that everything up to `until` was looked at; never moves the mark back
        (a slower concurrent sweep leaves a later mark as it is)."""
