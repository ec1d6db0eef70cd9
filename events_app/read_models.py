"""The read models in the single table (SPEC §3: other item types share it), through PynamoDB.

Items:
- `TASK#<task id>` / `EVENT#<sequence>`: one event of the task's history, the message as
  received. Its key is also the event's dedupe record, kept as long as the history.
- `TASK#<task id>` / `STATE`: the task's `TaskProjection` (user, status and the sequence that set
  it, trashed flag and the sequence that set it) and a `Revision` for optimistic locking.
- `USER#<user id>` / `STATS`: the user's live tasks by status.
- `USER#<user id>` / `STATS#<day>`: the tasks the user created and completed that UTC day.

Applying an event is ONE `TransactWriteItems`: the history item on the condition that it is new,
the projection (when the event changes it) on the condition that its revision is the one read,
and `ADD`s to the counters by the change of the task's contribution (`events_app.projection`).
A redelivered event fails the first condition and changes nothing; an event racing another
of its task fails the second (or `TransactionConflict`) and is retried on a fresh read.

Cost of one event: `TaskCreated`, `TaskStatusChanged`, `TaskDeleted`, `TaskRestored` read the
projection first (one consistent `GetItem`, 0.5 RCU) then write: 2 requests. `TaskUpdated`,
`TaskCompleted` and the reminders (`TaskDueSoon`, `TaskOverdue`) cannot change a projection, so
they skip the read: 1 request. Each transactional
item is 2 WCU per KB: 4-8 WCU an event. A conflict adds one read and one write per retry.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import date
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from events_app.messages import ReceivedEvent
from events_app.ports import UserStats, no_counts
from events_app.projection import PROJECTED_EVENT_TYPES, TaskProjection, day_steps, status_steps
from tasks_app.adapters.dynamodb.models import TableModel, transaction_failed_on
from tasks_app.adapters.outages import reports_outages
from tasks_app.domain.values import TaskStatus

logger = logging.getLogger(__name__)

# Events of one task applied at once race for its projection, and events of one user's tasks
# for the user's counters: each round of a race has one winner, the others read again and
# retry after a random pause (full jitter), so a queue consumer's few concurrent deliveries
# all land. Past the last attempt the error propagates and the queue delivers the event again.
CONFLICT_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.5


class TaskEventItem(TableModel):
    """One event of a task's history; its key is the dedupe record of the event."""

    item_type = UnicodeAttribute(attr_name="Type", default="TaskEvent")
    event_id = UnicodeAttribute(attr_name="EventId")
    event_type = UnicodeAttribute(attr_name="EventType")
    message = UnicodeAttribute(attr_name="Message")

    @staticmethod
    def partition(task_id: str) -> str:
        return f"TASK#{task_id}"

    @classmethod
    def of(cls, event: ReceivedEvent) -> TaskEventItem:
        return cls(
            pk=cls.partition(event.aggregate_id),
            sk=f"EVENT#{event.sequence:010d}",
            event_id=event.event_id,
            event_type=event.event_type,
            message=json.dumps(event.message, ensure_ascii=False),
        )


class TaskStateItem(TableModel):
    """A task's `TaskProjection`, beside its history; `Revision` counts its writes.

    Attribute names differ from the task item's (`TaskStatus`, not `Status`), so an index
    keyed on a task attribute never picks this item up.
    """

    SORT_KEY = "STATE"

    item_type = UnicodeAttribute(attr_name="Type", default="TaskState")
    user_id = UnicodeAttribute(attr_name="UserId")
    status = UnicodeAttribute(attr_name="TaskStatus", null=True)
    status_sequence = NumberAttribute(attr_name="StatusSequence", default=0)
    trashed = BooleanAttribute(attr_name="Trashed", default=False)
    trash_sequence = NumberAttribute(attr_name="TrashSequence", default=0)
    revision = NumberAttribute(attr_name="Revision", default=0)

    @classmethod
    def of(cls, task_id: str, projection: TaskProjection, *, revision: int) -> TaskStateItem:
        return cls(
            pk=TaskEventItem.partition(task_id),
            sk=cls.SORT_KEY,
            user_id=projection.user_id,
            status=projection.status,
            status_sequence=projection.status_sequence,
            trashed=projection.trashed,
            trash_sequence=projection.trash_sequence,
            revision=revision,
        )

    def to_projection(self) -> TaskProjection:
        return TaskProjection(
            user_id=self.user_id,
            status=self.status,
            status_sequence=int(self.status_sequence),
            trashed=bool(self.trashed),
            trash_sequence=int(self.trash_sequence),
        )


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


