"""Application services, run against fakes of their ports."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tasks_app.application import idempotency, services
from tasks_app.application.access import AccessDenied, Caller
from tasks_app.application.idempotency import IdempotencyClaim, IdempotencyKeyReused, RecordedResponse
from tasks_app.application.ports import ConcurrentUpdate
from tasks_app.domain.errors import InvalidTransition, InvalidValue, TaskNotFound, VersionMismatch
from tasks_app.domain.values import TaskStatus, UserId
from tests.fakes import FakeTaskRepository

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def repository():
    return FakeTaskRepository()


def create(repository, title="Task", user_id="alice", now=NOW):
    return services.task_create(user_id=user_id, title=title, repository=repository, now=now)


def complete(repository, task, now=NOW, **options):
    return services.task_act(task_id=str(task.task_id), action="complete", repository=repository, now=now, **options)


def outbox_types(repository):
    return [json.loads(e.message)["event_type"] for e in repository.outbox.pending(limit=100)]


def test_creating_stores_the_task_with_task_created_in_the_outbox(repository):
    task = create(repository, title="  Buy milk ")
    assert repository.get(task.task_id) == task
    assert task.title == "Buy milk"
    assert outbox_types(repository) == ["TaskCreated"]


def test_an_invalid_task_is_neither_stored_nor_announced(repository):
    with pytest.raises(InvalidValue):
        create(repository, title=" ")
    assert repository.outbox.entries == []


def test_completing_stores_status_changed_then_completed_with_the_change(repository):
    task = create(repository)
    done = complete(repository, task, now=NOW + timedelta(1))
    assert done.status is TaskStatus.COMPLETED
    assert done.completed_at == NOW + timedelta(1)
    assert repository.get(task.task_id) == done
    assert outbox_types(repository) == ["TaskCreated", "TaskStatusChanged", "TaskCompleted"]
    assert [e.sequence for e in repository.outbox.pending(limit=10)] == [1, 2, 3]


def test_completing_twice_is_a_conflict_that_adds_no_events(repository):
    task = create(repository)
    complete(repository, task)
    with pytest.raises(InvalidTransition):
        complete(repository, task)
    assert len(repository.outbox.entries) == 3


class RacingRepository(FakeTaskRepository):
    """Another request completes the task between this one's read and its write, `races` times."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def update(self, task, *, idempotency=None):
        if self.races:
            self.races -= 1
            rival = self.get(task.task_id)
            rival.start(NOW)
            super().update(rival)
        super().update(task, idempotency=idempotency)


def test_a_change_that_lost_a_race_is_retried_on_the_new_state():
    repository = RacingRepository(races=1)
    task = create(repository)
    done = complete(repository, task)
    assert done.status is TaskStatus.COMPLETED
    entries = repository.outbox.pending(limit=10)
    assert [e.sequence for e in entries] == [1, 2, 3, 4]
    assert outbox_types(repository) == ["TaskCreated", "TaskStatusChanged", "TaskStatusChanged", "TaskCompleted"]
    assert json.loads(entries[2].message)["data"]["old_status"] == "in_progress"  # the rival's state


class AlwaysLosingRepository(FakeTaskRepository):
    def update(self, task, *, idempotency=None):
        raise ConcurrentUpdate(str(task.task_id))


def test_endless_races_end_in_a_concurrent_update_error():
    repository = AlwaysLosingRepository()
    task = create(repository)
    with pytest.raises(ConcurrentUpdate):
        complete(repository, task)
    assert outbox_types(repository) == ["TaskCreated"]  # only the create's


@pytest.mark.parametrize("task_id", ["task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21", "nonsense", "TASK#x" * 500])
def test_unknown_or_impossible_ids_are_not_found(repository, task_id):
    with pytest.raises(TaskNotFound):
        services.task_get(task_id=task_id, repository=repository)
    with pytest.raises(TaskNotFound):
        services.task_act(task_id=task_id, action="complete", repository=repository, now=NOW)


def test_listing_pages_through_a_users_tasks_newest_first(repository):
    created = [create(repository, title=f"t{i}", now=NOW + timedelta(minutes=i)) for i in range(5)]
    create(repository, user_id="bob")
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


def test_an_if_match_naming_another_version_changes_nothing_and_says_the_current_one(repository):
    task = create(repository)
    with pytest.raises(VersionMismatch) as raised:
        complete(repository, task, expected_versions=frozenset({7}))
    assert raised.value.current_version == 1
    assert repository.get(task.task_id).status is TaskStatus.PENDING
    assert complete(repository, task, expected_versions=frozenset({1})).version == 3


def test_a_patch_to_the_current_values_stores_nothing_and_keeps_the_version(repository):
    task = create(repository, title="Same")
    same = services.task_update(task_id=str(task.task_id), changes={"title": "Same"}, repository=repository, now=NOW)
    assert same.version == 1
    assert outbox_types(repository) == ["TaskCreated"]


def test_an_admin_may_read_but_not_change_someone_elses_task(repository):
    task = create(repository, user_id="bob")
    admin = Caller(user_id=UserId("root"), is_admin=True)
    assert services.task_get(task_id=str(task.task_id), caller=admin, repository=repository) == task
    with pytest.raises(AccessDenied):
        complete(repository, task, caller=admin)
    stranger = Caller(user_id=UserId("eve"))
    with pytest.raises(TaskNotFound):
        complete(repository, task, caller=stranger)


def test_a_deleted_task_is_gone_until_restored_exactly_as_it_was(repository):
    task = create(repository)
    ids = {"task_id": str(task.task_id), "repository": repository, "now": NOW}
    services.task_delete(**ids)
    with pytest.raises(TaskNotFound):
        services.task_get(task_id=str(task.task_id), repository=repository)
    assert [t.task_id for t in services.task_trash(user_id="alice", repository=repository).items] == [task.task_id]
    restored = services.task_restore(**ids)
    assert (restored.title, restored.status, restored.version) == (task.title, task.status, 3)
    assert outbox_types(repository) == ["TaskCreated", "TaskDeleted", "TaskRestored"]
    with pytest.raises(TaskNotFound):  # no longer in the trash
        services.task_restore(**ids)


def _claim(key="k-1", fingerprint="request-1"):
    return IdempotencyClaim(
        scope="alice",
        key=key,
        fingerprint=fingerprint,
        respond=lambda task: RecordedResponse(status=201, body=str(task.task_id), headers={}),
    )


def test_an_idempotency_key_is_stored_with_the_change_and_replays_its_first_response(repository):
    task = services.task_create(user_id="alice", title="Once", repository=repository, now=NOW, idempotency=_claim())
    first = idempotency.replay(claim=_claim(), store=repository, now=NOW + timedelta(hours=23))
    assert first == RecordedResponse(status=201, body=str(task.task_id), headers={})
    with pytest.raises(IdempotencyKeyReused):
        idempotency.replay(claim=_claim(fingerprint="another request"), store=repository, now=NOW)
    assert idempotency.replay(claim=_claim(), store=repository, now=NOW + timedelta(hours=25)) is None  # expired
