"""Rebuild the statistics read model from the history, exactly, while consumers keep applying events.

What it rebuilds: each task's `STATE` item and each user's `STATS` and `STATS#<day>` rows, as
applying every history item (`TASK#<id>` / `EVENT#<seq>`) through `DynamoReadModels` would leave
them. What keeps it exact meanwhile: a consumer writes a task's `STATE` on the condition of its
`Revision`, and in the same transaction ADDs to the user's rows the change in what they count,
setting each row's `Type` to `UserStats`. So, for every row, "value - what the items it counts
contribute" (`STATE` items for `STATS`, history items for a day row) never changes under the
consumers: it is the error the previous release left. For each user, this module

1. marks each counter row, setting its `Type` to a token of this run and reading its values;
2. reads each task's `STATE`, then its history (consistent reads), and folds the history into
   the projection it should have (`TaskProjection.after`, the consumers' own rule);
3. repairs each `STATE` that differs: one transaction puts it on the condition that `Revision`
   is still the one read, and ADDs the change to `STATS` on the condition that the mark is there;
4. settles each row: ADDs what it should count minus what it held, and puts `Type` back, on the
   condition that the mark is still there.

An event that changes a row between 1 and 4 replaces its mark: the write fails and the user is
done again (`USER_ATTEMPTS` times at most, then reported). An event that changes no row changes
nothing step 2 measured. Only the current release's consumers may run: the previous one's +1/-1
would bring the error back.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import NumberAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from events_app.messages import InvalidEventMessage, ReceivedEvent, parse_message
from events_app.projection import TaskProjection, day_steps, status_steps
from events_app.read_models import TaskEventItem, TaskStateItem, UserStatsItem
from tasks_app.adapters.dynamodb import keys
from tasks_app.adapters.dynamodb.models import TaskItem, item_failed, response_code, transaction_failed_on
from tasks_app.domain.values import TaskStatus
from tasks_app.management.base import counted

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

PAGE_SIZE = 100  # items per Scan or Query request: short requests keep the local AWS responsive
PROGRESS_EVERY = 500  # items scanned, or tasks read, between two progress lines
USER_ATTEMPTS = 5  # marks replaced by events before a user is reported, not rebuilt
TASK_ATTEMPTS = 5  # STATE repairs lost to a consumer's write before giving up on the user
ROW_TYPE = "UserStats"  # what `Type` holds on a counter row when no rebuild has marked it
TOTALS = "STATS"
_COUNTERS: dict[str, NumberAttribute] = {
    TaskStatus.PENDING.value: UserStatsItem.pending,
    TaskStatus.IN_PROGRESS.value: UserStatsItem.in_progress,
    TaskStatus.COMPLETED.value: UserStatsItem.completed,
    TaskStatus.CANCELLED.value: UserStatsItem.cancelled,
    "created": UserStatsItem.created,
}
_TOTALS_COUNTERS = tuple(status.value for status in TaskStatus)
_DAY_COUNTERS = ("created", "completed")  # on a day row, `Completed` is the day's completions


class RebuildError(Exception):
    """The history holds an item that is not an event: a bug or a bad import; nothing guessed."""


class _MarkLost(Exception):
    """An event changed a counter row after this run marked it: the user must be done again."""


@dataclass
class RebuildSummary:
    """What a rebuild did (or, dry, would do): `tasks` read, `users` rebuilt, `states_repaired`
    STATE items written, `counters_changed` rows whose values changed, `unfinished` users left
    as they were because events kept changing their rows."""

    tasks: int = 0
    users: int = 0
    states_repaired: int = 0
    counters_changed: int = 0
    unfinished: list[str] = field(default_factory=list)


@dataclass
class _UserScope:
    """What the scan found of one user: task ids, and the sort keys of counter rows to settle."""

    tasks: set[str] = field(default_factory=set)
    rows: set[str] = field(default_factory=lambda: {TOTALS})


@dataclass(frozen=True)
class _TaskReading:
    """One task as read: its stored projection (`revision` 0: no STATE item) and the one its
    history gives, with the history's counts per (day row, counter)."""

    task_id: str
    stored: TaskProjection
    revision: int
    rebuilt: TaskProjection
    day_counts: Counter[tuple[str, str]]

    @property
    def needs_repair(self) -> bool:
        return self.stored != self.rebuilt


