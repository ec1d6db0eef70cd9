"""The due-date reminder sweep (issue 14 item 6): finds the tasks whose reminder instant has come
through the reminder index, one Query per UTC hour bucket, and records `TaskDueSoon` or
`TaskOverdue` through the outbox like any other change.

Exactly once per task and due date: a task remembers the due date each reminder was recorded
for, and every write is conditioned on the version read (SPEC §3). Of two sweeps racing (or a
sweep and a user's change) one write wins; the loser skips the task without a word, since the
winner's write either recorded the reminder or put the task back in the index at the present
instant, where the next sweep finds it.

The sweep looks from a remembered mark (`ReminderIndex.swept_until`) to now, so a sweep that did
not run for a while catches up; at most `CATCH_UP_LIMIT` back, which bounds a sweep's cost
after a long stop (at most 169 Queries). Each sweep also reads the hour bucket `SWEEP_OVERLAP`
before its mark again: a change stamped just before an hour turned may reach the index just
after a sweep of the new hour.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tasks_app.application.ports import (
    ConcurrentUpdate,
    ReminderIndex,
    ReminderWindows,
    TaskRepository,
)
from tasks_app.domain.reminders import DEFAULT_REMINDER_WINDOW, ReminderOutcome
from tasks_app.domain.task import Task

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = timedelta(days=7)  # how far back a sweep after a long stop (or the first one) looks
SWEEP_OVERLAP = timedelta(minutes=5)  # index and clock lag a sweep allows for at an hour's turn
BUCKET = timedelta(hours=1)  # the reminder index's partitions: one UTC hour each
# The instants a sweep can compute with: its catch-up start and its last bucket's end stay
# inside datetime's years 1..9999 (an operator's `--now 0001-01-01T00:00:00Z` was an OverflowError).
EARLIEST_SWEEP = datetime.min.replace(tzinfo=UTC) + CATCH_UP_LIMIT + SWEEP_OVERLAP + BUCKET
LATEST_SWEEP = datetime.max.replace(tzinfo=UTC) - 2 * BUCKET


class DefaultReminderWindows:
    """`ReminderWindows` for a deployment without notification settings: every user gets
    `DEFAULT_REMINDER_WINDOW` (an empty answer means the default)."""

    def windows_for(self, user_ids: Collection[str]) -> Mapping[str, timedelta]:
        """No user has chosen a window: always `{}`."""
        return {}


@dataclass(frozen=True)
class ReminderSweepResult:
    """What one sweep did: events recorded (`due_soon`, `overdue`), tasks whose next look moved
    later for their owner's window (`moved`), tasks skipped because another writer changed them
    first (`skipped`), index requests made (`queries`: DynamoDB Query pages), and the span of
    reminder instants looked at (`swept_from`..`swept_until`, UTC)."""

    due_soon: int
    overdue: int
    moved: int
    skipped: int
    queries: int
    swept_from: datetime
    swept_until: datetime


def hour_buckets(start: datetime, end: datetime) -> list[datetime]:
    """The starts of the UTC hours from the one holding `start` to the one holding `end`, in
    order (both timezone-aware)."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    buckets = []
    while hour <= end:
        buckets.append(hour)
        hour += BUCKET
    return buckets


def reminders_sweep(
    *,
    tasks: TaskRepository,
    index: ReminderIndex,
    windows: ReminderWindows,
    now: datetime,
    advance_mark: bool = True,
) -> ReminderSweepResult:
    """Record every reminder due at `now` (timezone-aware) and advance the sweep's mark to `now`
    (unless `advance_mark` is False: an operator's sweep at a chosen instant, see below).

    Reads the hour buckets from `max(mark - SWEEP_OVERLAP, now - CATCH_UP_LIMIT)` to `now`; asks
    `windows` once per bucket that holds tasks, for their owners. Raises `DependencyUnavailable`
    in an outage (the mark then stays, and the next sweep looks again; what was recorded stays
    recorded once); `ValueError` for a `now` without a time zone or outside
    `EARLIEST_SWEEP`..`LATEST_SWEEP`.

    The mark must only ever be a clock's time: a mark in the future (a sweep `--now` a month
    ahead) is never overtaken by the clock's sweeps, which then start at their own time minus
    `SWEEP_OVERLAP` and lose the catch-up after every stop until that month has passed.
    """
    if now.utcoffset() is None:
        raise ValueError("The sweep's `now` must be timezone-aware.")
    now = now.astimezone(UTC)  # the index's buckets are UTC hours
    if not EARLIEST_SWEEP <= now <= LATEST_SWEEP:
        first, last = (moment.isoformat(timespec="minutes") for moment in (EARLIEST_SWEEP, LATEST_SWEEP))
        raise ValueError(f"The sweep's `now` must be from {first} to {last}.")
    mark = index.swept_until()
    earliest = now - CATCH_UP_LIMIT
    start = earliest if mark is None else max(min(mark, now) - SWEEP_OVERLAP, earliest)
    counts = dict.fromkeys(ReminderOutcome, 0)
    skipped = queries = 0
    for hour in hour_buckets(start, now):
        found, pages = index.due_in_hour(hour, until=now)
        queries += pages
        if not found:
            continue
        chosen = windows.windows_for({str(task.user_id) for task in found})
        for task in found:
            outcome = task.remind(now, chosen.get(str(task.user_id), DEFAULT_REMINDER_WINDOW))
            if _store(task, outcome, tasks=tasks, index=index):
                counts[outcome] += 1
            else:
                skipped += 1
    if advance_mark:
        index.mark_swept(now)
    result = ReminderSweepResult(
        due_soon=counts[ReminderOutcome.DUE_SOON],
        overdue=counts[ReminderOutcome.OVERDUE],
        moved=counts[ReminderOutcome.MOVED],
        skipped=skipped,
        queries=queries,
        swept_from=start,
        swept_until=now,
    )
    logger.debug(  # every minute deployed: config.reminders logs at INFO when something was recorded
        "Swept reminders: %d due soon, %d overdue, %d moved, %d skipped, %d queries",
        result.due_soon,
        result.overdue,
        result.moved,
        result.skipped,
        result.queries,
    )
    return result


def _store(task: Task, outcome: ReminderOutcome, *, tasks: TaskRepository, index: ReminderIndex) -> bool:
    """Store what `remind` did; False when another writer changed the task first (or nothing to store)."""
    if outcome is ReminderOutcome.NOTHING:
        return False  # a stale index entry: the task's latest write has already moved it
    if outcome is ReminderOutcome.MOVED:
        return index.move_reminder(task)
    try:
        tasks.update(task)
    except ConcurrentUpdate:
        # DEBUG: sweeps race over every task they share (EventBridge may invoke twice, an operator
        # may sweep by hand), and an INFO line per task flooded the logs; the result counts them.
        logger.debug("Task %s changed during the reminder sweep; its latest write stands", task.task_id)
        return False
    return True