READ_MODELS: tuple[type[TableModel], ...] = (TaskEventItem, TaskStateItem, UserStatsItem)
_COUNTERS: dict[str, NumberAttribute] = {
    TaskStatus.PENDING: UserStatsItem.pending,
    TaskStatus.IN_PROGRESS: UserStatsItem.in_progress,
    TaskStatus.COMPLETED: UserStatsItem.completed,
    TaskStatus.CANCELLED: UserStatsItem.cancelled,
    "created": UserStatsItem.created,  # on a day row, where `Completed` is the day's completions
}


@reports_outages("DynamoDB")
class DynamoReadModels:
    """History and statistics updated together, once per event, exact in any order."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def apply(self, event: ReceivedEvent) -> bool:
        """See `ReadModels.apply`. Raises `TransactWriteError` when DynamoDB refuses for another
        reason than a race, or still races after `CONFLICT_ATTEMPTS` (the queue redelivers)."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            before, revision = self._projection(event)
            after = before.after(event)
            try:
                self._write(event, before, after, revision=revision)
            except TransactWriteError as error:
                if _failed_condition(error, 0):
                    # Applied before. (Also when botocore retried this very write after a lost
                    # response, since the local AWS ignores the token: it is applied either way.)
                    return False
                stale = after is not before and _failed_condition(error, 1)
                if not (stale or transaction_failed_on(error, "TransactionConflict")) or attempt == CONFLICT_ATTEMPTS:
                    raise
                _back_off(event, attempt)
                continue
            return True
        return False  # unreachable: the last attempt returns or raises

    def _write(self, event: ReceivedEvent, before: TaskProjection, after: TaskProjection, *, revision: int) -> None:
        """The one transaction of an event. Puts come first in the request, in this order: the
        cancellation reasons' positions 0 and 1 are the history item's and the projection's."""
        # A new token each attempt: botocore reuses it on its own retries of one attempt (a lost
        # response to a committed write), while each attempt writes other values.
        with TransactWrite(connection=self._connection, client_request_token=str(uuid.uuid4())) as transaction:
            transaction.save(TaskEventItem.of(event), condition=TaskEventItem.pk.does_not_exist())
            if after is not before:
                transaction.save(
                    TaskStateItem.of(event.aggregate_id, after, revision=revision + 1),
                    condition=TaskStateItem.revision == revision if revision else TaskStateItem.pk.does_not_exist(),
                )
            for row, actions in _counter_updates(event, before, after):
                transaction.update(row, actions)

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
            counts={status: int(getattr(totals, status)) if totals else 0 for status in no_counts()},
            created_on_day=int(on_day.created) if on_day else 0,
            completed_on_day=int(on_day.completed) if on_day else 0,
        )

    def _projection(self, event: ReceivedEvent) -> tuple[TaskProjection, int]:
        """The task's stored projection and its revision (0: none stored). Events that cannot
        change a projection do not read it: the user is all they need, and they carry it."""
        unknown = TaskProjection(user_id=event.text("user_id"))
        if event.event_type not in PROJECTED_EVENT_TYPES:
            return unknown, 0
        try:
            item = TaskStateItem.get(
                TaskEventItem.partition(event.aggregate_id), TaskStateItem.SORT_KEY, consistent_read=True
            )
        except TaskStateItem.DoesNotExist:
            return unknown, 0
        return item.to_projection(), int(item.revision)


def _counter_updates(
    event: ReceivedEvent, before: TaskProjection, after: TaskProjection
) -> list[tuple[UserStatsItem, list[Action]]]:
    """`ADD`s to the user's rows: by status for the projection's change, on the event's day for
    what happened. `ADD` creates a missing row or attribute from zero."""
    partition = UserStatsItem.partition(after.user_id)
    rows = [
        (UserStatsItem(pk=partition, sk="STATS"), status_steps(before, after)),
        (UserStatsItem(pk=partition, sk=UserStatsItem.day_row(event.day)), day_steps(event)),
    ]
    return [
        (row, [UserStatsItem.item_type.set("UserStats"), *(_COUNTERS[name].add(step) for name, step in steps.items())])
        for row, steps in rows
        if steps
    ]


def _failed_condition(error: TransactWriteError, position: int) -> bool:
    """Whether the transaction item at `position` was cancelled for its condition."""
    reasons = error.cancellation_reasons
    reason = reasons[position] if position < len(reasons) else None
    return reason is not None and reason.code == "ConditionalCheckFailed"


def _back_off(event: ReceivedEvent, attempt: int) -> None:
    """Wait a random time up to an exponential bound ("full jitter"), so racers spread out."""
    logger.info(
        "Event %s raced another write; retrying",
        event.event_type,
        extra={"event_id": event.event_id, "task_id": event.aggregate_id, "attempt": attempt},
    )
    time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))  # noqa: S311 - jitter
