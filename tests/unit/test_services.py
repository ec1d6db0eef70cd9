"""Application services, run against fakes of their ports."""

from datetime import UTC, datetime, timedelta

import pytest

from tasks_app.application import services
from tasks_app.domain.errors import InvalidTransition, InvalidValue, TaskNotFound
from tasks_app.domain.values import TaskStatus
from tests.fakes import FakeTaskRepository, RecordingPublisher

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def repository():
    return FakeTaskRepository()


@pytest.fixture
def publisher():
    return RecordingPublisher()


def create(repository, publisher, title="Task", user_id="alice", now=NOW):
    return services.task_create(user_id=user_id, title=title, repository=repository, publisher=publisher, now=now)


def test_creating_stores_the_task_and_publishes_task_created(repository, publisher):
    task = create(repository, publisher, title="  Buy milk ")
    assert repository.get(task.task_id) == task
    assert task.title == "Buy milk"
    assert [e.event_type for e in publisher.published] == ["TaskCreated"]


def test_an_invalid_task_is_neither_stored_nor_announced(repository, publisher):
    with pytest.raises(InvalidValue):
        create(repository, publisher, title=" ")
    assert publisher.published == []
    assert services.task_list(user_id="alice", repository=repository).items == []


def test_completing_publishes_status_changed_then_completed(repository, publisher):
    task = create(repository, publisher)
    publisher.published.clear()
    done = services.task_complete(
        task_id=str(task.task_id), repository=repository, publisher=publisher, now=NOW + timedelta(1)
    )
    assert done.status is TaskStatus.COMPLETED
    assert done.completed_at == NOW + timedelta(1)
    assert repository.get(task.task_id) == done
    assert [(e.event_type, getattr(e, "old_status", None)) for e in publisher.published] == [
        ("TaskStatusChanged", "pending"),
        ("TaskCompleted", None),
    ]


def test_completing_twice_is_a_conflict_that_publishes_nothing_more(repository, publisher):
    task = create(repository, publisher)
    services.task_complete(task_id=str(task.task_id), repository=repository, publisher=publisher, now=NOW)
    published = len(publisher.published)
    with pytest.raises(InvalidTransition):
        services.task_complete(task_id=str(task.task_id), repository=repository, publisher=publisher, now=NOW)
    assert len(publisher.published) == published


@pytest.mark.parametrize("task_id", ["task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21", "nonsense", "TASK#x" * 500])
def test_unknown_or_impossible_ids_are_not_found(repository, publisher, task_id):
    with pytest.raises(TaskNotFound):
        services.task_get(task_id=task_id, repository=repository)
    with pytest.raises(TaskNotFound):
        services.task_complete(task_id=task_id, repository=repository, publisher=publisher, now=NOW)


def test_listing_pages_through_a_users_tasks_newest_first(repository, publisher):
    created = [create(repository, publisher, title=f"t{i}", now=NOW + timedelta(minutes=i)) for i in range(5)]
    create(repository, publisher, user_id="bob")
    first = services.task_list(user_id="alice", limit=2, repository=repository)
    second = services.task_list(user_id="alice", limit=2, cursor=first.next_cursor, repository=repository)
    third = services.task_list(user_id="alice", limit=2, cursor=second.next_cursor, repository=repository)
    titles = [t.title for page in (first, second, third) for t in page.items]
    assert titles == [t.title for t in reversed(created)]
    assert third.next_cursor is None


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
def test_page_sizes_outside_1_to_100_are_refused(repository, limit):
    with pytest.raises(InvalidValue) as raised:
        services.task_list(user_id="alice", limit=limit, repository=repository)
    assert raised.value.field == "limit"


def test_a_publishing_failure_keeps_the_task_and_logs_the_lost_events(repository, caplog):
    failing = RecordingPublisher(fail_with="SNS is down")
    task = create(repository, failing)
    assert repository.get(task.task_id) == task
    [record] = [r for r in caplog.records if r.message == "Events were not published"]
    assert record.levelname == "ERROR"
    assert str(task.task_id) in record.unpublished_events[0]
    assert '"event_type": "TaskCreated"' in record.unpublished_events[0]
