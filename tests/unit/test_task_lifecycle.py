"""The Task lifecycle: every status action from every status (SPEC §1), and the trash."""

import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tasks_app.domain.errors import InvalidTransition
from tasks_app.domain.events import TaskCompleted, TaskDeleted, TaskRestored, TaskStatusChanged
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import Priority, TaskStatus, UserId


def pulled(task: Task) -> list[Any]:
    """The task's new events, typed loosely so each event's own fields can be asserted."""
    return list(task.pull_events())


NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
EARLIER_ACTION = NOW + timedelta(minutes=5)
LATER = NOW + timedelta(hours=2)
PENDING, IN_PROGRESS, COMPLETED, CANCELLED = TaskStatus

# action -> (method, the participle errors use)
ACTIONS = {
    "start": (Task.start, "started"),
    "complete": (Task.complete, "completed"),
    "cancel": (Task.cancel, "cancelled"),
    "reopen": (Task.reopen, "reopened"),
}
# SPEC §1's table, written out: (action, from) -> to. Every other pair is refused.
ALLOWED = {
    ("start", PENDING): IN_PROGRESS,
    ("complete", PENDING): COMPLETED,
    ("complete", IN_PROGRESS): COMPLETED,
    ("cancel", PENDING): CANCELLED,
    ("cancel", IN_PROGRESS): CANCELLED,
    ("reopen", COMPLETED): PENDING,
    ("reopen", CANCELLED): PENDING,
}
MATRIX = [(action, status) for action in ACTIONS for status in TaskStatus]
REFUSED = [pair for pair in MATRIX if pair not in ALLOWED]
# Where each action leads: refusing it on a task already there is a repeat, and says so.
TARGET = {"start": IN_PROGRESS, "complete": COMPLETED, "cancel": CANCELLED, "reopen": PENDING}
REPEATS = [(action, status) for action, status in REFUSED if TARGET[action] is status]
# How a new task gets to each status.
ROUTES = {PENDING: [], IN_PROGRESS: [Task.start], COMPLETED: [Task.complete], CANCELLED: [Task.cancel]}


def task_in(status: TaskStatus, *, trashed: bool = False) -> Task:
    """A task in `status` (and in the trash if asked), its events so far handed over."""
    task = Task.create(user_id=UserId("user-1"), title="Write the report", now=NOW)
    for step in ROUTES[status]:
        step(task, EARLIER_ACTION)
    if trashed:
        task.delete(EARLIER_ACTION)
    pulled(task)
    assert task.status is status
    return task


def pair_id(pair: tuple[str, TaskStatus]) -> str:
    return f"{pair[0]}-from-{pair[1].value}"


def test_the_matrix_covers_four_actions_from_four_statuses():
    assert (len(MATRIX), len(ALLOWED), len(REFUSED), len(REPEATS)) == (16, 7, 9, 4)


@pytest.mark.parametrize(("action", "status"), list(ALLOWED), ids=[pair_id(p) for p in ALLOWED])
def test_an_allowed_status_action_moves_the_task_and_records_its_events(action, status):
    task = task_in(status)
    version = task.version
    ACTIONS[action][0](task, LATER)

    target = ALLOWED[(action, status)]
    assert (task.status, task.updated_at) == (target, LATER)
    assert task.completed_at == (LATER if target is COMPLETED else None)
    events = pulled(task)
    expected_types = [TaskStatusChanged, TaskCompleted] if action == "complete" else [TaskStatusChanged]
    assert [type(event) for event in events] == expected_types
    changed = events[0]
    assert (changed.old_status, changed.new_status, changed.user_id) == (status.value, target.value, "user-1")
    assert [event.sequence for event in events] == list(range(version + 1, version + 1 + len(events)))
    assert task.version == version + len(events)
    assert {(event.aggregate_id, event.timestamp) for event in events} == {(str(task.task_id), isoformat_utc(LATER))}
    if action == "complete":
        assert (events[1].task_title, events[1].user_id) == ("Write the report", "user-1")
        assert events[0].event_id != events[1].event_id


@pytest.mark.parametrize(("action", "status"), REFUSED, ids=[pair_id(p) for p in REFUSED])
def test_a_refused_status_action_is_a_conflict_that_changes_nothing(action, status):
    task = task_in(status)
    before = copy.deepcopy(task)
    method, participle = ACTIONS[action]
    with pytest.raises(InvalidTransition) as raised:
        method(task, LATER)
    if (action, status) in REPEATS:
        assert str(raised.value) == f"Task '{task.task_id}' is already {status.value.replace('_', ' ')}."
    else:
        assert str(raised.value) == f"Task '{task.task_id}' is {status.value}, so it cannot be {participle}."
    assert (raised.value.task_id, raised.value.current, raised.value.action) == (
        str(task.task_id), status.value, participle,
    )  # fmt: skip
    assert task == before
    assert pulled(task) == []


@pytest.mark.parametrize(("action", "status"), MATRIX, ids=[pair_id(p) for p in MATRIX])
def test_a_trashed_task_refuses_every_status_action(action, status):
    task = task_in(status, trashed=True)
    before = copy.deepcopy(task)
    method, participle = ACTIONS[action]
    with pytest.raises(InvalidTransition) as raised:
        method(task, LATER)
    assert str(raised.value) == f"Task '{task.task_id}' is in the trash, so it cannot be {participle}."
    assert task == before
    assert pulled(task) == []


