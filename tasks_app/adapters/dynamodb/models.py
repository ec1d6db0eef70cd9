"""PynamoDB models of the single table's task and outbox items (SPEC §3); they never leave the adapters."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import Attribute, ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.constants import STRING
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model

from tasks_app.adapters.aws import MAX_POOL_CONNECTIONS, RETRY_BUDGET
from tasks_app.adapters.dynamodb import keys
from tasks_app.adapters.dynamodb.indexes import (
    TasksByDueDateIndex,
    TasksByReminderIndex,
    TasksByStatusIndex,
    TasksByUserIndex,
)
from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.errors import DomainError
from tasks_app.domain.task import TRASH_RETENTION, Task, isoformat_utc
from tasks_app.domain.values import Priority, TaskId, TaskStatus, UserId

OUTBOX_SHARDS = 8  # outbox partitions, so a busy API does not write all its events to one key
EXPIRY_ATTRIBUTE = "ExpiresAt"  # the table's TTL attribute: DynamoDB deletes an item once it has passed


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
        connect_timeout_seconds = RETRY_BUDGET.connect_timeout
        read_timeout_seconds = RETRY_BUDGET.read_timeout
        max_retry_attempts = RETRY_BUDGET.attempts - 1  # PynamoDB counts retries, not attempts
        max_pool_connections = MAX_POOL_CONNECTIONS  # PynamoDB's default is botocore's 10: see the constant

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")


class TaskItem(TableModel):
    """A task as stored; `from_domain` and `to_domain` are the only ways in and out.

    Index keys follow `keys`: a live task is in GSI1 (`TASK#`), GSI2 and GSI3 (and GSI4 while
    a reminder is pending: `RemindAt`); a trashed one only in GSI1 (`TRASH#`), with
    `ExpiresAt` so that DynamoDB purges it after `TRASH_RETENTION` (SPEC §1). `WriteId` names
    the transaction that wrote the item last, so that a writer can tell its own retried write
    from another's (see the repository).
    Attributes added after the first release (`Priority`, `DueAt`, `Tags`, `DeletedAt`,
    `Version`, the reminder state) may be absent from older items and read as their defaults.
    """

    gsi1pk = UnicodeAttribute(attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK")
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK", null=True)
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK", null=True)
    gsi3pk = UnicodeAttribute(attr_name="GSI3PK", null=True)
    gsi3sk = UnicodeAttribute(attr_name="GSI3SK", null=True)
    gsi4pk = UnicodeAttribute(attr_name="GSI4PK", null=True)
    gsi4sk = UnicodeAttribute(attr_name="GSI4SK", null=True)
    item_type = UnicodeAttribute(attr_name="Type", default="Task")
    task_id = UnicodeAttribute(attr_name="TaskId")
    user_id = UnicodeAttribute(attr_name="UserId")
    title = UnicodeAttribute(attr_name="Title")
    description = UnicodeAttribute(attr_name="Description")
    status = UnicodeAttribute(attr_name="Status")
    priority = UnicodeAttribute(attr_name="Priority", null=True)
    due_at = UtcTimestampAttribute(attr_name="DueAt", null=True)
    # A list keeps the order the tags were given in (a string set would not); absent when empty.
    tags = ListAttribute(of=UnicodeAttribute, attr_name="Tags", null=True)
    created_at = UtcTimestampAttribute(attr_name="CreatedAt")
    updated_at = UtcTimestampAttribute(attr_name="UpdatedAt", null=True)
    completed_at = UtcTimestampAttribute(attr_name="CompletedAt", null=True)
    deleted_at = UtcTimestampAttribute(attr_name="DeletedAt", null=True)
    expires_at = TTLAttribute(attr_name=EXPIRY_ATTRIBUTE, null=True)
    version = NumberAttribute(attr_name="Version", null=True)  # absent on tasks stored before versions
    write_id = UnicodeAttribute(attr_name="WriteId", null=True)
    # Reminder state (issue 14 item 6): the due dates the reminders were recorded for, and when
    # a sweep should next look (the GSI4 keys are derived from it).
    due_soon_sent_for = UtcTimestampAttribute(attr_name="DueSoonSentFor", null=True)
    overdue_sent_for = UtcTimestampAttribute(attr_name="OverdueSentFor", null=True)
    remind_at = UtcTimestampAttribute(attr_name="RemindAt", null=True)

    by_user = TasksByUserIndex()
    by_status = TasksByStatusIndex()
    by_due_date = TasksByDueDateIndex()
    by_reminder = TasksByReminderIndex()

    @staticmethod
    def key(task_id: TaskId | str) -> str:
        return keys.task_key(task_id)

    @classmethod
    def from_domain(cls, task: Task, *, write_id: str | None = None) -> TaskItem:
        """The item of `task`, live or trashed, with the index keys and expiry that state needs."""
        key = cls.key(task.task_id)
        item = cls(
            pk=key,
            sk=key,
            gsi1pk=keys.user_partition(task.user_id),
            gsi1sk=keys.created_position(task.created_at, task.task_id),
            task_id=str(task.task_id),
            user_id=str(task.user_id),
            title=task.title,
            description=task.description,
            status=task.status.value,
            priority=task.priority.value,
            due_at=task.due_at,
            tags=list(task.tags) or None,
            created_at=task.created_at,
            updated_at=task.updated_at,
            completed_at=task.completed_at,
            deleted_at=task.deleted_at,
            version=task.version,
            write_id=write_id,
            due_soon_sent_for=task.due_soon_sent_for,
            overdue_sent_for=task.overdue_sent_for,
            remind_at=task.remind_at,
        )
        if task.deleted_at is not None:
            item.gsi1sk = keys.trash_position(task.deleted_at, task.task_id)
            item.expires_at = task.deleted_at + TRASH_RETENTION
        else:
            item.gsi2pk = keys.status_partition(task.user_id, task.status)
            item.gsi2sk = item.gsi1sk
            item.gsi3pk = keys.user_partition(task.user_id)
            item.gsi3sk = keys.due_position(task.due_at, task.task_id)
            if task.remind_at is not None:
                item.gsi4pk = keys.reminder_bucket(task.remind_at)
                item.gsi4sk = keys.reminder_position(task.remind_at, task.task_id)
        return item

    def to_domain(self) -> Task:
        """The task; raises `CorruptItem` when the stored values break the domain's rules."""
        try:
            return Task(
                task_id=TaskId(self.task_id),
                user_id=UserId(self.user_id),
                title=self.title,
                description=self.description,
                status=TaskStatus(self.status),
                priority=Priority(self.priority or Priority.NORMAL),
                due_at=self.due_at,
                tags=tuple(str(tag) for tag in self.tags or ()),
                created_at=self.created_at,
                updated_at=self.updated_at,
                completed_at=self.completed_at,
                deleted_at=self.deleted_at,
                version=int(self.version or 0),
                due_soon_sent_for=self.due_soon_sent_for,
                overdue_sent_for=self.overdue_sent_for,
                remind_at=self.remind_at,
            )
        except (DomainError, ValueError, TypeError) as error:
            raise CorruptItem(f"The stored item {self.pk} is not a valid task: {error}") from error


