"""The operations `api_vs_pynamodb` measures, each done two ways: a request through the WSGI app,
and bare PynamoDB calls making the same DynamoDB requests (same items, same conditions, as the
repository makes them: `tasks_app.adapters.dynamodb`). The benchmark checks that both ways
made requests of the same shape (`capacity.shape`) and wrote as many units.

The tasks they work on are written straight to the table beforehand (one `BatchWriteItem` per
25, no events: only the operations' own events reach the outbox):
- `USER`'s tasks go through every change in turn, one task per call and side, so each change
  finds its task in the state it needs: update (PATCH with If-Match) -> start -> complete ->
  reopen -> cancel -> delete -> restore. Creates are `USER`'s too.
- `LIST_USER` has `LISTED` live tasks for the pages, `TRASH_USER` a trash of `TRASHED`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ops.bench.harness import call_wsgi

if TYPE_CHECKING:
    from tasks_app.domain.task import Task

USER = "bench-user"
LIST_USER = "bench-lists"
TRASH_USER = "bench-trash"
PAGE = 50  # the API's default page size
LISTED = 250  # more than 4 x (PAGE + 1): a sparse filter's page takes all 4 Queries it may make
RARE_EVERY = 10  # one listed task in 10 has the tag the tag page asks for
RARE_TAG = "rare"
TRASHED = 60
CREATE = {"TransactWriteItems": 1}
READ_THEN_WRITE = {"GetItem": 1, "TransactWriteItems": 1}  # a consistent read, then one transaction
ONE_QUERY = {"Query": 1}

Response = tuple[dict[str, Any], Callable[[], None]]  # the body, and the close that relays its events


@dataclass(frozen=True)
class Operation:
    name: str
    through_api: Callable[[], Response]
    bare: Callable[[], object]
    expected: dict[str, int]  # DynamoDB requests inside the request, by operation
    page: bool = False  # reads a page of tasks: moto answers those slowly, so fewer rounds


@dataclass(frozen=True)
class Bench:
    operations: list[Operation]
    sample: str  # a task to get
    tidy: Callable[[], None]  # deletes the events the bare calls stored (the API's are relayed, so deleted)


def prepare(calls: int) -> Bench:
    """The operations, and the tasks for `calls` calls of each change on each side."""
    from ops.bench.bare import BarePynamoDB
    from tasks_app import bootstrap
    from tasks_app.adapters.dynamodb import keys
    from tasks_app.adapters.dynamodb.models import TaskItem
    from tasks_app.domain.task import Task
    from tasks_app.domain.values import TaskStatus, UserId

    bare = BarePynamoDB(bootstrap.table_connection(), page_size=PAGE)  # binds the models, as a first request would
    moment = datetime.now(UTC)

    def new(user: str, index: int = 0, *, tags: tuple[str, ...] = ("bench",)) -> Task:
        due = None if index % 4 == 3 else moment + timedelta(hours=index + 1)
        return Task.create(user_id=UserId(user), title="bench", due_at=due, tags=tags, now=datetime.now(UTC))

    sample, *_ = _store([new(USER)])
    api_pool, bare_pool = _store(new(USER, i) for i in range(calls)), _store(new(USER, i) for i in range(calls))
    listed = [new(LIST_USER, i, tags=(RARE_TAG,) if i % RARE_EVERY == 0 else ("bench",)) for i in range(LISTED)]
    for task in listed[1::3]:
        task.start(datetime.now(UTC))
    _store(listed)
    trashed = [new(TRASH_USER, i) for i in range(TRASHED)]
    for task in trashed:
        task.delete(datetime.now(UTC))
    _store(trashed)

    def get(path: str) -> Callable[[], Response]:
        return lambda: call_wsgi("GET", path)

    def api_change(method: str, action: str = "", **request: Any) -> Callable[[], Response]:
        targets = iter(api_pool)
        return lambda: call_wsgi(method, f"/tasks/{next(targets)}{action}", **request)

    def bare_change(apply: Callable[[Task, datetime], object]) -> Callable[[], None]:
        return bare.change(bare_pool, apply)

    api_keys = (f"api-{number}" for number in itertools.count())
    create = {"user_id": USER, "title": "t"}
    edit = {"title": "bench (edited)", "priority": "high"}
    listed_tasks, live = keys.user_partition(LIST_USER), TaskItem.gsi1sk.startswith(keys.LIVE_PREFIX)
    operations = [
        Operation("create", lambda: call_wsgi("POST", "/tasks", create), lambda: bare.create(USER), CREATE),
        Operation(
            "create (Idempotency-Key)",
            lambda: call_wsgi("POST", "/tasks", create, {"Idempotency-Key": next(api_keys)}),
            lambda: bare.create_once(USER),
            READ_THEN_WRITE,
        ),
        Operation(
            "get",
            get(f"/tasks/{sample}"),
            lambda: TaskItem.get(TaskItem.key(sample), TaskItem.key(sample), consistent_read=True),
            {"GetItem": 1},
        ),
        Operation(
            "list (one page)",
            get(f"/tasks?user_id={LIST_USER}"),
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
            get(f"/tasks?user_id={LIST_USER}&status=pending"),
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
            get(f"/tasks?user_id={LIST_USER}&sort=due_at"),
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
            get(f"/tasks?user_id={LIST_USER}&tag={RARE_TAG}"),
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
            get(f"/tasks/trash?user_id={TRASH_USER}"),
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
    return Bench(operations, sample, bare.tidy)


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
