"""Value objects: task and user identities, priorities, tags, and the status state machine (SPEC §1)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tasks_app.domain.errors import InvalidValue

USER_ID_MAX_LENGTH = 128
TAGS_MAX = 20
TAG_MAX_LENGTH = 40
_TASK_ID = re.compile(r"task-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def require_unicode_text(field: str, value: str) -> None:
    """Reject NUL and lone surrogates (SPEC §1): JSON can carry them, but a NUL truncates text in
    many receivers and a lone surrogate cannot be stored as UTF-8. Raises `InvalidValue`."""
    if "\x00" in value:
        raise InvalidValue(field, "Must not contain the NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(field, "Contains characters that are not valid Unicode.") from None


class Priority(StrEnum):
    """How urgent a task is (SPEC §1); `normal` unless said otherwise."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


def normalize_tags(raw: Iterable[str]) -> tuple[str, ...]:
    """Tags as SPEC §1 stores them: each trimmed, 1-40 characters, no commas, lower-case; the
    first of case-insensitive repeats kept, in the order given; at most 20.

    Raises `InvalidValue` (field `tags`) naming the first tag that breaks a rule.
    """
    tags: list[str] = []
    for tag in raw:
        if not isinstance(tag, str):
            raise InvalidValue("tags", f"A tag must be text, not {tag!r}.")
        require_unicode_text("tags", tag)
        label = tag.strip().lower()
        if not label:
            raise InvalidValue("tags", "A tag must not be blank.")
        if len(label) > TAG_MAX_LENGTH:
            raise InvalidValue("tags", f"A tag must be at most {TAG_MAX_LENGTH} characters: {tag!r}.")
        if "," in label:
            raise InvalidValue("tags", f"A tag must not contain a comma: {tag!r}.")
        if label not in tags:
            tags.append(label)
    if len(tags) > TAGS_MAX:
        raise InvalidValue("tags", f"A task has at most {TAGS_MAX} tags, not {len(tags)}.")
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class TaskId:
    """`task-` followed by a lower-case UUID4."""

    value: str

    def __post_init__(self) -> None:
        if not _TASK_ID.fullmatch(self.value):
            raise InvalidValue("task_id", "Must be 'task-' followed by a UUID4.")

    @classmethod
    def new(cls) -> TaskId:
        return cls(f"task-{uuid.uuid4()}")

    @classmethod
    def is_valid(cls, value: str) -> bool:
        return bool(_TASK_ID.fullmatch(value))

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class UserId:
    """The owner of a task: any non-blank string of at most 128 characters, stored trimmed."""

    value: str

    def __post_init__(self) -> None:
        require_unicode_text("user_id", self.value)
        if self.value != self.value.strip():
            raise InvalidValue("user_id", "Must not start or end with whitespace.")
        if not self.value:
            raise InvalidValue("user_id", "Must not be blank.")
        if len(self.value) > USER_ID_MAX_LENGTH:
            raise InvalidValue("user_id", f"Must be at most {USER_ID_MAX_LENGTH} characters.")

    @classmethod
    def parse(cls, raw: str) -> UserId:
        return cls(raw.strip())

    def __str__(self) -> str:
        return self.value


class TaskStatus(StrEnum):
    """Where a task is in its life; `can_become` is the state machine of the SPEC."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    def can_become(self, new: TaskStatus) -> bool:
        return self in new.reachable_from()

    def reachable_from(self) -> frozenset[TaskStatus]:
        """The statuses a task may be in for it to move to this one."""
        return _REACHABLE_FROM[self]


_REACHABLE_FROM: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELLED}),  # reopen
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.PENDING}),
    TaskStatus.COMPLETED: frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS}),
}