def rebuild_read_models(
    *,
    connection: Connection,
    client: DynamoDBClient,
    table_name: str,
    user_id: str | None = None,
    dry_run: bool = False,
    report: Callable[[str], None] = lambda _: None,
) -> RebuildSummary:
    """Rebuild every user's statistics (only `user_id`'s when given) from the history.

    Inputs: the read models' `connection` (transactions) and a DynamoDB `client` (the scan), the
    models bound to `table_name`; `dry_run` reads and counts but writes nothing; `report` gets
    progress lines. Output: a `RebuildSummary`. Cost: one Scan of the table; per user, two
    UpdateItem per counter row and one GSI1 Query page per 100 tasks; per task one GetItem and
    one Query, and one transaction if its STATE is wrong. Raises `RebuildError` for a history
    item that is not an event, and PynamoDB or botocore errors when DynamoDB fails.
    """
    scopes = _scan(client, table_name, user_id, report)
    summary = RebuildSummary()
    read = 0

    def tick() -> None:
        nonlocal read
        read += 1
        if read % PROGRESS_EVERY == 0:
            users = counted(len(scopes), "user")
            report(f"Read the STATE and history of {counted(read, 'task')}; {summary.users}/{users} rebuilt so far.")

    for user, scope in sorted(scopes.items()):
        if _rebuild_user(user, scope, connection=connection, dry_run=dry_run, summary=summary, tick=tick):
            summary.users += 1
        else:
            summary.unfinished.append(user)
    return summary


def _scan(
    client: DynamoDBClient, table_name: str, only: str | None, report: Callable[[str], None]
) -> dict[str, _UserScope]:
    """Each user's tasks (from history and STATE items) and counter rows (stored, or due to the
    history's creations and completions), in one paginated Scan."""
    scopes: defaultdict[str, _UserScope] = defaultdict(_UserScope)
    scanned = 0
    for page in client.get_paginator("scan").paginate(
        TableName=table_name,
        ConsistentRead=True,
        FilterExpression="(begins_with(PK, :task) AND (begins_with(SK, :event) OR SK = :state)) "
        "OR (begins_with(PK, :user) AND (SK = :totals OR begins_with(SK, :day)))",
        ExpressionAttributeValues={
            ":task": {"S": "TASK#"},
            ":event": {"S": "EVENT#"},
            ":state": {"S": TaskStateItem.SORT_KEY},
            ":user": {"S": "USER#"},
            ":totals": {"S": TOTALS},
            ":day": {"S": f"{TOTALS}#"},
        },
        PaginationConfig={"PageSize": PAGE_SIZE},
    ):
        for user, task_id, row in map(_scope_of, page["Items"]):
            if only is None or user == only:
                scopes[user].tasks.update(task_id)
                scopes[user].rows.update(row)
        before, scanned = scanned, scanned + page["ScannedCount"]
        if scanned // PROGRESS_EVERY > before // PROGRESS_EVERY:
            report(f"Scanned {counted(scanned, 'item')}: {counted(len(scopes), 'user')} so far.")
    tasks = sum(len(scope.tasks) for scope in scopes.values())
    report(f"Scanned {counted(scanned, 'item')}: {counted(tasks, 'task')} of {counted(len(scopes), 'user')}.")
    return dict(scopes)


