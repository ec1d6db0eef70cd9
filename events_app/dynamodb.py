"""The read models in the single table, through PynamoDB.

History: `TASK#<task id>` / `EVENT#<sequence>`, beside the task itself. Statistics:
`USER#<user id>` / `STATS` (counts by status) and `STATS#<day>` (created and completed that
day), plus a marker per counted event (`EVENT#<event id>` / `COUNTED`) that expires after a
while, so a redelivered event is recognised and counted once.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from events_app.events import ReceivedEvent
from events_app.ports import STATUSES, UserStats
from tasks_app.adapters.dynamodb.models import TableModel

COUNTED_MARKER_DAYS = 14  # longer than SQS keeps a message (4 days) plus the DLQ's 14 days of replays


class TaskEventItem(TableModel):
    """One event of a task's history."""

    item_type = UnicodeAttribute(attr_name="Type", default="TaskEvent")
    event_id = UnicodeAttribute(attr_name="EventId")
    event_type = UnicodeAttribute(attr_name="EventType")
    message = UnicodeAttribute(attr_name="Message")

    @staticmethod
    def partition(task_id: str) -> str:
        return f"TASK#{task_id}"


class UserStatsItem(TableModel):
    """A user's counters: by status on the `STATS` row, created and completed on a `STATS#<day>` row."""

    item_type = UnicodeAttribute(attr_name="Type", default="UserStats")
    pending = NumberAttribute(attr_name="Pending", default=0)
    in_progress = NumberAttribute(attr_name="InProgress", default=0)
    completed = NumberAttribute(attr_name="Completed", default=0)
    cancelled = NumberAttribute(attr_name="Cancelled", default=0)
    created = NumberAttribute(attr_name="Created", default=0)

    @staticmethod
    def partition(user_id: str) -> str:
        return f"USER#{user_id}"

    @staticmethod
    def day_row(day: date) -> str:
        return f"STATS#{day.isoformat()}"


class CountedEventItem(TableModel):
    """Marks an event as counted in the statistics."""

    item_type = UnicodeAttribute(attr_name="Type", default="CountedEvent")
    expires_at = TTLAttribute(attr_name="ExpiresAt")


READ_MODELS: tuple[type[TableModel], ...] = (TaskEventItem, UserStatsItem, CountedEventItem)
_STATUS_ATTRIBUTES = {
    "pending": UserStatsItem.pending,
    "in_progress": UserStatsItem.in_progress,
    "completed": UserStatsItem.completed,
    "cancelled": UserStatsItem.cancelled,
}


class DynamoHistoryStore:
    """Events kept beside their task, keyed by sequence: a redelivery finds its key taken."""

    def record(self, event: ReceivedEvent) -> bool:
        item = TaskEventItem(
            pk=TaskEventItem.partition(event.aggregate_id),
            sk=f"EVENT#{event.sequence:010d}",
            event_id=event.event_id,
            event_type=event.event_type,
            message=json.dumps(event.message, ensure_ascii=False),
        )
        try:
            item.save(condition=TaskEventItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def for_task(self, task_id: str) -> list[dict[str, Any]]:
        items = TaskEventItem.query(
            TaskEventItem.partition(task_id),
            range_key_condition=TaskEventItem.sk.startswith("EVENT#"),
            consistent_read=True,
        )
        return [json.loads(item.message) for item in items]


class DynamoStatsStore:
    """Counters updated with ADD in one transaction with the event's marker: counted once, or not at all."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def apply(self, event: ReceivedEvent) -> bool:
        user = event.text("user_id")
        marker = CountedEventItem(
            pk=f"EVENT#{event.event_id}",
            sk="COUNTED",
            expires_at=timedelta(days=COUNTED_MARKER_DAYS),
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(marker, condition=CountedEventItem.pk.does_not_exist())
                for row, actions in _counter_updates(event, user):
                    transaction.update(row, [UserStatsItem.item_type.set("UserStats"), *actions])
        except TransactWriteError as error:
            # Only the marker has a condition: failing it means this event was counted before.
            if any(reason and reason.code == "ConditionalCheckFailed" for reason in error.cancellation_reasons):
                return False
            raise
        return True

    def for_user(self, user_id: str, day: date) -> UserStats:
        partition = UserStatsItem.partition(user_id)
        rows = {
            item.sk: item
            for item in UserStatsItem.batch_get([(partition, "STATS"), (partition, UserStatsItem.day_row(day))])
        }
        totals, on_day = rows.get("STATS"), rows.get(UserStatsItem.day_row(day))
        return UserStats(
            user_id=user_id,
            day=day,
            # Events may arrive out of order: a change can be counted before its creation, and
            # a count dip below zero until then.
            counts={status: max(0, int(getattr(totals, status))) if totals else 0 for status in STATUSES},
            created_on_day=int(on_day.created) if on_day else 0,
            completed_on_day=int(on_day.completed) if on_day else 0,
        )


def _counter_updates(event: ReceivedEvent, user: str) -> list[tuple[UserStatsItem, list[Action]]]:
    partition = UserStatsItem.partition(user)
    totals = UserStatsItem(pk=partition, sk="STATS")
    on_day = UserStatsItem(pk=partition, sk=UserStatsItem.day_row(event.day))
    if event.event_type == "TaskCreated":
        created: list[Action] = [UserStatsItem.pending.add(1)]
        return [(totals, created), (on_day, [UserStatsItem.created.add(1)])]
    if event.event_type == "TaskStatusChanged":
        steps = [
            (_STATUS_ATTRIBUTES.get(event.text("old_status")), -1),
            (_STATUS_ATTRIBUTES.get(event.text("new_status")), 1),
        ]
        actions: list[Action] = [attribute.add(step) for attribute, step in steps if attribute is not None]
        return [(totals, actions)] if actions else []
    if event.event_type == "TaskCompleted":
        completed: list[Action] = [UserStatsItem.completed.add(1)]
        return [(on_day, completed)]
    return []