class OutboxItem(TableModel):
    """An event stored with its task's write and not yet published.

    Keyed `OUTBOX#<shard>` / `<task id>#<sequence>`: one shard holds all of a task's events,
    sorted in the order they happened. `RequestId` and `TraceHeader` name the request that caused
    the event (SPEC §9); items stored before they were kept have neither.
    """

    item_type = UnicodeAttribute(attr_name="Type", default="OutboxEvent")
    event_id = UnicodeAttribute(attr_name="EventId")
    event_type = UnicodeAttribute(attr_name="EventType")
    aggregate_id = UnicodeAttribute(attr_name="AggregateId")
    sequence = NumberAttribute(attr_name="Sequence")
    message = UnicodeAttribute(attr_name="Message")
    created_at = UtcTimestampAttribute(attr_name="CreatedAt", null=True)
    request_id = UnicodeAttribute(attr_name="RequestId", null=True)
    trace_header = UnicodeAttribute(attr_name="TraceHeader", null=True)

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
    def item_key(cls, task_id: TaskId | str, sequence: int) -> str:
        """The sort key of a task's `sequence`-th event: zero-padded, so a task's sort in order."""
        return f"{cls.task_prefix(task_id)}{sequence:010d}"

    @classmethod
    def from_entry(cls, entry: OutboxEntry) -> OutboxItem:
        return cls(
            pk=cls.shard_key(entry.task_id),
            sk=cls.item_key(entry.task_id, entry.sequence),
            event_id=entry.event_id,
            event_type=entry.event_type,
            aggregate_id=entry.task_id,
            sequence=entry.sequence,
            message=entry.message,
            created_at=entry.stored_at,
            request_id=entry.request_id,
            trace_header=entry.trace_header,
        )

    def to_entry(self) -> OutboxEntry:
        return OutboxEntry(
            task_id=self.aggregate_id,
            sequence=int(self.sequence),
            event_id=self.event_id,
            event_type=self.event_type,
            message=self.message,
            stored_at=self.created_at,
            request_id=self.request_id,
            trace_header=self.trace_header,
        )