def _scope_of(raw: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """The user an item belongs to, the task it names and the counter rows it calls for."""
    pk, sk = raw["PK"]["S"], raw["SK"]["S"]
    if pk.startswith("USER#"):
        return pk.removeprefix("USER#"), [], [sk]
    task_id = pk.removeprefix("TASK#")
    if sk == TaskStateItem.SORT_KEY:
        return TaskStateItem.from_raw_data(raw).user_id, [task_id], []
    event = _event(TaskEventItem.from_raw_data(raw))
    return event.text("user_id"), [task_id], [UserStatsItem.day_row(event.day)] if day_steps(event) else []


def _event(item: TaskEventItem) -> ReceivedEvent:
    try:
        return parse_message(item.message)
    except InvalidEventMessage as error:
        raise RebuildError(f"The history item {item.pk} / {item.sk} is not an event: {error}") from error


def _rebuild_user(
    user: str,
    scope: _UserScope,
    *,
    connection: Connection,
    dry_run: bool,
    summary: RebuildSummary,
    tick: Callable[[], None],
) -> bool:
    """Steps 1-4 of the module's docstring for one user, again while events replace the marks;
    returns whether every row was settled (dry: always). Counts into `summary` as it goes."""
    unsettled = set(scope.rows)
    for attempt in range(1, USER_ATTEMPTS + 1):
        marker = f"{ROW_TYPE}#rebuild#{uuid.uuid4()}"
        held = {sk: (_peek if dry_run else _mark)(user, sk, marker) for sk in sorted(unsettled | {TOTALS})}
        readings = []
        for task_id in sorted(scope.tasks | _listed_tasks(user)):
            readings.append(_read_task(task_id, user))
            tick()
        added: Counter[str] = Counter()  # what this run's repairs ADDed to `STATS`
        try:
            readings = [_repair(r, connection, marker, added, dry_run=dry_run, summary=summary) for r in readings]
            expected = _expected_rows(readings)
            for sk, values in held.items():
                changed = any(values[name] != expected[sk][name] for name in _counters(sk))
                if sk == TOTALS:
                    values.update(added)  # unlike `+`, keeps zero and negative counts
                if not dry_run:
                    _settle(user, sk, marker, values, expected[sk])
                unsettled.discard(sk)
                summary.counters_changed += changed
        except _MarkLost:
            time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not secrecy
            continue
        summary.tasks += len(readings)
        return True
    return False


def _listed_tasks(user: str) -> set[str]:
    """The user's tasks in GSI1, live and trashed: those created since the scan read their items."""
    items = TaskItem.by_user.query(keys.user_partition(user), page_size=PAGE_SIZE, attributes_to_get=["TaskId"])
    return {item.task_id for item in items}


def _row(user: str, sk: str) -> UserStatsItem:
    return UserStatsItem(pk=UserStatsItem.partition(user), sk=sk)


def _counters(sk: str) -> tuple[str, ...]:
    return _TOTALS_COUNTERS if sk == TOTALS else _DAY_COUNTERS


def _mark(user: str, sk: str, marker: str) -> Counter[str]:
    """Step 1: put this run's mark on a row (creating it if missing) and return its counts."""
    row = _row(user, sk)
    row.update(actions=[UserStatsItem.item_type.set(marker)])
    return _counts(row, sk)


def _peek(user: str, sk: str, _marker: str) -> Counter[str]:
    """A dry run's step 1: the row's counts, read without marking it."""
    try:
        return _counts(UserStatsItem.get(UserStatsItem.partition(user), sk, consistent_read=True), sk)
    except UserStatsItem.DoesNotExist:
        return _counts(_row(user, sk), sk)


def _counts(row: UserStatsItem, sk: str) -> Counter[str]:
    return Counter({name: int(getattr(row, name) or 0) for name in _counters(sk)})


def _read_task(task_id: str, user: str) -> _TaskReading:
    """Step 2 for one task: its STATE first, then its history, so a consumer's write between the
    two shows as a newer `Revision` when the repair is tried."""
    partition = TaskEventItem.partition(task_id)
    try:
        state = TaskStateItem.get(partition, TaskStateItem.SORT_KEY, consistent_read=True)
        stored, revision = state.to_projection(), int(state.revision)
    except TaskStateItem.DoesNotExist:
        stored, revision = TaskProjection(user_id=user), 0
    history = TaskEventItem.query(
        partition, range_key_condition=TaskEventItem.sk.startswith("EVENT#"), consistent_read=True, page_size=PAGE_SIZE
    )
    events = [_event(item) for item in history]
    day_counts: Counter[tuple[str, str]] = Counter()
    for event in events:
        for name, step in day_steps(event).items():
            day_counts[UserStatsItem.day_row(event.day), name] += step
    rebuilt = reduce(lambda projection, event: projection.after(event), events, TaskProjection(user_id=user))
    return _TaskReading(task_id, stored, revision, rebuilt, day_counts)


def _repair(
    reading: _TaskReading,
    connection: Connection,
    marker: str,
    added: Counter[str],
    *,
    dry_run: bool,
    summary: RebuildSummary,
) -> _TaskReading:
    """Step 3 for one task: write its rebuilt STATE and ADD the change to `STATS` (counted in
    `added` too). Returns the reading the STATE now matches. A consumer that wrote the STATE
    since it was read makes the task read again; one that changed `STATS` raises `_MarkLost`."""
    for _ in range(TASK_ATTEMPTS):
        if not reading.needs_repair:
            return reading
        steps = status_steps(reading.stored, reading.rebuilt)
        if not dry_run:
            try:
                _write_state(reading, connection, marker, steps)
            except TransactWriteError as error:
                if item_failed(error, 1, "ConditionalCheckFailed"):
                    raise _MarkLost from error
                if not (
                    item_failed(error, 0, "ConditionalCheckFailed")
                    or transaction_failed_on(error, "TransactionConflict")
                ):
                    raise
                reading = _read_task(reading.task_id, reading.stored.user_id)
                continue
        added.update(steps)
        summary.states_repaired += 1
        return reading
    raise _MarkLost  # the task keeps changing: do the whole user again, after a pause


def _write_state(reading: _TaskReading, connection: Connection, marker: str, steps: dict[str, int]) -> None:
    """The repair's transaction: STATE first (reason 0), then `STATS` (reason 1)."""
    revision = reading.revision
    unchanged = TaskStateItem.revision == revision if revision else TaskStateItem.pk.does_not_exist()
    with TransactWrite(connection=connection, client_request_token=str(uuid.uuid4())) as transaction:
        transaction.save(TaskStateItem.of(reading.task_id, reading.rebuilt, revision=revision + 1), condition=unchanged)
        transaction.update(
            _row(reading.stored.user_id, TOTALS),
            [UserStatsItem.item_type.set(marker), *(_COUNTERS[name].add(step) for name, step in steps.items())],
            condition=UserStatsItem.item_type == marker,
        )


def _expected_rows(readings: Iterable[_TaskReading]) -> defaultdict[str, Counter[str]]:
    """What each row should count: `STATS` the rebuilt projections, a day row the history's events."""
    expected: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for reading in readings:
        if reading.rebuilt.counted_as is not None:
            expected[TOTALS][reading.rebuilt.counted_as] += 1
        for (sk, name), count in reading.day_counts.items():
            expected[sk][name] += count
    return expected


def _settle(user: str, sk: str, marker: str, held: Counter[str], expected: Counter[str]) -> None:
    """Step 4 for one row: ADD the difference and put `Type` back, if the mark is still there."""
    adds = [_COUNTERS[name].add(expected[name] - held[name]) for name in _counters(sk) if expected[name] != held[name]]
    try:
        _row(user, sk).update(
            actions=[*adds, UserStatsItem.item_type.set(ROW_TYPE)], condition=UserStatsItem.item_type == marker
        )
    except UpdateError as error:
        if response_code(error) != "ConditionalCheckFailedException":
            raise
        raise _MarkLost from error
