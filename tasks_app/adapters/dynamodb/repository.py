"""The `TaskRepository` port on DynamoDB: tasks, their outbox events and idempotency records,
written together (SPEC §3); listings as index queries (`listing`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from tasks_app import correlation
from tasks_app.adapters.cursor import TRASH_LISTING, CursorCodec, live_listing
from tasks_app.adapters.dynamodb import listing
from tasks_app.adapters.dynamodb.idempotency import IdempotencyItem
from tasks_app.adapters.dynamodb.models import OutboxItem, TaskItem, item_failed, response_code
from tasks_app.adapters.outages import reports_outages
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyRecord
from tasks_app.application.ports import ConcurrentUpdate, OutboxEntry, Page, TaskFilters, TaskSort
from tasks_app.domain.errors import TaskNotFound
from tasks_app.domain.task import TRASH_RETENTION, Task
from tasks_app.domain.values import TaskId, UserId

# Where each item sits in a write's transaction: DynamoDB's cancellation reasons follow this order.
_TASK_ITEM, _IDEMPOTENCY_ITEM = 0, 1
_CONFLICTS = ("ConditionalCheckFailed", "TransactionConflict")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def at_version(version: int) -> Condition:
    """The condition that the stored task is still at `version` (what it was read at): version 0
    is a task stored before tasks had versions, whose item has no `Version` at all."""
    condition: Condition = TaskItem.version == version
    if version == 0:
        condition = TaskItem.version.does_not_exist() | condition
    return condition


@reports_outages("DynamoDB")
class DynamoTaskRepository:
    """Tasks in the single table. A write is one `TransactWriteItems` holding the task, its
    events as outbox items and, when given, the idempotency record: no event of a stored change
    can be lost before it is published, and no change exists without its key (SPEC §2, §4).
    Each outbox item carries the id and trace header of the request in hand when it is written
    (`tasks_app.correlation`, which the API sets): the relay sends them on (SPEC §9).

    A write never conflicts with itself (issue 9): botocore resends a transaction whose response
    was lost, and where the resend is not recognised by its token (the local AWS ignores it) it
    fails its own condition. Each write stores a fresh `WriteId` on the task item and asks for
    the stored item back on a failed condition; finding its own id there, it has succeeded. (If
    another change lands between the commit and the resend, the writer sees `ConcurrentUpdate`
    and the service reads again, as for any lost race.)

    `clock` says when "now" is for what expires on its own (the trash after 30 days, records
    after 24 hours): DynamoDB's TTL deletes such items days late, so reads skip them.
    """

    def __init__(
        self, cursors: CursorCodec, connection: Connection, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._cursors = cursors
        self._connection = connection
        self._clock = clock

    def add(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        """Store a new task; `ConcurrentUpdate` if its id is taken, `IdempotencyKeyInUse` (SPEC §2)."""
        self._write(task, condition=TaskItem.pk.does_not_exist(), idempotency=idempotency)

    def update(self, task: Task, *, idempotency: IdempotencyRecord | None = None) -> None:
        """Store a change conditioned on the version read (a trashed task leaves the live indexes
        and gets `ExpiresAt`; a restored one is put back). `ConcurrentUpdate` when the read is
        stale, `IdempotencyKeyInUse` when the key is taken."""
        self._write(task, condition=at_version(task.stored_version), idempotency=idempotency)

    def get(self, task_id: TaskId) -> Task:
        """One consistent `GetItem`; `TaskNotFound` for an unknown or trashed task."""
        task = self._read(task_id)
        if task is None or task.in_trash:
            raise TaskNotFound(str(task_id))
        return task

    def get_trashed(self, task_id: TaskId) -> Task:
        """One consistent `GetItem`; `TaskNotFound` unless the task is in the trash and not past
        its 30 days (SPEC §1: then it is purged, whenever TTL gets to it)."""
        task = self._read(task_id)
        if task is None or task.deleted_at is None or task.deleted_at + TRASH_RETENTION <= self._clock():
            raise TaskNotFound(str(task_id))
        return task

    def list_for_user(
        self,
        user_id: UserId,
        *,
        limit: int,
        cursor: str | None,
        filters: TaskFilters = TaskFilters(),  # noqa: B008 - frozen, so one shared default is safe
        sort: TaskSort = TaskSort.NEWEST_FIRST,
    ) -> Page:
        """A page of live tasks; the index and request count per listing are in `listing`."""
        name = live_listing(filters, sort)
        position = self._position(user_id, name, cursor)
        query = listing.live_query(user_id, filters, sort)
        if query is None:
            return Page(items=[], next_cursor=None)
        return self._page(query, user_id, name, limit=limit, position=position)

    def list_trash(self, user_id: UserId, *, limit: int, cursor: str | None) -> Page:
        """A page of the trash, latest deletion first: one Query on GSI1 (`TRASH#...`)."""
        position = self._position(user_id, TRASH_LISTING, cursor)
        query = listing.trash_query(user_id, now=self._clock())
        return self._page(query, user_id, TRASH_LISTING, limit=limit, position=position)

    def record_response(self, record: IdempotencyRecord) -> None:
        """One conditional `PutItem` of the record; `IdempotencyKeyInUse` if the key is taken."""
        try:
            IdempotencyItem.from_record(record).save(condition=IdempotencyItem.claimable(self._clock()))
        except PutError as error:
            if response_code(error) == "ConditionalCheckFailedException":
                raise IdempotencyKeyInUse(record.key) from None
            raise

    def find_response(self, scope: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """One consistent `GetItem`: the record, unless absent or expired (TTL deletes late)."""
        item_key = IdempotencyItem.key(scope, key)
        try:
            item = IdempotencyItem.get(item_key, item_key, consistent_read=True)
        except IdempotencyItem.DoesNotExist:
            return None
        return item.to_record() if item.is_record_of(scope, key, now=now) else None

    def _read(self, task_id: TaskId) -> Task | None:
        key = TaskItem.key(task_id)
        try:
            # Consistent, so a client that has just changed a task reads its change back.
            return TaskItem.get(key, key, consistent_read=True).to_domain()
        except TaskItem.DoesNotExist:
            return None

    def _position(self, user_id: UserId, name: str, cursor: str | None) -> str | None:
        return None if cursor is None else self._cursors.decode(cursor, owner=str(user_id), listing=name)

    def _page(self, query: listing.IndexQuery, user_id: UserId, name: str, *, limit: int, position: str | None) -> Page:
        items, after = listing.read_page(query, limit=limit, position=position)
        next_cursor = None if after is None else self._cursors.encode(owner=str(user_id), position=after, listing=name)
        return Page(items=[item.to_domain() for item in items], next_cursor=next_cursor)

    def _write(self, task: Task, *, condition: Condition, idempotency: IdempotencyRecord | None) -> None:
        events = task.pull_events()
        # One id per write, sent as the transaction's token (AWS then treats botocore's retries
        # as the same transaction) and stored on the item (so that where a retry is not
        # recognised, as on the local AWS, the writer can still tell its own write).
        write_id = str(uuid.uuid4())
        try:
            with TransactWrite(connection=self._connection, client_request_token=write_id) as transaction:
                # ALL_OLD: a refused write gets the stored item back in the cancellation reasons.
                transaction.save(
                    TaskItem.from_domain(task, write_id=write_id), condition=condition, return_values=ALL_OLD
                )
                if idempotency is not None:
                    item = IdempotencyItem.from_record(idempotency)
                    transaction.save(item, condition=IdempotencyItem.claimable(self._clock()))
                for event in events:
                    transaction.save(OutboxItem.from_entry(OutboxEntry.from_event(event, origin=correlation.origin())))
        except TransactWriteError as error:
            if _written_by(error, write_id):
                return  # a retry of this very write, which had committed: SPEC §2, no self-conflict
            if idempotency is not None and item_failed(error, _IDEMPOTENCY_ITEM, *_CONFLICTS):
                raise IdempotencyKeyInUse(idempotency.key) from None
            if item_failed(error, _TASK_ITEM, *_CONFLICTS):
                # A stale read, or another transaction on the same task at the same moment.
                raise ConcurrentUpdate(str(task.task_id)) from None
            raise


def _written_by(error: TransactWriteError, write_id: str) -> bool:
    """Whether the task item's condition failed because the write `write_id` had stored it."""
    if not item_failed(error, _TASK_ITEM, "ConditionalCheckFailed"):
        return False
    stored = error.cancellation_reasons[_TASK_ITEM]
    raw = stored.raw_item if stored is not None else None
    return raw is not None and raw.get("WriteId") == {"S": write_id}
