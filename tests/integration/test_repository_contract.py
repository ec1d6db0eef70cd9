"""The TaskRepository contract, held by the in-memory fake and by DynamoDB on the local AWS alike."""

from __future__ import annotations

import copy
import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from tasks_app import bootstrap
from tasks_app.adapters.cursor import CursorCodec
from tasks_app.adapters.dynamodb.repository import DynamoTaskRepository
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyRecord, RecordedResponse
from tasks_app.application.ports import ConcurrentUpdate, Page, TaskFilters, TaskRepository, TaskSort
from tasks_app.domain.errors import InvalidCursor, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import Priority, TaskId, TaskStatus, UserId
from tests.fakes import FakeTaskRepository

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE = UserId("alice")
NO_FILTERS = TaskFilters()


@pytest.fixture(params=["fake", "dynamodb"])
def repository(request) -> TaskRepository:
    """Both repositories, with a clock fixed at NOW (trash and records expire by it)."""
    if request.param == "fake":
        return FakeTaskRepository(clock=lambda: NOW)
    request.getfixturevalue("aws")
    return DynamoTaskRepository(CursorCodec(settings.SECRET_KEY), bootstrap.table_connection(), clock=lambda: NOW)


def a_task(user: str = "alice", title: str = "Task", now: datetime = NOW, **fields) -> Task:
    task = Task.create(user_id=UserId(user), title=title, now=now, **fields)
    task.pull_events()
    return task