def test_completing_a_completed_task_is_a_conflict():
    task = task_in(COMPLETED)
    with pytest.raises(InvalidTransition, match="is already completed"):
        task.complete(LATER)
    assert task.completed_at == EARLIER_ACTION


@pytest.mark.parametrize(("action", "status"), REPEATS, ids=[pair_id(p) for p in REPEATS])
def test_asking_for_the_status_a_task_already_has_says_so_without_a_tautology(action, status):
    """Not "is completed, so it cannot be completed": the message says the task is there already."""
    task = task_in(status)
    with pytest.raises(InvalidTransition) as raised:
        ACTIONS[action][0](task, LATER)
    message = str(raised.value)
    assert message == f"Task '{task.task_id}' is already {status.value.replace('_', ' ')}.", message
    assert "cannot be" not in message
    assert raised.value.current == status.value  # what the commands' hints are built from


def test_a_reopened_task_can_be_completed_again_with_a_new_completion_time():
    task = task_in(COMPLETED)
    task.reopen(LATER)
    assert task.completed_at is None
    task.complete(LATER + timedelta(hours=1))
    assert task.completed_at == LATER + timedelta(hours=1)


def test_a_whole_life_numbers_its_events_one_by_one_and_the_version_follows():
    task = Task.create(user_id=UserId("user-1"), title="Write the report", now=NOW)
    for step in (Task.start, Task.cancel, Task.reopen, Task.complete, Task.reopen, Task.delete, Task.restore):
        step(task, LATER)
    events = pulled(task)
    assert [type(event).__name__ for event in events] == [
        "TaskCreated", "TaskStatusChanged", "TaskStatusChanged", "TaskStatusChanged", "TaskStatusChanged",
        "TaskCompleted", "TaskStatusChanged", "TaskDeleted", "TaskRestored",
    ]  # fmt: skip
    assert [event.sequence for event in events] == list(range(1, 10))
    assert task.version == 9
    assert len({event.event_id for event in events}) == 9


def test_the_stored_version_trails_the_version_until_events_are_handed_over():
    task = task_in(PENDING)
    task.complete(LATER)
    assert (task.stored_version, task.version) == (1, 3)
    pulled(task)
    assert task.stored_version == 3


# --- trash --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(TaskStatus))
def test_deleting_moves_the_task_to_the_trash_and_records_task_deleted(status):
    task = task_in(status)
    version, updated_at = task.version, task.updated_at
    task.delete(LATER)
    assert (task.deleted_at, task.in_trash, task.status) == (LATER, True, status)
    assert (task.version, task.updated_at) == (version + 1, updated_at)
    [event] = pulled(task)
    assert isinstance(event, TaskDeleted)
    assert (event.aggregate_id, event.task_title, event.user_id) == (str(task.task_id), "Write the report", "user-1")
    assert (event.sequence, event.timestamp) == (version + 1, isoformat_utc(LATER))


def test_deleting_a_task_twice_is_an_invalid_transition():
    task = task_in(PENDING, trashed=True)
    before = copy.deepcopy(task)
    with pytest.raises(InvalidTransition) as raised:
        task.delete(LATER)
    assert str(raised.value) == f"Task '{task.task_id}' is in the trash, so it cannot be deleted."
    assert task == before
    assert pulled(task) == []


def test_restoring_a_task_that_is_not_in_the_trash_is_an_invalid_transition():
    task = task_in(PENDING)
    before = copy.deepcopy(task)
    with pytest.raises(InvalidTransition) as raised:
        task.restore(LATER)
    assert str(raised.value) == f"Task '{task.task_id}' is not in the trash, so it cannot be restored."
    assert task == before
    assert pulled(task) == []


@pytest.mark.parametrize("status", list(TaskStatus))
def test_restoring_brings_the_task_back_exactly_as_it_was_two_versions_later(status):
    task = Task.create(
        user_id=UserId("user-1"),
        title="Write the report",
        description="Numbers for Q4",
        priority=Priority.URGENT,
        due_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
        tags=["home", "q4"],
        now=NOW,
    )
    task.update({"title": "Send the report"}, EARLIER_ACTION)
    for step in ROUTES[status]:
        step(task, EARLIER_ACTION)
    pulled(task)
    before = copy.deepcopy(task)

    task.delete(LATER)
    task.restore(LATER + timedelta(days=3))

    assert task == dataclasses.replace(before, version=before.version + 2)
    assert not task.in_trash
    deleted, restored = pulled(task)
    assert (type(deleted), type(restored)) == (TaskDeleted, TaskRestored)
    assert [deleted.sequence, restored.sequence] == [before.version + 1, before.version + 2]
    assert (restored.task_title, restored.user_id) == ("Send the report", "user-1")
    assert restored.timestamp == isoformat_utc(LATER + timedelta(days=3))


def test_a_restored_task_takes_status_actions_again():
    task = task_in(PENDING, trashed=True)
    task.restore(LATER)
    task.start(LATER)
    assert task.status is IN_PROGRESS


def test_a_trashed_task_cannot_be_edited_so_that_restore_brings_it_back_as_it_was():
    task = task_in(PENDING, trashed=True)
    before = copy.deepcopy(task)
    with pytest.raises(InvalidTransition, match="is in the trash, so it cannot be updated"):
        task.update({"title": "Edited in the trash"}, LATER)
    assert task == before
    assert pulled(task) == []
