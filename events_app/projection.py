"""What one task contributes to its user's statistics, rebuilt from its events in any order.

SPEC §2 counts a user's live tasks by status (the trash excluded); SPEC §4 delivers events at
least once and in any order. A task's events are numbered by `sequence` (SPEC §1), so each part
of a task's state is taken from the newest event that determines it, and an older event that
arrives late changes nothing. The read models keep one `TaskProjection` per task and move the
user's counters by the difference between its contribution before and after an event: the
counters then equal the number of tasks contributing to each status, whatever the arrival order.
Standard library only: the DynamoDB read models and the in-memory fake share these rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from events_app.messages import ReceivedEvent
from tasks_app.domain.events import TaskCompleted, TaskCreated, TaskDeleted, TaskRestored, TaskStatusChanged
from tasks_app.domain.values import TaskStatus

# The event types that determine part of a projection; the others (`TaskUpdated`,
# `TaskCompleted`) only add to the history and, for `TaskCompleted`, to the day's counts.
PROJECTED_EVENT_TYPES = frozenset(kind.__name__ for kind in (TaskCreated, TaskStatusChanged, TaskDeleted, TaskRestored))


@dataclass(frozen=True)
class TaskProjection:
    """One task as the statistics see it.

    `status` is the status set by the newest status-setting event seen (`TaskCreated` sets
    `pending`, `TaskStatusChanged` its `new_status`), `status_sequence` that event's sequence
    (0: none seen yet, status unknown). `trashed` is set by the newest `TaskDeleted` or
    `TaskRestored` seen, `trash_sequence` its sequence (0: none seen, so not in the trash).
    """

    user_id: str
    status: str | None = None
    status_sequence: int = 0
    trashed: bool = False
    trash_sequence: int = 0

    @property
    def counted_as(self) -> str | None:
        """The status this task is counted under: None while its status is unknown or it is in the trash."""
        return None if self.trashed else self.status

    def after(self, event: ReceivedEvent) -> TaskProjection:
        """This projection with `event` applied; `self` itself when the event determines nothing
        here or is older than the event that set what it determines."""
        kind = event.event_type
        if kind == TaskCreated.__name__:
            return self._with_status(TaskStatus.PENDING.value, event.sequence)
        if kind == TaskStatusChanged.__name__:
            return self._with_status(event.text("new_status"), event.sequence)
        if kind in (TaskDeleted.__name__, TaskRestored.__name__):
            if event.sequence <= self.trash_sequence:
                return self
            return replace(self, trashed=kind == TaskDeleted.__name__, trash_sequence=event.sequence)
        return self

    def _with_status(self, status: str, sequence: int) -> TaskProjection:
        if sequence <= self.status_sequence:
            return self
        return replace(self, status=status, status_sequence=sequence)


def status_steps(before: TaskProjection, after: TaskProjection) -> dict[str, int]:
    """How the owner's counts by status move when a task's projection goes from `before` to
    `after`: -1 on the status it was counted under, +1 on the one it is counted under now."""
    old, new = before.counted_as, after.counted_as
    if old == new:
        return {}
    steps = {old: -1} if old is not None else {}
    if new is not None:
        steps[new] = 1
    return steps


def day_steps(event: ReceivedEvent) -> dict[str, int]:
    """How the owner's counts of the event's UTC day move: `created` by a `TaskCreated`,
    `completed` by a `TaskCompleted`.

    These count what happened that day, once per event (the history's dedupe makes them exact):
    a task completed and reopened later still counts as completed on the day it was completed,
    and one created and then trashed still counts as created.
    """
    if event.event_type == TaskCreated.__name__:
        return {"created": 1}
    if event.event_type == TaskCompleted.__name__:
        return {"completed": 1}
    return {}