def every_page(read, limit: int) -> list[Task]:
    """Follow the cursors to the end; no task may come twice, no page hold more than `limit`."""
    seen: list[Task] = []
    cursor = None
    for _ in range(200):
        page: Page = read(limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen += page.items
        if (cursor := page.next_cursor) is None:
            ids = [task.task_id for task in seen]
            assert len(ids) == len(set(ids)), "a task came back on two pages"
            return seen
    raise AssertionError("the cursors never came to an end")


def test_a_stored_task_reads_back_equal(repository):
    task = a_task(
        title='Ünïcødé 🎉 "quotes" <b>',
        description="line 1\nline 2\ttab",
        priority=Priority.URGENT,
        due_at=NOW + timedelta(days=2, microseconds=7),
        tags=["Zeta", "alpha", "mid"],
    )
    repository.add(task)
    stored = repository.get(task.task_id)
    assert stored == task
    assert stored.tags == ("zeta", "alpha", "mid")  # the order given, lower-cased


def test_a_task_without_optional_fields_reads_back_with_their_defaults(repository):
    task = a_task()
    repository.add(task)
    stored = repository.get(task.task_id)
    assert (stored.priority, stored.due_at, stored.tags, stored.deleted_at) == (Priority.NORMAL, None, (), None)


def test_an_unknown_id_is_not_found(repository):
    with pytest.raises(TaskNotFound):
        repository.get(TaskId.new())
    with pytest.raises(TaskNotFound):
        repository.get_trashed(TaskId.new())


def test_listing_is_newest_first_and_only_the_users_own(repository):
    tasks = [a_task(title=f"t{i}", now=NOW + timedelta(seconds=i)) for i in range(3)]
    for task in [*tasks, a_task(user="bob")]:
        repository.add(task)
    page = repository.list_for_user(ALICE, limit=10, cursor=None)
    assert page.items == list(reversed(tasks))
    assert page.next_cursor is None


def test_tasks_created_in_the_same_microsecond_are_all_listed_once(repository):
    tasks = [a_task(title=f"t{i}") for i in range(5)]
    for task in tasks:
        repository.add(task)
    seen = every_page(lambda **page: repository.list_for_user(ALICE, **page), limit=2)
    assert sorted(str(t.task_id) for t in seen) == sorted(str(t.task_id) for t in tasks)


ONE_QUERY_LISTINGS = {
    "newest": (TaskFilters(), TaskSort.NEWEST_FIRST),
    "one status": (TaskFilters(statuses=(TaskStatus.PENDING,)), TaskSort.NEWEST_FIRST),
    "due soonest": (TaskFilters(), TaskSort.DUE_SOONEST),
}


@pytest.mark.parametrize("listing", ONE_QUERY_LISTINGS.values(), ids=ONE_QUERY_LISTINGS.keys())
def test_a_full_last_page_says_there_is_no_next_page(repository, listing):
    filters, sort = listing
    for i in range(4):
        repository.add(a_task(now=NOW + timedelta(seconds=i), due_at=NOW + timedelta(days=i)))
    first = repository.list_for_user(ALICE, limit=2, cursor=None, filters=filters, sort=sort)
    second = repository.list_for_user(ALICE, limit=2, cursor=first.next_cursor, filters=filters, sort=sort)
    assert (len(first.items), len(second.items)) == (2, 2)
    assert second.next_cursor is None


def test_a_user_without_tasks_gets_an_empty_page(repository):
    assert repository.list_for_user(UserId("nobody"), limit=5, cursor=None).items == []
    assert repository.list_trash(UserId("nobody"), limit=5, cursor=None) == Page(items=[], next_cursor=None)


def a_mixed_backlog(repository) -> list[Task]:
    """Eighteen of alice's tasks in every status, priority, tag and due date (some undated,
    some due at the same moment), created a second apart; bob's and a trashed one around them."""
    tasks = []
    for i in range(18):
        due = None if i % 4 == 0 else NOW + timedelta(days=(i * 7) % 5, hours=i % 2)
        task = a_task(
            title=f"t{i}",
            now=NOW + timedelta(seconds=i),
            priority=list(Priority)[(i // 2) % 4],
            due_at=due,
            tags=[f"tag{i % 3}", "all"] if i % 5 else [],
        )
        action = [None, Task.start, Task.complete, Task.cancel][i % 4 if i % 3 else 0]
        if action is not None:
            action(task, NOW)
        task.pull_events()
        tasks.append(task)
        repository.add(task)
    repository.add(a_task(user="bob", tags=["tag1"], due_at=NOW))
    trashed = a_task(tags=["tag1"], due_at=NOW)
    trashed.delete(NOW)
    trashed.pull_events()
    repository.add(trashed)
    return tasks


def expected(tasks: list[Task], filters: TaskFilters, sort: TaskSort) -> list[Task]:
    def passes(task: Task) -> bool:
        due = task.due_at
        return (
            (not filters.statuses or task.status in filters.statuses)
            and (filters.priority is None or task.priority == filters.priority)
            and (filters.tag is None or filters.tag in task.tags)
            and (filters.due_after is None or (due is not None and due > filters.due_after))
            and (filters.due_before is None or (due is not None and due < filters.due_before))
        )

    kept = [task for task in tasks if passes(task)]
    if sort is TaskSort.DUE_SOONEST:  # soonest first, undated last; ties by task id
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(kept, key=lambda t: (t.due_at or far, str(t.task_id)))
    return sorted(kept, key=lambda t: (t.created_at, str(t.task_id)), reverse=True)


DAY = timedelta(days=1)
LISTINGS = {
    "newest": TaskFilters(),
    "pending": TaskFilters(statuses=(TaskStatus.PENDING,)),
    "completed": TaskFilters(statuses=(TaskStatus.COMPLETED,)),
    "two statuses": TaskFilters(statuses=(TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED)),
    "normal priority": TaskFilters(priority=Priority.NORMAL),
    "urgent priority": TaskFilters(priority=Priority.URGENT),
    "tag": TaskFilters(tag="tag1"),
    "due after": TaskFilters(due_after=NOW + DAY),
    "due before": TaskFilters(due_before=NOW + 3 * DAY),
    "due between": TaskFilters(due_after=NOW, due_before=NOW + 3 * DAY),
    "empty due range": TaskFilters(due_after=NOW + DAY, due_before=NOW + DAY),
    "status and tag": TaskFilters(statuses=(TaskStatus.PENDING,), tag="all"),
    "everything": TaskFilters(
        statuses=(TaskStatus.PENDING, TaskStatus.COMPLETED), priority=Priority.LOW, tag="all", due_after=NOW
    ),
}


@pytest.mark.parametrize("sort", list(TaskSort))
@pytest.mark.parametrize("filters", LISTINGS.values(), ids=LISTINGS.keys())
def test_every_filter_and_sort_pages_through_exactly_the_matching_tasks_in_order(repository, filters, sort):
    tasks = a_mixed_backlog(repository)
    want = expected(tasks, filters, sort)
    for limit in (1, 3, 100):
        seen = every_page(lambda **page: repository.list_for_user(ALICE, filters=filters, sort=sort, **page), limit)
        assert [t.task_id for t in seen] == [t.task_id for t in want], f"limit {limit}"
    assert seen == want  # whole tasks, not only their ids


def test_due_sorting_puts_undated_tasks_last(repository):
    undated, later, sooner = (a_task(now=NOW + timedelta(seconds=i)) for i in range(3))
    later.due_at, sooner.due_at = NOW + 2 * DAY, NOW + DAY
    for task in (undated, later, sooner):
        repository.add(task)
    page = repository.list_for_user(ALICE, limit=10, cursor=None, sort=TaskSort.DUE_SOONEST)
    assert [t.title for t in page.items] == [sooner.title, later.title, undated.title]
    assert page.items == [sooner, later, undated]


def cursor_of(repository, *, user=ALICE, filters=NO_FILTERS, sort=TaskSort.NEWEST_FIRST) -> str:
    cursor = repository.list_for_user(user, limit=1, cursor=None, filters=filters, sort=sort).next_cursor
    assert cursor is not None
    return cursor


def test_a_cursor_is_refused_by_any_other_listing(repository):
    for i in range(3):
        task = a_task(now=NOW + timedelta(seconds=i), due_at=NOW + timedelta(days=i), tags=["x"])
        repository.add(task)
        trashed = a_task(now=NOW + timedelta(seconds=i))
        trashed.delete(NOW)
        trashed.pull_events()
        repository.add(trashed)
    pending = TaskFilters(statuses=(TaskStatus.PENDING,))
    issued = {
        "newest": cursor_of(repository),
        "pending": cursor_of(repository, filters=pending),
        "tag": cursor_of(repository, filters=TaskFilters(tag="x")),
        "due": cursor_of(repository, sort=TaskSort.DUE_SOONEST),
        "trash": repository.list_trash(ALICE, limit=1, cursor=None).next_cursor,
    }
    listings = {
        "newest": lambda c: repository.list_for_user(ALICE, limit=1, cursor=c),
        "pending": lambda c: repository.list_for_user(ALICE, limit=1, cursor=c, filters=pending),
        "tag": lambda c: repository.list_for_user(ALICE, limit=1, cursor=c, filters=TaskFilters(tag="x")),
        "due": lambda c: repository.list_for_user(ALICE, limit=1, cursor=c, sort=TaskSort.DUE_SOONEST),
        "trash": lambda c: repository.list_trash(ALICE, limit=1, cursor=c),
        "another user": lambda c: repository.list_for_user(UserId("mallory"), limit=1, cursor=c),
        "another user's trash": lambda c: repository.list_trash(UserId("mallory"), limit=1, cursor=c),
    }
    for name, cursor in issued.items():
        listings[name](cursor)  # its own listing takes it
        for other, read in listings.items():
            if other != name:
                with pytest.raises(InvalidCursor):
                    read(cursor)


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "eyJ4Ijoi.fQ", "x" * 600])
def test_a_garbled_cursor_is_refused(repository, cursor):
    with pytest.raises(InvalidCursor):
        repository.list_for_user(ALICE, limit=1, cursor=cursor)
    with pytest.raises(InvalidCursor):
        repository.list_trash(ALICE, limit=1, cursor=cursor)


def pending_types(repository) -> list[str]:
    outbox = repository.outbox if isinstance(repository, FakeTaskRepository) else bootstrap.outbox()
    return [entry.event_type for entry in outbox.pending(limit=100)]


def test_a_new_task_is_stored_with_its_events_in_the_outbox(repository):
    task = Task.create(user_id=ALICE, title="t", now=NOW)
    repository.add(task)
    assert pending_types(repository) == ["TaskCreated"]
    assert repository.get(task.task_id).version == 1


def test_an_update_stores_the_change_and_its_events_together(repository):
    task = a_task()
    repository.add(task)
    read = repository.get(task.task_id)
    later = NOW + timedelta(hours=1)
    read.complete(later)
    repository.update(read)
    stored = repository.get(task.task_id)
    assert stored == read
    assert (stored.status, stored.updated_at, stored.completed_at, stored.version) == (
        TaskStatus.COMPLETED,
        later,
        later,
        3,
    )
    assert pending_types(repository) == ["TaskStatusChanged", "TaskCompleted"]


def test_an_edit_moves_the_task_between_the_listings_it_belongs_to(repository):
    task = a_task(due_at=NOW + 5 * DAY)
    repository.add(task)
    read = repository.get(task.task_id)
    read.update({"due_at": NOW + DAY, "tags": ["new"], "priority": Priority.HIGH}, NOW)
    read.start(NOW)
    repository.update(read)

    def listed(filters=NO_FILTERS, sort=TaskSort.NEWEST_FIRST) -> list[Task]:
        return repository.list_for_user(ALICE, limit=10, cursor=None, filters=filters, sort=sort).items

    assert listed(TaskFilters(statuses=(TaskStatus.PENDING,))) == []
    assert listed(TaskFilters(statuses=(TaskStatus.IN_PROGRESS,))) == [read]
    assert listed(TaskFilters(tag="new", priority=Priority.HIGH, due_before=NOW + 2 * DAY)) == [read]
    assert listed(sort=TaskSort.DUE_SOONEST) == [read]


def test_an_update_from_a_stale_read_is_refused_and_stores_nothing(repository):
    task = a_task()
    repository.add(task)
    first, second = repository.get(task.task_id), repository.get(task.task_id)
    first.complete(NOW)
    repository.update(first)
    second.cancel(NOW)
    with pytest.raises(ConcurrentUpdate):
        repository.update(second)
    assert repository.get(task.task_id).status is TaskStatus.COMPLETED
    assert pending_types(repository) == ["TaskStatusChanged", "TaskCompleted"]


def test_adding_another_task_with_a_taken_id_is_refused(repository):
    task = Task.create(user_id=ALICE, title="t", now=NOW)
    twin = copy.deepcopy(task)
    repository.add(task)
    with pytest.raises(ConcurrentUpdate):
        repository.add(twin)
    assert pending_types(repository) == ["TaskCreated"]


def test_of_concurrent_updates_from_the_same_read_exactly_one_is_stored(repository):
    task = a_task()
    repository.add(task)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def complete() -> None:
        read = repository.get(task.task_id)
        read.complete(NOW)
        barrier.wait()
        try:
            repository.update(read)
            outcomes.append("stored")
        except ConcurrentUpdate:
            outcomes.append("refused")

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["stored"]
    assert pending_types(repository) == ["TaskStatusChanged", "TaskCompleted"]


def trash(repository, task: Task, when: datetime = NOW) -> Task:
    read = repository.get(task.task_id)
    read.delete(when)
    repository.update(read)
    return read


def test_a_trashed_task_leaves_every_listing_and_is_listed_in_the_trash(repository):
    kept, binned = a_task(title="kept", due_at=NOW), a_task(title="binned", due_at=NOW, tags=["x"])
    for task in (kept, binned):
        repository.add(task)
    trashed = trash(repository, binned)
    with pytest.raises(TaskNotFound):
        repository.get(binned.task_id)
    assert repository.get_trashed(binned.task_id) == trashed
    with pytest.raises(TaskNotFound):
        repository.get_trashed(kept.task_id)
    for filters, sort in [*ONE_QUERY_LISTINGS.values(), (TaskFilters(tag="x"), TaskSort.NEWEST_FIRST)]:
        listed = repository.list_for_user(ALICE, limit=10, cursor=None, filters=filters, sort=sort).items
        assert binned.task_id not in [t.task_id for t in listed]
    assert repository.list_trash(ALICE, limit=10, cursor=None) == Page(items=[trashed], next_cursor=None)
    assert repository.list_trash(UserId("bob"), limit=10, cursor=None).items == []
    assert pending_types(repository) == ["TaskDeleted"]


def test_a_restored_task_is_back_exactly_as_it_was(repository):
    task = a_task(priority=Priority.HIGH, due_at=NOW + DAY, tags=["b", "a"])
    repository.add(task)
    before = {
        name: repository.list_for_user(ALICE, limit=10, cursor=None, filters=filters, sort=sort).items
        for name, (filters, sort) in ONE_QUERY_LISTINGS.items()
    }
    trash(repository, task)
    restored = repository.get_trashed(task.task_id)
    restored.restore(NOW + DAY)
    repository.update(restored)
    stored = repository.get(task.task_id)
    assert stored == restored
    assert (stored.version, stored.deleted_at, stored.updated_at) == (task.version + 2, None, None)
    # Every field as it was; the reminder's next look (internal) is never left in the past.
    assert stored == dataclasses.replace(task, version=task.version + 2, remind_at=NOW + DAY)
    for name, (filters, sort) in ONE_QUERY_LISTINGS.items():
        items = repository.list_for_user(ALICE, limit=10, cursor=None, filters=filters, sort=sort).items
        assert [(t.task_id, t.created_at, t.tags, t.due_at) for t in items] == [
            (t.task_id, t.created_at, t.tags, t.due_at) for t in before[name]
        ]
    assert repository.list_trash(ALICE, limit=10, cursor=None).items == []
    with pytest.raises(TaskNotFound):
        repository.get_trashed(task.task_id)


def test_the_trash_is_latest_deletion_first_and_pages(repository):
    tasks = [a_task(title=f"t{i}", now=NOW - timedelta(days=i)) for i in range(5)]
    for task in tasks:
        repository.add(task)
    # Deleted in another order than created: the trash follows deletion.
    for hours, index in enumerate([3, 0, 4, 1, 2]):
        trash(repository, tasks[index], NOW - timedelta(hours=10 - hours))
    seen = every_page(lambda **page: repository.list_trash(ALICE, **page), limit=2)
    assert [t.title for t in seen] == ["t2", "t1", "t4", "t0", "t3"]


def test_a_task_past_its_thirty_days_in_the_trash_is_gone_before_ttl_deletes_it(repository):
    old, recent = a_task(title="old"), a_task(title="recent")
    for task in (old, recent):
        repository.add(task)
    trash(repository, old, NOW - timedelta(days=30))
    trash(repository, recent, NOW - timedelta(days=29, hours=23))
    assert [t.title for t in repository.list_trash(ALICE, limit=10, cursor=None).items] == ["recent"]
    with pytest.raises(TaskNotFound):
        repository.get_trashed(old.task_id)
    assert repository.get_trashed(recent.task_id).title == "recent"


def a_record(key: str = "key-1", scope: str = "alice", status: int = 201, expires_at: datetime | None = None):
    return IdempotencyRecord(
        scope=scope,
        key=key,
        fingerprint=f"POST /tasks {key}",
        response=RecordedResponse(status=status, body='{"success": true, "é": "🎉"}', headers={"ETag": '"1"'}),
        expires_at=expires_at or NOW + timedelta(hours=24),  # whole seconds: DynamoDB's TTL keeps no less
    )


def test_an_idempotency_record_is_stored_with_the_new_task(repository):
    task, record = Task.create(user_id=ALICE, title="t", now=NOW), a_record()
    repository.add(task, idempotency=record)
    assert repository.find_response("alice", "key-1", now=NOW) == record
    assert repository.find_response("bob", "key-1", now=NOW) is None  # keys are per caller
    assert repository.find_response("alice", "key-2", now=NOW) is None


def test_a_second_change_with_a_stored_key_is_refused_and_stores_nothing(repository):
    first = Task.create(user_id=ALICE, title="first", now=NOW)
    repository.add(first, idempotency=a_record())
    second = Task.create(user_id=ALICE, title="second", now=NOW)
    with pytest.raises(IdempotencyKeyInUse):
        repository.add(second, idempotency=a_record(status=200))
    with pytest.raises(TaskNotFound):
        repository.get(second.task_id)
    read = repository.get(first.task_id)
    read.complete(NOW)
    with pytest.raises(IdempotencyKeyInUse):
        repository.update(read, idempotency=a_record(status=200))
    assert repository.get(first.task_id).status is TaskStatus.PENDING
    assert repository.find_response("alice", "key-1", now=NOW) == a_record()
    assert pending_types(repository) == ["TaskCreated"]


def test_an_update_stores_its_record_and_a_refused_update_stores_none(repository):
    task = a_task()
    repository.add(task)
    stale, read = repository.get(task.task_id), repository.get(task.task_id)
    read.start(NOW)
    repository.update(read, idempotency=a_record("start"))
    stale.cancel(NOW)
    with pytest.raises(ConcurrentUpdate):
        repository.update(stale, idempotency=a_record("cancel"))
    assert repository.find_response("alice", "start", now=NOW) == a_record("start")
    assert repository.find_response("alice", "cancel", now=NOW) is None


def test_a_record_alone_is_stored_once(repository):
    repository.record_response(a_record(status=200))
    assert repository.find_response("alice", "key-1", now=NOW) == a_record(status=200)
    with pytest.raises(IdempotencyKeyInUse):
        repository.record_response(a_record(status=201))
    with pytest.raises(IdempotencyKeyInUse):
        repository.add(a_task(), idempotency=a_record())


def test_an_expired_record_is_not_found_and_its_key_can_be_used_again(repository):
    repository.record_response(a_record(expires_at=NOW - timedelta(seconds=1)))
    assert repository.find_response("alice", "key-1", now=NOW) is None
    task = a_task()
    repository.add(task, idempotency=a_record())  # TTL has not deleted the old one yet
    assert repository.find_response("alice", "key-1", now=NOW) == a_record()
    assert repository.find_response("alice", "key-1", now=NOW + timedelta(hours=24)) is None


def test_of_concurrent_creates_with_the_same_key_exactly_one_is_stored(repository):
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def create(i: int) -> None:
        task = Task.create(user_id=ALICE, title=f"t{i}", now=NOW)
        barrier.wait()
        try:
            repository.add(task, idempotency=a_record(status=200 + i))
            outcomes.append("stored")
        except IdempotencyKeyInUse:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["stored"]
    [stored] = repository.list_for_user(ALICE, limit=10, cursor=None).items
    record = repository.find_response("alice", "key-1", now=NOW)
    assert record is not None
    assert record.response.status == 200 + int(stored.title[1:])
    assert pending_types(repository) == ["TaskCreated"]


def test_listing_ignores_other_item_types_that_share_the_index(aws):
    repository = bootstrap.task_repository()
    task = a_task()
    repository.add(task)
    aws.target.client("dynamodb").put_item(
        TableName=aws.resources.table_name,
        Item={
            "PK": {"S": "STATS#alice"},
            "SK": {"S": "STATS#alice"},
            "GSI1PK": {"S": "USER#alice"},
            "GSI1SK": {"S": "STATS"},
        },
    )
    assert repository.list_for_user(ALICE, limit=10, cursor=None).items == [task]
    assert repository.list_trash(ALICE, limit=10, cursor=None).items == []
