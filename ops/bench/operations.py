"""The operations `api_vs_pynamodb` measures, each done two ways: an API Gateway event handed to
the function's handler in-process (`lambda_api`), and bare PynamoDB calls making the operation's
own DynamoDB requests (same items, same conditions, as the repository makes them:
`tasks_app.adapters.dynamodb`). The benchmark checks that the API's request path holds requests
of the same shape (`capacity.split_request_path`), writing as many units, and counts the rest.

Callers are many users with bearer tokens (`USERS`, each request the next one's), as the shipped
per-user rate limit would refuse one user sending a benchmark's hundreds of requests a minute.
The tasks they work on are written straight to the table beforehand (one `BatchWriteItem` per
25, no events: only the operations' own events reach the outbox):
- the users' tasks go through every change in turn, one task per call and side, so each change
  finds its task in the state it needs: update (PATCH with If-Match) -> start -> complete ->
  reopen -> cancel -> delete -> restore. Creates are theirs too, and each has a task to get.
- `LIST_USER` has `LISTED` live tasks for the pages, `TRASH_USER` a trash of `TRASHED`.
- history and statistics read what the consumer wrote: each user's task to get has the history
  of being created, started and completed, and its owner statistics rows, written by applying
  those events to the read models (the task itself stays as created).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ops.bench.lambda_api import LambdaApi

if TYPE_CHECKING:
    from tasks_app.domain.task import Task

# Callers taking turns: at 100 requests a second each sends 300 a minute, under the shipped 600/min.
# Each caller's first request of a minute in a process takes tokens (`rate_leases`): fewer callers,
# fewer takes; the benchmark prints how many it saw.
USERS = 20
LIST_USER = "bench-lists"
TRASH_USER = "bench-trash"
PAGE = 50  # the API's default page size
LISTED = 250  # more than 4 x (PAGE + 1): a sparse filter's page takes all 4 Queries it may make
RARE_EVERY = 10  # one listed task in 10 has the tag the tag page asks for
RARE_TAG = "rare"
TRASHED = 60
# The operation's own DynamoDB requests, which are also the issue 12 targets for the request path
# (create 1, get 1, a page 1, a change 2: a consistent read, then one transaction).
CREATE = {"TransactWriteItems": 1}
READ_THEN_WRITE = {"GetItem": 1, "TransactWriteItems": 1}
ONE_QUERY = {"Query": 1}

Event = dict[str, Any]


def user(number: int) -> str:
    """The `number`th caller, cycling over `USERS`."""
    return f"bench-user-{number % USERS}"


@dataclass(frozen=True)
class Operation:
    name: str
    event: Callable[[], Event]  # the next call's event: built outside the timed part, as a client builds it
    bare: Callable[[], object]
    expected: dict[str, int]  # the operation's own DynamoDB requests, by operation name
    page: bool = False  # reads a page of tasks: moto answers those slowly, so fewer rounds


@dataclass(frozen=True)
class Bench:
    operations: list[Operation]
    tidy: Callable[[], None]  # deletes the events the bare calls stored


def prepare(api: LambdaApi, calls: int) -> Bench:
    """The operations, and the tasks for `calls` calls of each change on each side."""
    from events_app import bootstrap as events_wiring
    from events_app.read_models import TaskEventItem, UserStatsItem
    from ops.bench.bare import BarePynamoDB
    from tasks_app import bootstrap
    from tasks_app.adapters.dynamodb import keys
    from tasks_app.adapters.dynamodb.models import TaskItem
    from tasks_app.domain.task import Task
    from tasks_app.domain.values import TaskStatus, UserId

    bare = BarePynamoDB(bootstrap.table_connection(), page_size=PAGE)  # binds the models, as a first request would
    moment = datetime.now(UTC)

    def new(owner: str, index: int = 0, *, tags: tuple[str, ...] = ("bench",)) -> Task:
        due = None if index % 4 == 3 else moment + timedelta(hours=index + 1)
        return Task.create(user_id=UserId(owner), title="bench", due_at=due, tags=tags, now=datetime.now(UTC))

    samples = _with_history([new(user(n)) for n in range(USERS)])  # one task per user to get
    api_pool = list(zip(_store(new(user(i), i) for i in range(calls)), map(user, range(calls)), strict=True))
    bare_pool = _store(new(user(i), i) for i in range(calls))
    listed = [new(LIST_USER, i, tags=(RARE_TAG,) if i % RARE_EVERY == 0 else ("bench",)) for i in range(LISTED)]
    for task in listed[1::3]:
        task.start(datetime.now(UTC))
    _store(listed)
    trashed = [new(TRASH_USER, i) for i in range(TRASHED)]
    for task in trashed:
        task.delete(datetime.now(UTC))
    _store(trashed)
    turns = itertools.count()

    def cycling(method: str, path: str, **request: Any) -> Callable[[], Event]:
        """Each call by the next user."""
        return lambda: api.event(method, path, user=user(next(turns)), **request)

    def as_user(owner: str, path: str, **query: str) -> Callable[[], Event]:
        return lambda: api.event("GET", path, user=owner, query=query or None)

    def get() -> Event:
        number = next(turns)
        return api.event("GET", f"/tasks/{samples[number % USERS]}", user=user(number))

    def api_change(method: str, action: str = "", **request: Any) -> Callable[[], Event]:
        targets: Iterator[tuple[str, str]] = iter(api_pool)

        def event() -> Event:
            task_id, owner = next(targets)
            return api.event(method, f"/tasks/{task_id}{action}", user=owner, **request)

        return event

    def bare_change(apply: Callable[[Task, datetime], object]) -> Callable[[], None]:
        return bare.change(bare_pool, apply)

    api_keys = (f"api-{number}" for number in itertools.count())
    create = {"title": "t"}  # the caller's own: with tokens, the API takes the owner from the token
    edit = {"title": "bench (edited)", "priority": "high"}
    listed_tasks, live = keys.user_partition(LIST_USER), TaskItem.gsi1sk.startswith(keys.LIVE_PREFIX)

    def create_once() -> Event:
        number = next(turns)
        return api.event("POST", "/tasks", user=user(number), body=create, headers={"Idempotency-Key": next(api_keys)})

    def history() -> Event:
        number = next(turns)
        return api.event("GET", f"/tasks/{samples[number % USERS]}/events", user=user(number))

    def bare_history() -> None:
        """`task_history` for its owner: the task's consistent read, then its events' consistent Query."""
        TaskItem.get(TaskItem.key(samples[0]), TaskItem.key(samples[0]), consistent_read=True)
        partition = TaskEventItem.partition(samples[0])
        list(TaskEventItem.query(partition, TaskEventItem.sk.startswith("EVENT#"), consistent_read=True))

    def bare_stats() -> None:
        """`stats`: the totals row and today's row, in one BatchGetItem."""
        partition = UserStatsItem.partition(user(0))
        list(UserStatsItem.batch_get([(partition, "STATS"), (partition, UserStatsItem.day_row(bootstrap.utc_today()))]))

    events_wiring.read_models()  # binds the read models' items to the table, as a first request would
    bare_turns = itertools.count()
    operations = [
        Operation(
            "create", cycling("POST", "/tasks", body=create), lambda: bare.create(user(next(bare_turns))), CREATE
        ),
        Operation(
            "create (Idempotency-Key)", create_once, lambda: bare.create_once(user(next(bare_turns))), READ_THEN_WRITE
        ),
        Operation(
            "get",
            get,
            lambda: TaskItem.get(TaskItem.key(samples[0]), TaskItem.key(samples[0]), consistent_read=True),
            {"GetItem": 1},
        ),
        Operation("history", history, bare_history, {"GetItem": 1, "Query": 1}),
        Operation("stats", cycling("GET", "/tasks/stats"), bare_stats, {"BatchGetItem": 1}),
        Operation(
            "list (one page)",
            as_user(LIST_USER, "/tasks"),
            bare.page(TaskItem.by_user, listed_tasks, live),
            ONE_QUERY,
            page=True,
        ),
        Operation(
            "update (PATCH, If-Match)",
            api_change("PATCH", body=edit, headers={"If-Match": '"1"'}),  # every pool task is at version 1
            bare_change(lambda task, now: task.update(edit, now)),
            READ_THEN_WRITE,
        ),
        *(
            Operation(name, api_change("POST", f"/{name}"), bare_change(getattr(Task, name)), READ_THEN_WRITE)
            for name in ("start", "complete", "reopen", "cancel")
        ),
        Operation("delete (to the trash)", api_change("DELETE"), bare_change(Task.delete), READ_THEN_WRITE),
        Operation("restore", api_change("POST", "/restore"), bare_change(Task.restore), READ_THEN_WRITE),
        Operation(
            "page: one status",
            as_user(LIST_USER, "/tasks", status="pending"),
            bare.page(
                TaskItem.by_status,
                keys.status_partition(LIST_USER, TaskStatus.PENDING),
                TaskItem.gsi2sk.startswith(keys.LIVE_PREFIX),
            ),
            ONE_QUERY,
            page=True,
        ),
        Operation(
            "page: sort=due_at",
            as_user(LIST_USER, "/tasks", sort="due_at"),
            bare.page(
                TaskItem.by_due_date,
                listed_tasks,
                TaskItem.gsi3sk.between(keys.due_lower_bound(None), keys.due_upper_bound(None, undated=True)),
                forward=True,
            ),
            ONE_QUERY,
            page=True,
        ),
        Operation(
            f"page: tag (1 in {RARE_EVERY})",
            as_user(LIST_USER, "/tasks", tag=RARE_TAG),
            bare.page(
                TaskItem.by_user,
                listed_tasks,
                live,
                filter_condition=lambda: TaskItem.tags.contains(RARE_TAG),
                requests=4,
            ),
            {"Query": 4},  # the bound (listing.FILTERED_QUERIES_PER_PAGE): few tasks match
            page=True,
        ),
        Operation(
            "page: trash",
            as_user(TRASH_USER, "/tasks/trash"),
            bare.page(
                TaskItem.by_user,
                keys.user_partition(TRASH_USER),
                TaskItem.gsi1sk.startswith(keys.TRASH_PREFIX),
                filter_condition=lambda: TaskItem.expires_at > datetime.now(UTC),
            ),
            ONE_QUERY,
            page=True,
        ),
    ]
    return Bench(operations, bare.tidy)


def _with_history(tasks: list[Task]) -> list[str]:
    """Store the tasks as created, then apply to the read models, as the consumer would, the
    events of creating, starting and completing each. Their ids in order."""
    from events_app import bootstrap as events_wiring
    from events_app.messages import parse_message
    from tasks_app.application.ports import OutboxEntry

    events = [task.pull_events() for task in tasks]
    ids = _store(tasks)
    for task, created in zip(tasks, events, strict=True):
        task.start(datetime.now(UTC))
        task.complete(datetime.now(UTC))
        created.extend(task.pull_events())
    read_models = events_wiring.read_models()
    for event in itertools.chain.from_iterable(events):
        read_models.apply(parse_message(OutboxEntry.from_event(event).message))
    return ids


def _store(tasks: Iterable[Task]) -> list[str]:
    """Write the tasks as they are, without their events; their ids in order."""
    from tasks_app.adapters.dynamodb.models import TaskItem

    ids: list[str] = []
    with TaskItem.batch_write() as batch:
        for task in tasks:
            task.pull_events()
            batch.save(TaskItem.from_domain(task))
            ids.append(str(task.task_id))
    return ids
