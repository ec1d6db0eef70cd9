"""The Task entity: its invariants, its status changes and the events they record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tasks_app.domain.errors import InvalidTransition, InvalidValue
from tasks_app.domain.events import DomainEvent, TaskCompleted, TaskCreated, TaskStatusChanged
from tasks_app.domain.values import TaskId, TaskStatus, UserId, require_unicode_text

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000


def isoformat_utc(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC (`2026-01-31T09:00:00.000000Z`), so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Task:
    """A user's task. Build new ones with `Task.create`; the constructor rebuilds stored ones."""

    task_id: TaskId
    user_id: UserId
    title: str
    description: str
    status: TaskStatus
    created_at: datetime
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    version: int = 0  # the sequence of the task's latest event; stores use it to detect races
    _events: list[DomainEvent] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_title(self.title)
        _check_description(self.description)
        if self.version < 0:
            raise InvalidValue("version", "Must not be negative.")
        for name in ("created_at", "updated_at", "completed_at"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise InvalidValue(name, "Must be timezone-aware.")

    @classmethod
    def create(cls, *, user_id: UserId, title: str, description: str = "", now: datetime) -> Task:
        """A new pending task; the title is trimmed, and `TaskCreated` is recorded."""
        task = cls(
            task_id=TaskId.new(),
            user_id=user_id,
            title=title.strip(),
            description=description,
            status=TaskStatus.PENDING,
            created_at=now,
        )
        task._events.append(
            TaskCreated(
                aggregate_id=str(task.task_id),
                timestamp=isoformat_utc(now),
                sequence=task._next_sequence(),
                task_title=task.title,
                user_id=str(user_id),
            )
        )
        return task

    def start(self, now: datetime) -> None:
        self._change_status(TaskStatus.IN_PROGRESS, now)

    def complete(self, now: datetime) -> None:
        """Complete the task; completing it twice is an `InvalidTransition`, never a no-op."""
        self._change_status(TaskStatus.COMPLETED, now)
        self.completed_at = now
        self._events.append(
            TaskCompleted(
                aggregate_id=str(self.task_id),
                timestamp=isoformat_utc(now),
                sequence=self._next_sequence(),
                task_title=self.title,
                user_id=str(self.user_id),
            )
        )

    def cancel(self, now: datetime) -> None:
        self._change_status(TaskStatus.CANCELLED, now)

    @property
    def stored_version(self) -> int:
        """The version a store holds while the recorded events are not yet handed over."""
        return self.version - len(self._events)

    def pull_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _next_sequence(self) -> int:
        self.version += 1
        return self.version

    def _change_status(self, new: TaskStatus, now: datetime) -> None:
        if not self.status.can_become(new):
            raise InvalidTransition(str(self.task_id), self.status.value, new.value)
        old, self.status, self.updated_at = self.status, new, now
        self._events.append(
            TaskStatusChanged(
                aggregate_id=str(self.task_id),
                timestamp=isoformat_utc(now),
                sequence=self._next_sequence(),
                old_status=old.value,
                new_status=new.value,
                user_id=str(self.user_id),
            )
        )


def _check_title(title: str) -> None:
    require_unicode_text("title", title)
    if title != title.strip():
        raise InvalidValue("title", "Must not start or end with whitespace.")
    if not title:
        raise InvalidValue("title", "Must not be blank.")
    if len(title) > TITLE_MAX_LENGTH:
        raise InvalidValue("title", f"Must be at most {TITLE_MAX_LENGTH} characters.")


def _check_description(description: str) -> None:
    require_unicode_text("description", description)
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidValue("description", f"Must be at most {DESCRIPTION_MAX_LENGTH} characters.")
