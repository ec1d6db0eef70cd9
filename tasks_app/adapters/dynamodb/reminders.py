"""The `ReminderIndex` port on DynamoDB: GSI4 (`keys.reminder_bucket`) and the sweep's mark item."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import UpdateError

from tasks_app.adapters.dynamodb import keys
from tasks_app.adapters.dynamodb.models import TableModel, TaskItem, UtcTimestampAttribute, response_code
from tasks_app.adapters.dynamodb.repository import at_version
from tasks_app.adapters.outages import reports_outages
from tasks_app.domain.task import Task

SWEEP_MARK_KEY = "SWEEP#reminders"
QUERY_PAGE_SIZE = 100  # tasks per Query page: short requests (the local AWS serializes them)


class SweepMarkItem(TableModel):
    """How far the reminder sweeps have looked (`SweptUntil`): one small item, `SWEEP#reminders`."""

    item_type = UnicodeAttribute(attr_name="Type", default="SweepMark")
    swept_until = UtcTimestampAttribute(attr_name="SweptUntil", null=True)


@reports_outages("DynamoDB")
class DynamoReminderIndex:
    """Reads GSI4 one hour bucket at a time (Query, never Scan) and keeps the sweep's mark."""

    def due_in_hour(self, hour: datetime, *, until: datetime) -> tuple[list[Task], int]:
        """Query `REMIND#<hour>` for sort keys up to `until`, page by page; returns the tasks and
        the pages read (each one Query request)."""
        results = TaskItem.by_reminder.query(
            keys.reminder_bucket(hour),
            range_key_condition=TaskItem.gsi4sk <= keys.reminder_upper_bound(until),
            page_size=QUERY_PAGE_SIZE,
        )
        tasks: list[Task] = []
        pages = 0
        for page in results.page_iter:  # one Query request each; an empty bucket is one page
            pages += 1
            tasks.extend(TaskItem.from_raw_data(raw).to_domain() for raw in page.get("Items", []))
        return tasks, pages

    def move_reminder(self, task: Task) -> bool:
        """One conditional UpdateItem of `RemindAt` and the GSI4 keys, if the task is still at
        `task.version` and open (the condition reads the stored item, not the stale index)."""
        if task.remind_at is None:
            raise ValueError("move_reminder needs a task with a reminder instant")
        item = TaskItem(pk=TaskItem.key(task.task_id), sk=TaskItem.key(task.task_id))
        try:
            item.update(
                actions=[
                    TaskItem.remind_at.set(task.remind_at),
                    TaskItem.gsi4pk.set(keys.reminder_bucket(task.remind_at)),
                    TaskItem.gsi4sk.set(keys.reminder_position(task.remind_at, task.task_id)),
                ],
                condition=at_version(task.version) & TaskItem.gsi4pk.exists(),
            )
        except UpdateError as error:
            if response_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def swept_until(self) -> datetime | None:
        """One consistent GetItem of the mark."""
        try:
            return SweepMarkItem.get(SWEEP_MARK_KEY, SWEEP_MARK_KEY, consistent_read=True).swept_until
        except SweepMarkItem.DoesNotExist:
            return None

    def mark_swept(self, until: datetime) -> None:
        """One UpdateItem, conditioned on the stored mark being earlier (or absent)."""
        mark = SweepMarkItem(pk=SWEEP_MARK_KEY, sk=SWEEP_MARK_KEY)
        try:
            mark.update(
                actions=[SweepMarkItem.swept_until.set(until), SweepMarkItem.item_type.set("SweepMark")],
                condition=SweepMarkItem.swept_until.does_not_exist() | (SweepMarkItem.swept_until < until),
            )
        except UpdateError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise  # else a concurrent sweep marked later already: keep its mark