def transaction_failed_on(error: TransactWriteError, code: str) -> bool:
    """Whether DynamoDB cancelled the transaction for `code` on any of its items."""
    return any(reason is not None and reason.code == code for reason in error.cancellation_reasons)


def response_code(error: PynamoDBException) -> str | None:
    """DynamoDB's error code behind a PynamoDB error (`ConditionalCheckFailedException`...), or
    None when there was no answer. PynamoDB's own `cause_response_code` raises AttributeError
    for a read timeout, whose botocore error carries `response=None`: a stall then looked like a
    bug (a 500) instead of an outage (a 503).
    """
    response = getattr(error.cause, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def item_failed(error: TransactWriteError, index: int, *codes: str) -> bool:
    """Whether DynamoDB cancelled the transaction for one of `codes` on its `index`-th item
    (reasons come in the order of the transaction's items)."""
    reasons = error.cancellation_reasons
    reason = reasons[index] if index < len(reasons) else None
    return reason is not None and reason.code in codes


class SharedClientConnection(Connection):
    """A PynamoDB connection that sends through a DynamoDB client it is given, instead of building
    one from a botocore session of its own as PynamoDB 6.1 does for every connection, so for every
    model class: 140 to 215 ms each, against 7 to 20 ms for a client from a shared session.

    `client` is a botocore DynamoDB client (`AwsTarget.client("dynamodb")`): its configuration,
    not this connection's arguments, sets the timeouts, retries and connection pool.
    """

    def __init__(self, client: Any) -> None:
        super().__init__(region=client.meta.region_name, host=client.meta.endpoint_url)
        self._shared_client = client

    @property
    def client(self) -> Any:
        return self._shared_client


def bind_table(
    models: Iterable[type[TableModel]], *, table_name: str, client: Any, host: str | None, region: str, **meta: Any
) -> None:
    """Point the models at a table and endpoint, sending through `client` (a shared botocore
    DynamoDB client for that endpoint and region). PynamoDB keeps both on each model class."""
    wanted = {"table_name": table_name, "host": host, "region": region, **meta}
    for model in models:
        if any(getattr(model.Meta, name, None) != value for name, value in wanted.items()):
            # Each model gets its own Meta: assigning onto an inherited one would rebind its siblings.
            model.Meta = type("Meta", (TableModel.Meta,), wanted)  # type: ignore[misc,assignment]
            # PynamoDB reuses its cached connection while the table name is unchanged, even when the
            # endpoint is not; dropping it makes the next call connect where the settings now point.
            model._connection = None
        table = model._get_connection()  # PynamoDB's, with the model's key and index schema
        if not (isinstance(table.connection, SharedClientConnection) and table.connection.client is client):
            connection = SharedClientConnection(client)
            connection.add_meta_table(table.get_meta_table())
            table.connection = connection
