"""Puts tasks stored before GSI2 and GSI3 existed into them, so that listings by status and by
due date (SPEC §2) find every task, not only those changed since.

A task gets its index keys from any change; this gives them to the others without waiting. It
is safe while the API serves: each task is updated only if it still lacks the keys and still
has the version that was read, so a change made meanwhile (which wrote the keys) wins, and
running it twice changes nothing the second time.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from tasks_app.adapters.dynamodb import keys
from tasks_app.adapters.dynamodb.models import TaskItem, response_code

SCAN_PAGE_SIZE = 100  # items per Scan request: short requests, so the local AWS's lock is never held long


def backfill_index_keys() -> int:
    """Give every live task without GSI2/GSI3 keys its keys; returns how many were updated.

    Reads the whole table once (a paginated Scan) and writes one conditional UpdateItem per
    task that needs it. Raises PynamoDB's errors when DynamoDB fails other than on a condition.
    """
    needing = (TaskItem.item_type == "Task") & TaskItem.gsi3pk.does_not_exist() & TaskItem.deleted_at.does_not_exist()
    updated = 0
    for item in TaskItem.scan(filter_condition=needing, page_size=SCAN_PAGE_SIZE):
        task = item.to_domain()
        unchanged = TaskItem.version.does_not_exist() if item.version is None else TaskItem.version == item.version
        try:
            item.update(
                actions=[
                    TaskItem.gsi2pk.set(keys.status_partition(task.user_id, task.status)),
                    TaskItem.gsi2sk.set(keys.created_position(task.created_at, task.task_id)),
                    TaskItem.gsi3pk.set(keys.user_partition(task.user_id)),
                    TaskItem.gsi3sk.set(keys.due_position(task.due_at, task.task_id)),
                ],
                condition=TaskItem.gsi3pk.does_not_exist() & unchanged,
            )
        except UpdateError as error:
            if response_code(error) != "ConditionalCheckFailedException":
                raise
            continue  # changed meanwhile: that change wrote the keys
        updated += 1
    return updated
