"""The `TaskRepository` port on DynamoDB: tasks and their outbox events, written together."""

from __future__ import annotations

import re
import uuid

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.models import OutboxItem, TaskItem, transaction_failed_on
from tasks_app.application.ports import ConcurrentUpdate, OutboxEntry, Page
from tasks_app.domain.errors import InvalidCursor, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, UserId

_USER_SORT_KEY = re.compile(
    r"TASK#[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z#(?P<task_id>task-[0-9a-f-]+)"
)


class DynamoTaskRepository:
    """Tasks in the single table. A write is one `TransactWriteItems` holding the task and its
    events as outbox items, so no event of a stored change can be lost before it is published."""

    def __init__(self, cursors: CursorCodec, connection: Connection) -> None:
        self._cursors = cursors
        self._connection = connection

    def add(self, task: Task) -> None:
        self._write(task, condition=TaskItem.pk.does_not_exist())

    def get(self, task_id: TaskId) -> Task:
        key = TaskItem.key(task_id)
        try:
            # Consistent, so a client that has just created or completed a task reads it back.
            return TaskItem.get(key, key, consistent_read=True).to_domain()
        except TaskItem.DoesNotExist:
            raise TaskNotFound(str(task_id)) from None

    def list_for_user(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        # One item more than the page tells whether another page exists, in the same request.
        results = TaskItem.by_user.query(
            TaskItem.user_key(user_id),
            range_key_condition=TaskItem.gsi1sk.startswith("TASK#"),  # other item types may share GSI1
            scan_index_forward=False,
            limit=limit + 1,
            page_size=limit + 1,
            last_evaluated_key=self._start_key(user_id, cursor),
        )
        items = [item.to_domain() for item in results]
        if len(items) <= limit:
            return Page(items=items, next_cursor=None)
        last = items[limit - 1]
        position = TaskItem.user_sort_key(last.created_at, last.task_id)
        return Page(items=items[:limit], next_cursor=self._cursors.encode(owner=str(user_id), position=position))

    def update(self, task: Task) -> None:
        if task.stored_version == 0:  # stored before tasks had versions
            self._write(task, condition=TaskItem.version.does_not_exist())
        else:
            self._write(task, condition=TaskItem.version == task.stored_version)

    def _write(self, task: Task, *, condition: Condition) -> None:
        events = task.pull_events()
        # The token makes a retry of a transaction that did commit (a lost response) succeed
        # instead of failing its own condition.
        token = str(uuid.uuid4())
        try:
            with TransactWrite(connection=self._connection, client_request_token=token) as transaction:
                transaction.save(TaskItem.from_domain(task), condition=condition)
                for event in events:
                    transaction.save(OutboxItem.from_entry(OutboxEntry.from_event(event)))
        except TransactWriteError as error:
            # Stale read, or another transaction on the same task at the same moment.
            if transaction_failed_on(error, "ConditionalCheckFailed") or transaction_failed_on(
                error, "TransactionConflict"
            ):
                raise ConcurrentUpdate(str(task.task_id)) from None
            raise

    def _start_key(self, user_id: UserId, cursor: str | None) -> dict[str, dict[str, str]] | None:
        if cursor is None:
            return None
        position = self._cursors.decode(cursor, owner=str(user_id))
        match = _USER_SORT_KEY.fullmatch(position)
        if match is None or not TaskId.is_valid(match["task_id"]):
            raise InvalidCursor()
        key = TaskItem.key(TaskId(match["task_id"]))
        return {
            "PK": {"S": key},
            "SK": {"S": key},
            "GSI1PK": {"S": TaskItem.user_key(user_id)},
            "GSI1SK": {"S": position},
        }
