"""How the DynamoDB repository lays tasks and records out in the table (SPEC §3), reads what
older code stored, and survives botocore retrying a write that had committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.backfill import backfill_index_keys
from tasks_app.application.idempotency import IdempotencyRecord, RecordedResponse
from tasks_app.application.ports import TaskFilters, TaskSort
from tasks_app.domain.task import Task
from tasks_app.domain.values import Priority, TaskStatus, UserId

NOW = datetime.now(UTC).replace(microsecond=0)
ALICE = UserId("alice")


def raw_item(aws, pk: str) -> dict[str, Any]:
    client = aws.target.client("dynamodb")
    item = client.get_item(
        TableName=aws.resources.table_name, Key={"PK": {"S": pk}, "SK": {"S": pk}}, ConsistentRead=True
    )
    return dict(item["Item"])


def a_task(**fields: Any) -> Task:
    task = Task.create(user_id=ALICE, title="t", now=NOW, **fields)
    task.pull_events()
    return task


def test_a_live_task_is_in_the_listing_indexes_and_the_reminder_index_with_every_field(aws):
    task = a_task(priority=Priority.HIGH, due_at=NOW + timedelta(days=2), tags=["b", "a"])
    bootstrap.task_repository().add(task)
    item = raw_item(aws, f"TASK#{task.task_id}")
    created = f"TASK#{NOW.isoformat(timespec='microseconds').replace('+00:00', 'Z')}#{task.task_id}"
    due = (NOW + timedelta(days=2)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    first_look = NOW + timedelta(days=1)  # 24 hours (the longest reminder window) before it is due
    remind = first_look.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert {name: value for name, value in item.items() if name.startswith("GSI")} == {
        "GSI1PK": {"S": "USER#alice"},
        "GSI1SK": {"S": created},
        "GSI2PK": {"S": "USER#alice#STATUS#pending"},
        "GSI2SK": {"S": created},
        "GSI3PK": {"S": "USER#alice"},
        "GSI3SK": {"S": f"DUE#{due}#{task.task_id}"},
        "GSI4PK": {"S": f"REMIND#{remind[:13]}"},
        "GSI4SK": {"S": f"{remind}#{task.task_id}"},
    }
    assert item["Tags"] == {"L": [{"S": "b"}, {"S": "a"}]}  # a list: the order given survives
    assert (item["Type"], item["Priority"], item["DueAt"], item["Version"]) == (
        {"S": "Task"},
        {"S": "high"},
        {"S": due},
        {"N": "1"},
    )
    assert not {"UpdatedAt", "CompletedAt", "DeletedAt", "ExpiresAt"} & set(item)


def test_an_undated_untagged_task_stores_no_tags_and_sorts_last_by_due_date(aws):
    task = a_task()
    bootstrap.task_repository().add(task)
    item = raw_item(aws, f"TASK#{task.task_id}")
    assert "Tags" not in item
    assert "DueAt" not in item
    assert item["GSI3SK"] == {"S": f"DUE#~#{task.task_id}"}
    assert not {"GSI4PK", "GSI4SK", "RemindAt"} & set(item)  # nothing to remind of


def test_trash_moves_the_task_to_the_trash_key_with_an_expiry_and_restore_puts_it_back(aws):
    repository = bootstrap.task_repository()
    task = a_task(due_at=NOW, tags=["x"])
    repository.add(task)
    live = raw_item(aws, f"TASK#{task.task_id}")
    read = repository.get(task.task_id)
    read.delete(NOW)
    repository.update(read)
    trashed = raw_item(aws, f"TASK#{task.task_id}")
    assert trashed["GSI1SK"]["S"].startswith("TRASH#")
    assert not {"GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK"} & set(trashed)
    assert trashed["ExpiresAt"] == {"N": str(int((NOW + timedelta(days=30)).timestamp()))}

    restored = repository.get_trashed(task.task_id)
    restored.restore(NOW)
    repository.update(restored)
    back = raw_item(aws, f"TASK#{task.task_id}")
    assert back["Version"] == {"N": "3"}
    ignored = {"Version", "WriteId"}
    assert {k: v for k, v in back.items() if k not in ignored} == {k: v for k, v in live.items() if k not in ignored}


def put_as_older_code_did(aws, task_id: str, created: str = "2025-01-02T03:04:05.000006Z", **more: Any) -> None:
    """A task as the first release stored it: no priority, due date, tags, version or GSI2/GSI3 keys."""
    aws.target.client("dynamodb").put_item(
        TableName=aws.resources.table_name,
        Item={
            "PK": {"S": f"TASK#{task_id}"},
            "SK": {"S": f"TASK#{task_id}"},
            "GSI1PK": {"S": "USER#alice"},
            "GSI1SK": {"S": f"TASK#{created}#{task_id}"},
            "Type": {"S": "Task"},
            "TaskId": {"S": task_id},
            "UserId": {"S": "alice"},
            "Title": {"S": "old"},
            "Description": {"S": ""},
            "Status": {"S": "pending"},
            "CreatedAt": {"S": created},
            **more,
        },
    )


def test_a_task_stored_by_older_code_reads_with_defaults_and_joins_the_new_indexes_on_its_next_change(aws):
    put_as_older_code_did(aws, "task-0b0f6a52-3c39-4d52-9a0e-2b6f3c3e1f10")
    repository = bootstrap.task_repository()
    [task] = repository.list_for_user(ALICE, limit=10, cursor=None).items
    assert (task.priority, task.due_at, task.tags, task.version) == (Priority.NORMAL, None, (), 0)
    assert repository.list_for_user(ALICE, limit=10, cursor=None, filters=TaskFilters(priority=Priority.NORMAL)).items
    task.start(NOW)
    repository.update(task)
    in_progress = TaskFilters(statuses=(TaskStatus.IN_PROGRESS,))
    assert repository.list_for_user(ALICE, limit=10, cursor=None, filters=in_progress).items == [task]
    assert repository.list_for_user(ALICE, limit=10, cursor=None, sort=TaskSort.DUE_SOONEST).items == [task]


def test_an_idempotency_record_has_its_own_key_and_expires_by_ttl(aws):
    record = IdempotencyRecord(
        scope="alice",
        key="k" * 255,
        fingerprint="f",
        response=RecordedResponse(status=201, body="{}", headers={}),
        expires_at=NOW + timedelta(hours=24),
    )
    repository = bootstrap.task_repository()
    repository.add(a_task(), idempotency=record)
    items = aws.target.client("dynamodb").scan(TableName=aws.resources.table_name)["Items"]
    [stored] = [item for item in items if item["PK"]["S"].startswith("IDEMPOTENCY#")]
    assert stored["PK"] == stored["SK"]
    assert len(stored["PK"]["S"]) == len("IDEMPOTENCY#") + 64  # a digest, whatever the key's length
    assert stored["ExpiresAt"] == {"N": str(int(record.expires_at.timestamp()))}
    assert repository.find_response("alice", "k" * 255, now=NOW) == record


class RetryOnceAfterSuccess:
    """A botocore `needs-retry` handler that has a successful TransactWriteItems sent again, as
    botocore does when the response to a write that committed is lost to a timeout."""

    def __init__(self) -> None:
        self.retried = 0

    def __call__(self, response: Any, attempts: int, **_: Any) -> Any:  # seconds to wait, or None: no retry
        if not self.retried and response is not None and response[0].status_code == 200:
            self.retried += 1
            return 0.0
        return None


@pytest.fixture
def retried_writes(aws):
    client = bootstrap.table_connection().client
    handler = RetryOnceAfterSuccess()
    client.meta.events.register_first("needs-retry.dynamodb.TransactWriteItems", handler)
    yield handler
    client.meta.events.unregister("needs-retry.dynamodb.TransactWriteItems", handler)


def test_a_create_whose_transaction_botocore_retries_after_it_committed_succeeds_once(aws, retried_writes):
    repository = bootstrap.task_repository()
    task = Task.create(user_id=ALICE, title="t", now=NOW)
    with aws.server.recording() as calls:
        repository.add(task)  # the local AWS ignores ClientRequestToken: the retry fails its condition
    assert retried_writes.retried == 1
    assert [c.operation for c in calls if c.service == "dynamodb"] == ["TransactWriteItems"] * 2
    assert repository.get(task.task_id) == task
    assert [e.event_type for e in bootstrap.outbox().pending(limit=10)] == ["TaskCreated"]


def test_an_update_whose_transaction_botocore_retries_after_it_committed_succeeds_once(aws, retried_writes):
    repository = bootstrap.task_repository()
    task = a_task()
    repository.add(task)  # the handler retries this one
    read = repository.get(task.task_id)
    read.complete(NOW)
    retried_writes.retried = 0
    repository.update(read)
    assert retried_writes.retried == 1
    assert repository.get(task.task_id) == read
    assert [e.event_type for e in bootstrap.outbox().pending(limit=10)] == ["TaskStatusChanged", "TaskCompleted"]


def test_the_backfill_puts_older_tasks_into_the_status_and_due_indexes_once(aws):
    put_as_older_code_did(aws, "task-0b0f6a52-3c39-4d52-9a0e-2b6f3c3e1f10")
    put_as_older_code_did(
        aws,
        "task-1c1f6a52-3c39-4d52-9a0e-2b6f3c3e1f11",
        "2025-01-03T03:04:05.000006Z",
        Status={"S": "completed"},
        Version={"N": "3"},
    )
    repository = bootstrap.task_repository()
    repository.add(a_task())
    pending = TaskFilters(statuses=(TaskStatus.PENDING,))
    assert len(repository.list_for_user(ALICE, limit=10, cursor=None, filters=pending).items) == 1

    assert backfill_index_keys() == 2
    assert len(repository.list_for_user(ALICE, limit=10, cursor=None, filters=pending).items) == 2
    completed = TaskFilters(statuses=(TaskStatus.COMPLETED,))
    assert [t.version for t in repository.list_for_user(ALICE, limit=10, cursor=None, filters=completed).items] == [3]
    assert len(repository.list_for_user(ALICE, limit=10, cursor=None, sort=TaskSort.DUE_SOONEST).items) == 3
    assert backfill_index_keys() == 0
