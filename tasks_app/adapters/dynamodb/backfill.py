"""Puts tasks stored before GSI2, GSI3 and GSI4 existed into them, so that listings by status and
by due date (SPEC §2) and the due-date reminder sweep (issue 14 item 6) find every task, not
only those changed since.

A task gets its index keys from any change; this gives them to the others without waiting. It
is safe while the API serves: each task is updated only if it still lacks the keys and still
has the version that was read, so a change made meanwhile (which wrote the keys) wins, and
running it twice changes nothing the second time.

Reminders are armed only for open tasks still ahead of their due date: a task whose due date
passed before the upgrade gets no `TaskOverdue` for it (its next change arms it, like any).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from tasks_app.adapters.dynamodb import keys
from tasks_app.adapters.dynamodb.models import TaskItem, response_code
from tasks_app.domain.reminders import next_reminder_at
from tasks_app.domain.values import TaskStatus

SCAN_PAGE_SIZE = 100  # items per Scan request: short requests, so the local AWS's lock is never held long
_OPEN = (TaskStatus.PENDING.value, TaskStatus.IN_PROGRESS.value)


def needing_keys(now: datetime) -> Condition:
    """The live tasks that lack their GSI2/GSI3 keys, or (open, due after `now`, never reminded)
    their GSI4 keys: the Scan filter of the backfill and of its dry run."""
    lacks_listing = TaskItem.gsi3pk.does_not_exist()
    lacks_reminder = (
        TaskItem.due_at.exists()
        & (TaskItem.due_at > now)
        & TaskItem.remind_at.does_not_exist()
        & TaskItem.overdue_sent_for.does_not_exist()
        & TaskItem.status.is_in(*_OPEN)
    )
    live_task: Condition = (TaskItem.item_type == "Task") & TaskItem.deleted_at.does_not_exist()
    wanted: Condition = live_task & (lacks_listing | lacks_reminder)
    return wanted


def backfill_index_keys(*, now: datetime | None = None) -> int:
    """Give every task `needing_keys` its missing keys; returns how many were updated.

    Reads the whole table once (a paginated Scan) and writes one conditional UpdateItem per
    task that needs it. `now` (default: the clock) decides which due dates are still ahead.
    Raises PynamoDB's errors when DynamoDB fails other than on a condition.
    """
    now = now or datetime.now(UTC)
    updated = 0
    for item in TaskItem.scan(filter_condition=needing_keys(now), page_size=SCAN_PAGE_SIZE):
        actions, condition = _missing_keys(item, now)
        if not actions:
            continue
        unchanged = TaskItem.version.does_not_exist() if item.version is None else TaskItem.version == item.version
        try:
            item.update(actions=actions, condition=condition & unchanged)
        except UpdateError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
            continue  # changed meanwhile: that change wrote the keys
        updated += 1
    return updated


def _missing_keys(item: TaskItem, now: datetime) -> tuple[list[Action], Condition]:
    """The updates `item` needs, and the condition that it still lacks what they add."""
    task = item.to_domain()
    actions: list[Action] = []
    conditions: list[Condition] = []
    if item.gsi3pk is None:
        actions += [
            TaskItem.gsi2pk.set(keys.status_partition(task.user_id, task.status)),
            TaskItem.gsi2sk.set(keys.created_position(task.created_at, task.task_id)),
            TaskItem.gsi3pk.set(keys.user_partition(task.user_id)),
            TaskItem.gsi3sk.set(keys.due_position(task.due_at, task.task_id)),
        ]
        conditions.append(TaskItem.gsi3pk.does_not_exist())
    remind_at = next_reminder_at(
        due_at=task.due_at,
        open_and_live=task.is_open,
        due_soon_sent_for=task.due_soon_sent_for,
        overdue_sent_for=task.overdue_sent_for,
        remind_at=None,
        now=now,
    )
    if item.remind_at is None and remind_at is not None and task.due_at is not None and task.due_at > now:
        actions += [
            TaskItem.remind_at.set(remind_at),
            TaskItem.gsi4pk.set(keys.reminder_bucket(remind_at)),
            TaskItem.gsi4sk.set(keys.reminder_position(remind_at, task.task_id)),
        ]
        conditions.append(TaskItem.remind_at.does_not_exist())
    condition = conditions[0] if conditions else TaskItem.pk.exists()
    for more in conditions[1:]:
        condition = condition & more
    return actions, condition
