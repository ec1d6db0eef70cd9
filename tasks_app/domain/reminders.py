"""Due-date reminder rules (issue 14 item 6): when a task is due soon or overdue, and when it
next needs looking at. Standard library only; `Task` applies them."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

# A user's window is how long before the due date `TaskDueSoon` is recorded. The email helper
# stores it as 5..1440 minutes; the default is an hour (issue 14, shared contract).
DEFAULT_REMINDER_WINDOW = timedelta(hours=1)
MAX_REMINDER_WINDOW = timedelta(hours=24)
MIN_REMINDER_WINDOW = timedelta(minutes=1)  # a zero window would never be "due soon"


class ReminderOutcome(StrEnum):
    """What looking at a task's reminders did."""

    DUE_SOON = "due_soon"  # recorded TaskDueSoon
    OVERDUE = "overdue"  # recorded TaskOverdue
    MOVED = "moved"  # not due soon for its owner yet: next look moved later, nothing recorded
    NOTHING = "nothing"  # nothing to remind (closed, trashed, undated, or already reminded)


def clamped_window(window: timedelta) -> timedelta:
    """`window` within MIN_REMINDER_WINDOW..MAX_REMINDER_WINDOW: the index is keyed for at most
    MAX_REMINDER_WINDOW before the due date, so a longer window could not be honoured."""
    return max(MIN_REMINDER_WINDOW, min(window, MAX_REMINDER_WINDOW))


def next_reminder_at(
    *,
    due_at: datetime | None,
    open_and_live: bool,
    due_soon_sent_for: datetime | None,
    overdue_sent_for: datetime | None,
    remind_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """When a sweep should next look at a task, or None when it has nothing left to remind.

    Inputs are the task's state after a change made at `now` (`remind_at` is the instant kept
    so far, None when unknown or cleared by a new due date). The first look is
    `due_at - MAX_REMINDER_WINDOW` (any window may want it then); after `TaskDueSoon` it is
    `due_at`; after `TaskOverdue` there is none. Never earlier than `now`: a sweep has already
    passed the earlier instants' time buckets, so a pending reminder moves to the present one.
    """
    if due_at is None or not open_and_live or overdue_sent_for == due_at:
        return None
    if due_soon_sent_for == due_at:
        instant = due_at
    elif remind_at is not None:
        instant = remind_at
    elif due_at - now <= MAX_REMINDER_WINDOW:
        # The first look has passed (compared this way since, for a due date on the first day of
        # year 1, `due_at - MAX_REMINDER_WINDOW` is before datetime's range: OverflowError, a 500).
        return now
    else:
        instant = due_at - MAX_REMINDER_WINDOW
    return max(instant, now)
