"""The Task entity: its invariants, its lifecycle (SPEC §1) and the events each change records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks_app.domain.errors import InvalidTransition, InvalidValue
from tasks_app.domain.events import (
    DomainEvent,
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskDueSoon,
    TaskOverdue,
    TaskRestored,
    TaskStatusChanged,
    TaskUpdated,
)
from tasks_app.domain.reminders import ReminderOutcome, clamped_window, next_reminder_at
from tasks_app.domain.values import Priority, TaskId, TaskStatus, UserId, normalize_tags, require_unicode_text

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
_MOMENTS = (
    "created_at",
    "due_at",
    "updated_at",
    "completed_at",
    "deleted_at",
    "due_soon_sent_for",
    "overdue_sent_for",
    "remind_at",
)
TRASH_RETENTION = timedelta(days=30)  # SPEC §1: a trashed task can be restored this long, then it is purged
EDITABLE_FIELDS = ("title", "description", "priority", "due_at", "tags")  # what PATCH may change (SPEC §2)

# The status actions of SPEC §1, by the past participle their events and errors use.
_ACTION_TARGETS = {
    "started": TaskStatus.IN_PROGRESS,
    "completed": TaskStatus.COMPLETED,
    "cancelled": TaskStatus.CANCELLED,
    "reopened": TaskStatus.PENDING,
}


def isoformat_utc(moment: datetime) -> str:
    """Fixed-width ISO 8601 in UTC (`2026-01-31T09:00:00.000000Z`), so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Task:
    """A user's task. Build new ones with `Task.create`; the constructor rebuilds stored ones.

    `version` is the sequence of the task's latest event: 1 when created, raised by each change
    by the number of events it records (SPEC §1); it is the task's ETag and the optimistic lock
    stores write on. `deleted_at` is set while the task is in the trash.

    Reminder state (issue 14 item 6, not part of the task's JSON): `due_soon_sent_for` and
    `overdue_sent_for` are the due dates `TaskDueSoon` and `TaskOverdue` were recorded for, so
    a new due date re-arms both; `remind_at` is when a sweep should next look at the task
    (`reminders.next_reminder_at`), None when there is nothing left to remind. Every change
    re-derives it.
    """

    task_id: TaskId
    user_id: UserId
    title: str
    description: str
    status: TaskStatus
    created_at: datetime
    priority: Priority = Priority.NORMAL
    due_at: datetime | None = None
    tags: tuple[str, ...] = ()
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    deleted_at: datetime | None = None
    version: int = 0
    due_soon_sent_for: datetime | None = None
    overdue_sent_for: datetime | None = None
    remind_at: datetime | None = None
    _events: list[DomainEvent] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_title(self.title)
        _check_description(self.description)
        if self.tags != normalize_tags(self.tags):
            raise InvalidValue("tags", "Must be stored trimmed, lower-case and unique.")
        if self.version < 0:
            raise InvalidValue("version", "Must not be negative.")
        for name in _MOMENTS:
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise InvalidValue(name, "Must be timezone-aware.")

    @classmethod
    def create(
        cls,
        *,
        user_id: UserId,
        title: str,
        description: str = "",
        priority: Priority = Priority.NORMAL,
        due_at: datetime | None = None,
        tags: Iterable[str] = (),
        now: datetime,
    ) -> Task:
        """A new pending task at version 1; the title is trimmed, tags normalized, and
        `TaskCreated` recorded. Raises `InvalidValue` naming the field that breaks a rule."""
        task = cls(
            task_id=TaskId.new(),
            user_id=user_id,
            title=_trimmed_title(title),
            description=_editable_value("description", description),
            status=TaskStatus.PENDING,
            created_at=now,
            priority=_editable_value("priority", priority),
            due_at=_editable_value("due_at", due_at),
            tags=_editable_value("tags", tags),
        )
        task._record(
            TaskCreated,
            now,
            task_title=task.title,
            user_id=str(user_id),
            priority=task.priority.value,
            due_at=_wire(task.due_at),
            tags=list(task.tags),
        )
        return task

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None

    def update(self, changes: Mapping[str, Any], now: datetime) -> bool:
        """Edit any of `EDITABLE_FIELDS`; returns whether anything changed.

        Records one `TaskUpdated` holding the old and new value of each field that changed; a
        change to the current values records nothing and keeps the version (SPEC §1). Raises
        `InvalidValue` for an unknown field or a value that breaks a rule, `InvalidTransition` in
        the trash (a restore must bring the task back exactly as it was).
        """
        if self.in_trash:
            raise InvalidTransition(str(self.task_id), "in the trash", "updated")
        unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
        if unknown:
            raise InvalidValue(unknown[0], "This field cannot be changed.")
        wanted = {name: _editable_value(name, value) for name, value in changes.items()}
        differences = {
            name: {"old": _wire(getattr(self, name)), "new": _wire(value)}
            for name, value in wanted.items()
            if getattr(self, name) != value
        }
        if not differences:
            return False
        for name in differences:
            setattr(self, name, wanted[name])
        if "due_at" in differences:
            self.remind_at = None  # a new due date re-arms the reminders from their first instant
        self.updated_at = now
        self._record(TaskUpdated, now, user_id=str(self.user_id), changes=differences)
        return True

    def start(self, now: datetime) -> None:
        """pending → in_progress; anything else is an `InvalidTransition`."""
        self._change_status("started", now)

    def complete(self, now: datetime) -> None:
        """pending or in_progress → completed, with `completed_at`; records `TaskStatusChanged`
        then `TaskCompleted`. Completing it twice is an `InvalidTransition`, never a no-op."""
        self._change_status("completed", now)
        self.completed_at = now
        self._record(TaskCompleted, now, task_title=self.title, user_id=str(self.user_id))

    def cancel(self, now: datetime) -> None:
        """pending or in_progress → cancelled; anything else is an `InvalidTransition`."""
        self._change_status("cancelled", now)

    def reopen(self, now: datetime) -> None:
        """completed or cancelled → pending, clearing `completed_at`."""
        self._change_status("reopened", now)
        self.completed_at = None

    def delete(self, now: datetime) -> None:
        """Move the task to the trash (`TaskDeleted`); its fields stay as they are, for restore."""
        if self.in_trash:
            raise InvalidTransition(str(self.task_id), "in the trash", "deleted")
        self.deleted_at = now
        self._record(TaskDeleted, now, task_title=self.title, user_id=str(self.user_id))

    def restore(self, now: datetime) -> None:
        """Take the task out of the trash exactly as it was, one version later (`TaskRestored`)."""
        if not self.in_trash:
            raise InvalidTransition(str(self.task_id), "not in the trash", "restored")
        self.deleted_at = None
        self._record(TaskRestored, now, task_title=self.title, user_id=str(self.user_id))

    @property
    def is_open(self) -> bool:
        """Pending or in progress, and not in the trash: what reminders are for."""
        return not self.in_trash and self.status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS)

    def remind(self, now: datetime, window: timedelta) -> ReminderOutcome:
        """Record the reminder the task is due at `now` for an owner whose window is `window`.

        For an open task with a due date (issue 14 item 6): `TaskOverdue` once `now >= due_at`
        (a task first looked at past its due date gets only this one), else `TaskDueSoon` once
        `now >= due_at - window`; each at most once per due date. Too early for the window, the
        next look moves to `due_at - window` (MOVED: no event, version unchanged). `window` is
        clamped to 1 minute..24 hours. Raises nothing.
        """
        due = self.due_at
        if due is None or not self.is_open:
            return ReminderOutcome.NOTHING
        if now >= due:
            if self.overdue_sent_for == due:
                return ReminderOutcome.NOTHING
            self.overdue_sent_for = due
            self._record(TaskOverdue, now, task_title=self.title, user_id=str(self.user_id), due_at=_wire(due))
            return ReminderOutcome.OVERDUE
        if self.due_soon_sent_for == due:
            return ReminderOutcome.NOTHING
        starts = due - clamped_window(window)
        if now >= starts:
            self.due_soon_sent_for = due
            self._record(TaskDueSoon, now, task_title=self.title, user_id=str(self.user_id), due_at=_wire(due))
            return ReminderOutcome.DUE_SOON
        if self.remind_at == starts:
            return ReminderOutcome.NOTHING
        self.remind_at = starts
        return ReminderOutcome.MOVED

    @property
    def stored_version(self) -> int:
        """The version a store holds while the recorded events are not yet handed over."""
        return self.version - len(self._events)

    def pull_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _change_status(self, action: str, now: datetime) -> None:
        new = _ACTION_TARGETS[action]
        if self.in_trash or not self.status.can_become(new):
            current = "in the trash" if self.in_trash else self.status.value
            raise InvalidTransition(
                str(self.task_id), current, action, already=not self.in_trash and new is self.status
            )
        old, self.status, self.updated_at = self.status, new, now
        self._record(TaskStatusChanged, now, old_status=old.value, new_status=new.value, user_id=str(self.user_id))

    def _record(self, kind: type[DomainEvent], now: datetime, **fields: Any) -> None:
        self.version += 1
        self.remind_at = next_reminder_at(
            due_at=self.due_at,
            open_and_live=self.is_open,
            due_soon_sent_for=self.due_soon_sent_for,
            overdue_sent_for=self.overdue_sent_for,
            remind_at=self.remind_at,
            now=now,
        )
        self._events.append(
            kind(aggregate_id=str(self.task_id), timestamp=isoformat_utc(now), sequence=self.version, **fields)
        )


