"""The TaskRepository contract, held by the in-memory fake and by DynamoDB on the local AWS alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tasks_app import bootstrap
from tasks_app.application.ports import TaskRepository
from tasks_app.domain.errors import InvalidCursor, InvalidTransition, TaskNotFound
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


def test_changing_status_returns_the_task_as_it_was_and_stores_the_change(repository):
    task = a_task()
    repository.add(task)
    later = NOW + timedelta(hours=1)
    before = repository.change_status(task.task_id, TaskStatus.COMPLETED, at=later)
    assert before == task
    stored = repository.get(task.task_id)
    assert (stored.status, stored.updated_at, stored.completed_at) == (TaskStatus.COMPLETED, later, later)
    before.complete(later)
    assert stored == before  # the domain's replay of the change matches what was written


def test_a_change_the_state_machine_forbids_is_refused_and_changes_nothing(repository):
    task = a_task()
    repository.add(task)
    repository.change_status(task.task_id, TaskStatus.COMPLETED, at=NOW)
    stored = repository.get(task.task_id)
    with pytest.raises(InvalidTransition) as raised:
        repository.change_status(task.task_id, TaskStatus.COMPLETED, at=NOW + timedelta(1))
    assert raised.value.current == "completed"
    assert repository.get(task.task_id) == stored


def test_changing_an_unknown_task_is_not_found_and_creates_nothing(repository):
    task_id = TaskId.new()
    with pytest.raises(TaskNotFound):
        repository.change_status(task_id, TaskStatus.COMPLETED, at=NOW)
    with pytest.raises(TaskNotFound):
        repository.get(task_id)


def test_of_concurrent_identical_changes_exactly_one_succeeds(repository):
    task = a_task()
    repository.add(task)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def complete() -> None:
        barrier.wait()
        try:
            repository.change_status(task.task_id, TaskStatus.COMPLETED, at=NOW)
            outcomes.append("changed")
        except InvalidTransition:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["changed"] + ["conflict"] * 7


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
