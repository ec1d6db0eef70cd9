"""PynamoDB models of the single table's items (SPEC §3); they never leave the adapters."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import Attribute, NumberAttribute, UnicodeAttribute
from pynamodb.constants import STRING
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.errors import DomainError
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import TaskId, TaskStatus, UserId

OUTBOX_SHARDS = 8  # outbox partitions, so a busy API does not write all its events to one key


class CorruptItem(Exception):
    """A stored item breaks the domain's rules: a bug or a bad import, never the client's doing."""


class UtcTimestampAttribute(Attribute[datetime]):
    """A timezone-aware datetime stored as fixed-width ISO 8601 text, which sorts by time."""

    attr_type = STRING

    def serialize(self, value: datetime) -> str:
        return isoformat_utc(value)

    def deserialize(self, value: str) -> datetime:
        return datetime.fromisoformat(value)


class TableModel(Model):
    """A model of an item in the single table; `bind_table` says which table and where."""

    class Meta:
        table_name = "unbound"  # replaced by `bind_table` before first use
        connect_timeout_seconds = 2
        read_timeout_seconds = 10
        max_retry_attempts = 3

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")


class TasksByUserIndex(GlobalSecondaryIndex["TaskItem"]):  # type: ignore[no-untyped-call]
    """GSI1: a user's tasks, ordered by creation time."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class TaskItem(TableModel):
    """A task as stored; `from_domain` and `to_domain` are the only ways in and out."""

    gsi1pk = UnicodeAttribute(attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK")
    item_type = UnicodeAttribute(attr_name="Type", default="Task")
    task_id = UnicodeAttribute(attr_name="TaskId")
    user_id = UnicodeAttribute(attr_name="UserId")
    title = UnicodeAttribute(attr_name="Title")
    description = UnicodeAttribute(attr_name="Description")
    status = UnicodeAttribute(attr_name="Status")
    created_at = UtcTimestampAttribute(attr_name="CreatedAt")
    updated_at = UtcTimestampAttribute(attr_name="UpdatedAt", null=True)
    completed_at = UtcTimestampAttribute(attr_name="CompletedAt", null=True)
    version = NumberAttribute(attr_name="Version", null=True)  # absent on tasks stored before versions

    by_user = TasksByUserIndex()

    @staticmethod
    def key(task_id: TaskId | str) -> str:
        return f"TASK#{task_id}"

    @staticmethod
    def user_key(user_id: UserId) -> str:
        return f"USER#{user_id}"

    @staticmethod
    def user_sort_key(created_at: datetime, task_id: TaskId) -> str:
        return f"TASK#{isoformat_utc(created_at)}#{task_id}"

    @classmethod
    def from_domain(cls, task: Task) -> TaskItem:
        key = cls.key(task.task_id)
        return cls(
            pk=key,
            sk=key,
            gsi1pk=cls.user_key(task.user_id),
            gsi1sk=cls.user_sort_key(task.created_at, task.task_id),
            task_id=str(task.task_id),
            user_id=str(task.user_id),
            title=task.title,
            description=task.description,
            status=task.status.value,
            created_at=task.created_at,
            updated_at=task.updated_at,
            completed_at=task.completed_at,
            version=task.version,
        )

    def to_domain(self) -> Task:
        try:
            return Task(
                task_id=TaskId(self.task_id),
                user_id=UserId(self.user_id),
                title=self.title,
                description=self.description,
                status=TaskStatus(self.status),
                created_at=self.created_at,
                updated_at=self.updated_at,
                completed_at=self.completed_at,
                version=int(self.version or 0),
            )
        except (DomainError, ValueError, TypeError) as error:
            raise CorruptItem(f"The stored item {self.pk} is not a valid task: {error}") from error


class OutboxItem(TableModel):
    """An event stored with its task's write and not yet published.

    Keyed `OUTBOX#<shard>` / `<task id>#<sequence>`: one shard holds all of a task's events,
    sorted in the order they happened.
    """

    item_type = UnicodeAttribute(attr_name="Type", default="OutboxEvent")
    event_id = UnicodeAttribute(attr_name="EventId")
    event_type = UnicodeAttribute(attr_name="EventType")
    aggregate_id = UnicodeAttribute(attr_name="AggregateId")
    sequence = NumberAttribute(attr_name="Sequence")
    message = UnicodeAttribute(attr_name="Message")
    created_at = UtcTimestampAttribute(attr_name="CreatedAt", null=True)

    @staticmethod
    def shard_key(task_id: TaskId | str) -> str:
        return f"OUTBOX#{zlib.crc32(str(task_id).encode()) % OUTBOX_SHARDS}"

    @staticmethod
    def all_shard_keys() -> list[str]:
        return [f"OUTBOX#{shard}" for shard in range(OUTBOX_SHARDS)]

    @staticmethod
    def task_prefix(task_id: TaskId | str) -> str:
        return f"{task_id}#"

    @classmethod
    def from_entry(cls, entry: OutboxEntry) -> OutboxItem:
        return cls(
            pk=cls.shard_key(entry.task_id),
            sk=f"{cls.task_prefix(entry.task_id)}{entry.sequence:010d}",
            event_id=entry.event_id,
            event_type=entry.event_type,
            aggregate_id=entry.task_id,
            sequence=entry.sequence,
            message=entry.message,
            created_at=entry.stored_at,
        )

    def to_entry(self) -> OutboxEntry:
        return OutboxEntry(
            task_id=self.aggregate_id,
            sequence=int(self.sequence),
            event_id=self.event_id,
            event_type=self.event_type,
            message=self.message,
            stored_at=self.created_at,
        )


def transaction_failed_on(error: TransactWriteError, code: str) -> bool:
    """Whether DynamoDB cancelled the transaction for `code` on any of its items."""
    return any(reason is not None and reason.code == code for reason in error.cancellation_reasons)


def bind_table(
    models: Iterable[type[TableModel]], *, table_name: str, host: str | None, region: str, **meta: Any
) -> None:
    """Point the models at a table and endpoint. PynamoDB keeps both on each model class."""
    wanted = {"table_name": table_name, "host": host, "region": region, **meta}
    for model in models:
        if all(getattr(model.Meta, name, None) == value for name, value in wanted.items()):
            continue
        # Each model gets its own Meta: assigning onto an inherited one would rebind its siblings.
        model.Meta = type("Meta", (TableModel.Meta,), wanted)  # type: ignore[misc,assignment]
        # PynamoDB reuses its cached connection while the table name is unchanged, even when the
        # endpoint is not; dropping it makes the next call connect where the settings now point.
        model._connection = None
