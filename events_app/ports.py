"""What the consumers need from storage: the read models, as a Protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from events_app.messages import ReceivedEvent
from tasks_app.domain.values import TaskStatus


def no_counts() -> dict[str, int]:
    """A count of zero for every status of SPEC §1, in the order the statistics show them."""
    return dict.fromkeys((status.value for status in TaskStatus), 0)


@dataclass(frozen=True)
class UserStats:
    """A user's live tasks by status (those in the trash not counted), and the tasks they
    created and completed on one UTC day (SPEC §2, `GET /tasks/stats`)."""

    user_id: str
    day: date
    counts: dict[str, int] = field(default_factory=no_counts)
    created_on_day: int = 0
    completed_on_day: int = 0


class ReadModels(Protocol):
    """Every task's history and every user's statistics, built from the events (SPEC §4).

    Events arrive at least once and in any order. Once all of a task's events have been
    applied, however often and in whatever order, its history and its user's statistics are
    exactly what applying them once, in sequence order, gives (`events_app.projection`).
    """

    def apply(self, event: ReceivedEvent) -> bool:
        """Add the event to its task's history and count it, both or neither.

        Returns False, changing nothing, for an event applied before: however often a message
        is delivered, its event counts once. Storage errors propagate (the message is then
        delivered again, which is safe).
        """

    def history(self, task_id: str) -> list[dict[str, Any]]:
        """The task's events as SPEC §4 messages, in sequence order; empty if none arrived yet."""

    def stats(self, user_id: str, day: date) -> UserStats:
        """The user's live tasks by status, and `day`'s created and completed tasks; zeros for
        a user the read models have not heard of."""
