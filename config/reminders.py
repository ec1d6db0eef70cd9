"""The reminder sweep as every runner calls it: the Lambda schedule (`config.lambda_handlers.
sweep_reminders`), `python manage.py remind_due_tasks` and `make run`'s loop (issue 14 item 6).

One function, so the three cannot drift: it wires the users' reminder windows into the task
service's sweep (`tasks_app.bootstrap.sweep_reminders`) and logs what it recorded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks_app.application.ports import ReminderWindows
    from tasks_app.application.reminders import ReminderSweepResult

logger = logging.getLogger(__name__)


def sweep_reminders(now: datetime | None = None) -> ReminderSweepResult:
    """Record `TaskDueSoon` for every task falling due within its owner's reminder window and
    `TaskOverdue` for every unfinished task whose due date passed, each once per task and due
    date, through the outbox (issue 14 item 6).

    `now` is the sweep's instant (timezone-aware; the clock's when None): operators and tests
    give one. A sweep at a given instant leaves the sweeps' mark where it is: only the clock's
    sweeps move it, so a `--now` a month ahead cannot stop the catch-up after a stop (raises
    `ValueError` for an instant the sweep cannot use, e.g. in year 1). Returns the sweep's
    `ReminderSweepResult` (events recorded, DynamoDB Query calls).
    Logs one JSON INFO line `Reminders recorded` with `due_soon`, `overdue`, `skipped` and `queries` when it
    recorded anything (a quiet minute logs nothing: 1,440 sweeps a day). Raises the adapters'
    `DependencyUnavailable` when DynamoDB cannot be reached; nothing is recorded for a task then,
    so the next sweep finds it again.
    """
    from tasks_app import bootstrap  # on first use: a command or handler that never sweeps does not load it

    result = bootstrap.sweep_reminders(windows=reminder_windows(), now=now, advance_mark=now is None)
    if result.due_soon or result.overdue:
        logger.info(
            "Reminders recorded",
            extra={
                "due_soon": result.due_soon,
                "overdue": result.overdue,
                "skipped": result.skipped,  # lost to another writer: each recorded by it, or next time
                "queries": result.queries,
            },
        )
    return result


def reminder_windows() -> ReminderWindows:
    """Each user's reminder window from their notification settings (issue 14 item 5,
    `reminder_window_minutes`); users without settings get `DEFAULT_REMINDER_WINDOW` (an hour)."""
    from notifications_app import bootstrap as notifications

    return notifications.reminder_windows()
