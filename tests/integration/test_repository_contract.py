"""The TaskRepository contract, held by the in-memory fake and by DynamoDB on the local AWS alike."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tasks_app import bootstrap
from tasks_app.application.ports import ConcurrentUpdate, TaskRepository
from tasks_app.domain.errors import InvalidCursor, TaskNotFound
from tasks_app.domain.task import Task
from tasks_app.domain.values import TaskId, TaskStatus, UserId
from tests.fakes import FakeTaskRepository

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "dynamodb"])
def repository(request) -> TaskRepository:
    if request.param == "fake":
        return FakeTaskRepository()
    request.getfixturevalue("aws")
    return bootstrap.task_repository()


def a_task(user: str = "alice", title: str = "Task", now: datetime = NOW, description: str = "") -> Task:
    task = Task.create(user_id=UserId(user), title=title, description=description, now=now)
    task.pull_events()
    return task


def test_a_stored_task_reads_back_equal(repository):
    task = a_task(title='Ünïcødé 🎉 "quotes" <b>', description="line 1\nline 2\ttab")
    repository.add(task)
    assert repository.get(task.task_id) == task


def test_an_unknown_id_is_not_found(repository):
    with pytest.raises(TaskNotFound):
        repository.get(TaskId.new())


def test_listing_is_newest_first_and_only_the_users_own(repository):
    tasks = [a_task(title=f"t{i}", now=NOW + timedelta(seconds=i)) for i in range(3)]
    for task in [*tasks, a_task(user="bob")]:
        repository.add(task)
    page = repository.list_for_user(UserId("alice"), limit=10, cursor=None)
    assert page.items == list(reversed(tasks))
    assert page.next_cursor is None


def test_tasks_created_in_the_same_microsecond_are_all_listed_once(repository):
    tasks = [a_task(title=f"t{i}") for i in range(5)]
    for task in tasks:
        repository.add(task)
    seen = []
    cursor = None
    while True:
        page = repository.list_for_user(UserId("alice"), limit=2, cursor=cursor)
        seen += [t.task_id for t in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert sorted(map(str, seen)) == sorted(str(t.task_id) for t in tasks)


def test_a_full_last_page_says_there_is_no_next_page(repository):
    for i in range(4):
        repository.add(a_task(now=NOW + timedelta(seconds=i)))
    first = repository.list_for_user(UserId("alice"), limit=2, cursor=None)
    second = repository.list_for_user(UserId("alice"), limit=2, cursor=first.next_cursor)
    assert len(second.items) == 2
    assert second.next_cursor is None


def test_a_user_without_tasks_gets_an_empty_page(repository):
    assert repository.list_for_user(UserId("nobody"), limit=5, cursor=None).items == []


def test_a_cursor_issued_for_another_user_is_refused(repository):
    for i in range(3):
        repository.add(a_task(now=NOW + timedelta(seconds=i)))
    cursor = repository.list_for_user(UserId("alice"), limit=1, cursor=None).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        repository.list_for_user(UserId("mallory"), limit=1, cursor=cursor)


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "eyJ4Ijoi.fQ"])
def test_a_garbled_cursor_is_refused(repository, cursor):
    with pytest.raises(InvalidCursor):
        repository.list_for_user(UserId("alice"), limit=1, cursor=cursor)


def pending_types(repository) -> list[str]:
    outbox = repository.outbox if isinstance(repository, FakeTaskRepository) else bootstrap.outbox()
    return [entry.event_type for entry in outbox.pending(limit=100)]


def test_a_new_task_is_stored_with_its_events_in_the_outbox(repository):
    task = Task.create(user_id=UserId("alice"), title="t", now=NOW)
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


def test_adding_a_task_twice_is_refused(repository):
    task = Task.create(user_id=UserId("alice"), title="t", now=NOW)
    twin = copy.deepcopy(task)
    repository.add(task)
    with pytest.raises(ConcurrentUpdate):
        repository.add(twin)


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
    assert repository.list_for_user(UserId("alice"), limit=10, cursor=None).items == [task]
