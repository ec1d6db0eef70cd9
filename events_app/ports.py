"""What the consumers need from storage: the two read models, as Protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from events_app.events import ReceivedEvent

STATUSES = ("pending", "in_progress", "completed", "cancelled")


@dataclass(frozen=True)
class UserStats:
    """A user's tasks by status, and what happened on one day."""

    user_id: str
    day: date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    created_on_day: int = 0
    completed_on_day: int = 0


class HistoryStore(Protocol):
    """Every event of every task, kept in each task's order."""

    def record(self, event: ReceivedEvent) -> bool:
        """Keep the event; False if it was already kept (a redelivery), which changes nothing."""

    def for_task(self, task_id: str) -> list[dict[str, Any]]:
        """The task's events as SPEC §4 messages, oldest first; empty if none arrived yet."""


class StatsStore(Protocol):
    """Counters per user, each event counted once however often it is delivered."""

    def apply(self, event: ReceivedEvent) -> bool:
        """Count the event; False if it was already counted."""

    def for_user(self, user_id: str, day: date) -> UserStats:
        """The user's counts, and `day`'s created and completed tasks."""
