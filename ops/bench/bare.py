"""Bare PynamoDB making the DynamoDB requests the API makes (`tasks_app.adapters.dynamodb`): the
same items, conditions, tokens and pages, without Django, DRF, the services or the repository.
Imported once Django is set up (by `operations.prepare`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.constants import ALL_OLD
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from tasks_app.adapters.dynamodb.idempotency import IdempotencyItem
from tasks_app.adapters.dynamodb.models import OutboxItem, TaskItem
from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import UserId

KEY_LIFETIME = timedelta(hours=24)


class BarePynamoDB:
    """Each method is one operation's DynamoDB requests; `tidy` deletes the events they stored."""

    def __init__(self, connection: Connection, *, page_size: int) -> None:
        self._connection = connection
        self._page_size = page_size
        self._keys = (f"bare-{number}" for number in itertools.count())
        self._stored_events: list[OutboxItem] = []

    def create(self, user: str) -> None:
        """`task_create` without a key: one transaction, conditioned on the id being new."""
        self._write(Task.create(user_id=UserId(user), title="t", now=datetime.now(UTC)), TaskItem.pk.does_not_exist())

    def create_once(self, user: str) -> None:
        """`run_once` around `task_create`: a consistent read of the key (scoped to the caller, as
        with tokens), then its record written with the task (the record holds the rendered 201)."""
        key = next(self._keys)
        item_key = IdempotencyItem.key(user, key)
        if not _absent(item_key):
            raise RuntimeError(f"Idempotency key {key} in use")
        now = datetime.now(UTC)
        task = Task.create(user_id=UserId(user), title="t", now=now)
        record = IdempotencyItem(
            pk=item_key,
            sk=item_key,
            scope=user,
            idempotency_key=key,
            fingerprint=hashlib.sha256(json.dumps(["POST", "/tasks", key]).encode()).hexdigest(),
            status=201,
            body=_envelope(task),
            headers=json.dumps({"ETag": '"1"', "Location": f"http://127.0.0.1:8000/tasks/{task.task_id}"}),
            expires_at=now + KEY_LIFETIME,
        )
        self._write(task, TaskItem.pk.does_not_exist(), record)

    def change(self, task_ids: Iterable[str], apply: Callable[[Task, datetime], object]) -> Callable[[], None]:
        """`_change` in the services, one task of `task_ids` per call: a consistent read, the
        change, a write conditioned on the version read."""
        targets = iter(task_ids)

        def change() -> None:
            key = TaskItem.key(next(targets))
            task = TaskItem.get(key, key, consistent_read=True).to_domain()
            apply(task, datetime.now(UTC))
            self._write(task, TaskItem.version == task.stored_version)

        return change

    def page(
        self,
        index: GlobalSecondaryIndex[TaskItem],
        partition: str,
        sort_condition: Condition,
        *,
        forward: bool = False,
        filter_condition: Callable[[], Condition] | None = None,
        requests: int = 1,
    ) -> Callable[[], list[TaskItem]]:
        """`listing.read_page`: Queries of a page + 1 items until more than a page is found, at
        most `requests`. The filter is built per call, as the API builds it (the trash's holds the time)."""
        size = self._page_size

        def page() -> list[TaskItem]:
            results = index.query(
                partition,
                range_key_condition=sort_condition,
                filter_condition=filter_condition() if filter_condition else None,
                scan_index_forward=forward,
                page_size=size + 1,
                last_evaluated_key=None,
            )
            found: list[TaskItem] = []
            for _, raw in zip(range(requests), results.page_iter, strict=False):
                found.extend(TaskItem.from_raw_data(item) for item in raw.get("Items", []))
                if len(found) > size:
                    break
            return found[:size]

        return page

    def tidy(self) -> None:
        """Delete the events the calls stored: the API's are relayed, so deleted, and left in the
        outbox these would slow the relay and every query on moto, which reads the whole table."""
        with OutboxItem.batch_write() as batch:
            for event in self._stored_events:
                batch.delete(event)
        self._stored_events.clear()

    def _write(self, task: Task, condition: Condition, record: IdempotencyItem | None = None) -> None:
        """`DynamoTaskRepository._write`: the task (its write id also the transaction's token),
        the idempotency record, the events as outbox items, in one transaction."""
        events = [OutboxItem.from_entry(OutboxEntry.from_event(event)) for event in task.pull_events()]
        write_id = str(uuid.uuid4())
        with TransactWrite(connection=self._connection, client_request_token=write_id) as transaction:
            transaction.save(TaskItem.from_domain(task, write_id=write_id), condition=condition, return_values=ALL_OLD)
            if record is not None:
                transaction.save(record, condition=IdempotencyItem.claimable(datetime.now(UTC)))
            for event in events:
                transaction.save(event)
        self._stored_events.extend(events)


def _absent(key: str) -> bool:
    try:
        IdempotencyItem.get(key, key, consistent_read=True)
    except IdempotencyItem.DoesNotExist:
        return True
    return False


def _envelope(task: Task) -> str:
    """The 201 body as the API renders it (compact JSON), to store in the idempotency record."""

    def wire(moment: datetime | None) -> str | None:
        return None if moment is None else isoformat_utc(moment)

    data = {
        "task_id": str(task.task_id),
        "user_id": str(task.user_id),
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "priority": task.priority.value,
        "due_at": wire(task.due_at),
        "tags": list(task.tags),
        "version": task.version,
        "created_at": wire(task.created_at),
        "updated_at": wire(task.updated_at),
        "completed_at": wire(task.completed_at),
    }
    return json.dumps({"success": True, "data": data}, separators=(",", ":"), ensure_ascii=False)
