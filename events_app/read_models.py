"""The read models in the single table, through PynamoDB.

History: `TASK#<task id>` / `EVENT#<sequence>`, beside the task itself. Statistics:
`USER#<user id>` / `STATS` (counts by status) and `STATS#<day>` (created and completed that
day). An event's history item and its counter updates are written in one transaction, on
the condition that the history item is new: that makes a redelivered event change nothing,
for as long as the history is kept.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import date
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from events_app.messages import ReceivedEvent
from events_app.ports import UserStats, no_counts
from tasks_app.adapters.dynamodb.models import TableModel, transaction_failed_on
from tasks_app.domain.events import TaskCompleted, TaskCreated, TaskStatusChanged
from tasks_app.domain.values import TaskStatus

logger = logging.getLogger(__name__)

CONFLICT_ATTEMPTS = 6  # concurrent transactions on one user's counters make DynamoDB cancel all but one


class TaskEventItem(TableModel):
    """One event of a task's history; its key is the dedupe record of the event."""

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


READ_MODELS: tuple[type[TableModel], ...] = (TaskEventItem, UserStatsItem)
_STATUS_ATTRIBUTES: dict[str, NumberAttribute] = {
    TaskStatus.PENDING: UserStatsItem.pending,
    TaskStatus.IN_PROGRESS: UserStatsItem.in_progress,
    TaskStatus.COMPLETED: UserStatsItem.completed,
    TaskStatus.CANCELLED: UserStatsItem.cancelled,
}


class DynamoReadModels:
    """History and statistics updated together, once per event."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def apply(self, event: ReceivedEvent) -> bool:
        history_item = TaskEventItem(
            pk=TaskEventItem.partition(event.aggregate_id),
            sk=f"EVENT#{event.sequence:010d}",
            event_id=event.event_id,
            event_type=event.event_type,
            message=json.dumps(event.message, ensure_ascii=False),
        )
        token = str(uuid.uuid4())  # a retried request that had in fact committed is not applied twice
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                with TransactWrite(connection=self._connection, client_request_token=token) as transaction:
                    transaction.save(history_item, condition=TaskEventItem.pk.does_not_exist())
                    for row, actions in _counter_updates(event):
                        transaction.update(row, [UserStatsItem.item_type.set("UserStats"), *actions])
            except TransactWriteError as error:
                if transaction_failed_on(error, "ConditionalCheckFailed"):
                    return False
                if not transaction_failed_on(error, "TransactionConflict") or attempt == CONFLICT_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.02, 0.05) * 2**attempt)  # noqa: S311 - jitter, not secrecy
                continue
            return True
        return False  # unreachable: the last attempt returns or raises

    def history(self, task_id: str) -> list[dict[str, Any]]:
        items = TaskEventItem.query(
            TaskEventItem.partition(task_id),
            range_key_condition=TaskEventItem.sk.startswith("EVENT#"),
            consistent_read=True,
        )
        return [json.loads(item.message) for item in items]

    def stats(self, user_id: str, day: date) -> UserStats:
        partition = UserStatsItem.partition(user_id)
        keys = [(partition, "STATS"), (partition, UserStatsItem.day_row(day))]
        rows = {item.sk: item for item in UserStatsItem.batch_get(keys)}
        totals, on_day = rows.get("STATS"), rows.get(UserStatsItem.day_row(day))
        return UserStats(
            user_id=user_id,
            day=day,
            # Events may arrive out of order: a change can be counted before its creation, and
            # a count dip below zero until then.
            counts={status: max(0, int(getattr(totals, status))) if totals else 0 for status in no_counts()},
            created_on_day=int(on_day.created) if on_day else 0,
            completed_on_day=int(on_day.completed) if on_day else 0,
        )


def _counter_updates(event: ReceivedEvent) -> list[tuple[UserStatsItem, list[Action]]]:
    partition = UserStatsItem.partition(event.text("user_id"))
    totals = UserStatsItem(pk=partition, sk="STATS")
    on_day = UserStatsItem(pk=partition, sk=UserStatsItem.day_row(event.day))
    if event.event_type == TaskCreated.__name__:
        created: list[Action] = [UserStatsItem.pending.add(1)]
        return [(totals, created), (on_day, [UserStatsItem.created.add(1)])]
    if event.event_type == TaskStatusChanged.__name__:
        steps = [
            (_STATUS_ATTRIBUTES.get(event.text("old_status")), -1),
            (_STATUS_ATTRIBUTES.get(event.text("new_status")), 1),
        ]
        actions: list[Action] = [attribute.add(step) for attribute, step in steps if attribute is not None]
        return [(totals, actions)] if actions else []
    if event.event_type == TaskCompleted.__name__:
        completed: list[Action] = [UserStatsItem.completed.add(1)]
        return [(on_day, completed)]
    return []
