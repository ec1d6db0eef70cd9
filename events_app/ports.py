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
    """A user's tasks by status, and what happened on one day."""

    user_id: str
    day: date
    counts: dict[str, int] = field(default_factory=no_counts)
    created_on_day: int = 0
    completed_on_day: int = 0


class ReadModels(Protocol):
    """Every task's history and every user's statistics, built from the events."""

    def apply(self, event: ReceivedEvent) -> bool:
        """Add the event to its task's history and count it, both or neither.

        Returns False, changing nothing, for an event applied before: however often a message
        is delivered, its event counts once.
        """

    def history(self, task_id: str) -> list[dict[str, Any]]:
        """The task's events as SPEC §4 messages, in sequence order; empty if none arrived yet."""

    def stats(self, user_id: str, day: date) -> UserStats:
        """The user's counts, and `day`'s created and completed tasks."""