def _editable_value(name: str, value: Any) -> Any:
    """A PATCH value as the task holds it, checked; raises `InvalidValue` for `name`."""
    if name == "title":
        return _trimmed_title(value)
    if name == "description":
        if not isinstance(value, str):
            raise InvalidValue(name, "Must be text.")
        _check_description(value)
        return value
    if name == "priority":
        try:
            return Priority(value)
        except ValueError:
            raise InvalidValue(name, f"Must be one of {', '.join(p.value for p in Priority)}.") from None
    if name == "due_at":
        if value is not None and not isinstance(value, datetime):
            raise InvalidValue(name, "Must be a time with an offset, or null.")
        return _utc(value)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidValue(name, "Must be a list of labels.")
    return normalize_tags(value)


def _trimmed_title(title: Any) -> str:
    if not isinstance(title, str):
        raise InvalidValue("title", "Must be text.")
    require_unicode_text("title", title)
    trimmed = title.strip()
    _check_title(trimmed)
    return trimmed


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise InvalidValue("due_at", "Must have a time zone offset, e.g. 2026-12-01T17:00:00Z.")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00, past datetime's last day once in UTC
        raise InvalidValue("due_at", "Must be between years 1 and 9999 once in UTC.") from None


def _wire(value: Any) -> Any:
    """A field's value as events and the API carry it: text, ISO 8601 UTC, or a list of tags."""
    if isinstance(value, datetime):
        return isoformat_utc(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Priority):
        return value.value
    return value


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
