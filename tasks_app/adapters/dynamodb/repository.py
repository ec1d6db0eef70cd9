"""The `TaskRepository` port on DynamoDB: one request per operation on the success path."""

from __future__ import annotations

import re
from datetime import datetime

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import UpdateError

from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.models import TaskItem
from tasks_app.application.ports import Page
from tasks_app.domain.errors import InvalidCursor, InvalidTransition, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, TaskStatus, UserId

_USER_SORT_KEY = re.compile(
    r"TASK#[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z#(?P<task_id>task-[0-9a-f-]+)"
)


class DynamoTaskRepository:
    """Tasks in the single table: `GetItem`, one `Query` on GSI1 per page, conditional writes."""

    def __init__(self, cursors: CursorCodec) -> None:
        self._cursors = cursors

    def add(self, task: Task) -> None:
        TaskItem.from_domain(task).save(condition=TaskItem.pk.does_not_exist())

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

    def change_status(self, task_id: TaskId, new_status: TaskStatus, *, at: datetime) -> Task:
        key = TaskItem.key(task_id)
        actions = [TaskItem.status.set(new_status.value), TaskItem.updated_at.set(at)]
        if new_status is TaskStatus.COMPLETED:
            actions.append(TaskItem.completed_at.set(at))
        allowed = [status.value for status in new_status.reachable_from()]
        try:
            # Model.update() only returns the new image; the old one carries the status the
            # change came from, which the domain needs for its events.
            response = TaskItem._get_connection().update_item(
                key,
                range_key=key,
                actions=actions,
                condition=TaskItem.status.is_in(*allowed),
                return_values=ALL_OLD,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            current = self.get(task_id)  # raises TaskNotFound when the condition failed on absence
            raise InvalidTransition(str(task_id), current.status.value, new_status.value) from None
        return TaskItem.from_raw_data(response["Attributes"]).to_domain()

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
