"""Domain events: past-tense facts recorded by a task, holding only primitives."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any


def _new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """What every event carries; `event_type` is the class name.

    `sequence` numbers a task's events 1, 2, 3... in the order they happened. Events recorded
    in one change share a timestamp, and queues may deliver them in any order; the sequence
    still says which came first, and no two events of a task share one.
    """

    aggregate_id: str
    timestamp: str
    sequence: int
    event_id: str = field(default_factory=_new_event_id)

    @property
    def event_type(self) -> str:
        return type(self).__name__

    def to_message(self) -> dict[str, Any]:
        """The SPEC §4 message: the envelope fields, and every field (`sequence` too) under `data`."""
        return {
            "event_type": self.event_type,
            "event_id": self.event_id,
            "aggregate_id": self.aggregate_id,
            "timestamp": self.timestamp,
            "data": dataclasses.asdict(self),
        }


@dataclass(frozen=True, kw_only=True)
class TaskCreated(DomainEvent):
    """A task was created; `due_at` is UTC ISO 8601 or None, `tags` as stored."""

    task_title: str
    user_id: str
    priority: str
    due_at: str | None
    tags: list[str]


@dataclass(frozen=True, kw_only=True)
class TaskUpdated(DomainEvent):
    """Fields of a task were edited: `changes` is `{field: {"old": ..., "new": ...}}` for each
    field that changed, with wire values (ISO 8601 times, lists of tags)."""

    user_id: str
    changes: dict[str, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class TaskStatusChanged(DomainEvent):
    """A task moved from `old_status` to `new_status`; recorded on every change."""

    old_status: str
    new_status: str
    user_id: str


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(DomainEvent):
    """A task became completed (recorded after its `TaskStatusChanged`)."""

    task_title: str
    user_id: str


@dataclass(frozen=True, kw_only=True)
class TaskDeleted(DomainEvent):
    """A task was moved to the trash (restorable for 30 days, then purged)."""

    task_title: str
    user_id: str


@dataclass(frozen=True, kw_only=True)
class TaskRestored(DomainEvent):
    """A task was taken out of the trash, exactly as it was."""

    task_title: str
    user_id: str


@dataclass(frozen=True, kw_only=True)
class TaskDueSoon(DomainEvent):
    """An open task falls due within its owner's reminder window (issue 14 item 6); recorded at
    most once per due date. `due_at` is the due date it was recorded for, UTC ISO 8601."""

    task_title: str
    user_id: str
    due_at: str


@dataclass(frozen=True, kw_only=True)
class TaskOverdue(DomainEvent):
    """An open task's due date has passed (issue 14 item 6); recorded at most once per due date.
    `due_at` is the due date that passed, UTC ISO 8601."""

    task_title: str
    user_id: str
    due_at: str
