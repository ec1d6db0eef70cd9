"""The Task entity: invariants, the status state machine, and the events it records."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasks_app.domain.errors import InvalidTransition, InvalidValue
from tasks_app.domain.events import TaskCompleted, TaskCreated, TaskStatusChanged
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import TaskId, TaskStatus, UserId

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)


def new_task(title: str = "Write the report", description: str = "") -> Task:
    return Task.create(user_id=UserId("user-1"), title=title, description=description, now=NOW)


def test_a_new_task_is_pending_with_a_fresh_id_and_no_change_times():
    task = new_task()
    assert task.status is TaskStatus.PENDING
    assert TaskId.is_valid(str(task.task_id))
    assert (task.created_at, task.updated_at, task.completed_at) == (NOW, None, None)
    assert new_task().task_id != task.task_id


def test_creating_a_task_records_task_created_with_its_title_and_owner():
    task = new_task("  Padded title  ")
    [event] = task.pull_events()
    assert isinstance(event, TaskCreated)
    assert (event.aggregate_id, event.task_title, event.user_id) == (str(task.task_id), "Padded title", "user-1")
    assert event.timestamp == "2026-11-25T09:30:00.000000Z"
    assert task.pull_events() == []


@pytest.mark.parametrize("title", ["", "   ", "\t\n"])
def test_a_blank_title_is_refused(title):
    with pytest.raises(InvalidValue) as raised:
        new_task(title)
    assert raised.value.field == "title"


def test_titles_are_trimmed_then_limited_to_200_characters():
    assert new_task("  " + "x" * 200 + "  ").title == "x" * 200
    with pytest.raises(InvalidValue, match="at most 200"):
        new_task("x" * 201)


def test_descriptions_are_limited_to_1000_characters_and_default_to_empty():
    assert new_task().description == ""
    assert len(new_task(description="d" * 1000).description) == 1000
    with pytest.raises(InvalidValue) as raised:
        new_task(description="d" * 1001)
    assert raised.value.field == "description"


def test_length_counts_characters_not_bytes():
    assert new_task("🎉" * 200).title == "🎉" * 200


def test_text_that_cannot_be_stored_as_utf8_is_refused():
    with pytest.raises(InvalidValue, match="not valid Unicode"):
        new_task("half a pair \ud83c")


def test_timestamps_must_be_timezone_aware():
    with pytest.raises(InvalidValue, match="timezone-aware"):
        Task.create(user_id=UserId("u"), title="t", now=datetime(2026, 1, 1))


def test_completing_records_status_changed_then_completed():
    task = new_task()
    task.pull_events()
    task.complete(LATER)
    assert (task.status, task.updated_at, task.completed_at) == (TaskStatus.COMPLETED, LATER, LATER)
    changed, completed = task.pull_events()
    assert isinstance(changed, TaskStatusChanged)
    assert (changed.old_status, changed.new_status, changed.user_id) == ("pending", "completed", "user-1")
    assert isinstance(completed, TaskCompleted)
    assert (completed.task_title, completed.user_id) == ("Write the report", "user-1")
    assert changed.event_id != completed.event_id


def test_an_in_progress_task_can_be_completed():
    task = new_task()
    task.start(NOW)
    task.complete(LATER)
    assert [type(e).__name__ for e in task.pull_events()] == [
        "TaskCreated", "TaskStatusChanged", "TaskStatusChanged", "TaskCompleted",
    ]  # fmt: skip


def test_completing_a_completed_task_is_a_conflict_and_records_nothing():
    task = new_task()
    task.complete(NOW)
    task.pull_events()
    with pytest.raises(InvalidTransition) as raised:
        task.complete(LATER)
    assert (raised.value.current, raised.value.requested) == ("completed", "completed")
    assert task.completed_at == NOW
    assert task.pull_events() == []


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (TaskStatus.PENDING, TaskStatus.IN_PROGRESS, True),
        (TaskStatus.PENDING, TaskStatus.COMPLETED, True),
        (TaskStatus.PENDING, TaskStatus.CANCELLED, True),
        (TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED, True),
        (TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED, True),
        (TaskStatus.IN_PROGRESS, TaskStatus.PENDING, False),
        (TaskStatus.IN_PROGRESS, TaskStatus.IN_PROGRESS, False),
        (TaskStatus.COMPLETED, TaskStatus.CANCELLED, False),
        (TaskStatus.COMPLETED, TaskStatus.IN_PROGRESS, False),
        (TaskStatus.CANCELLED, TaskStatus.COMPLETED, False),
        (TaskStatus.CANCELLED, TaskStatus.PENDING, False),
    ],
)
def test_the_state_machine_allows_only_the_spec_transitions(start, target, allowed):
    assert start.can_become(target) is allowed


def test_cancelling_a_completed_task_is_refused():
    task = new_task()
    task.complete(NOW)
    with pytest.raises(InvalidTransition):
        task.cancel(LATER)


def test_event_messages_follow_the_spec_format():
    task = new_task()
    [created] = task.pull_events()
    message = created.to_message()
    assert message == {
        "event_type": "TaskCreated",
        "event_id": created.event_id,
        "aggregate_id": str(task.task_id),
        "timestamp": "2026-11-25T09:30:00.000000Z",
        "data": {
            "event_id": created.event_id,
            "aggregate_id": str(task.task_id),
            "timestamp": "2026-11-25T09:30:00.000000Z",
            "sequence": 1,
            "task_title": "Write the report",
            "user_id": "user-1",
        },
    }
    assert "properties" not in message  # kombu would take such a body for its own envelope


def test_events_are_numbered_in_order_across_changes():
    task = new_task()
    task.start(NOW)
    task.complete(LATER)
    assert [e.sequence for e in task.pull_events()] == [1, 2, 3, 4]
    assert task.version == 4


def test_the_stored_version_trails_the_version_until_events_are_handed_over():
    task = new_task()
    task.pull_events()
    task.complete(LATER)
    assert (task.stored_version, task.version) == (1, 3)
    task.pull_events()
    assert task.stored_version == 3


def test_timestamps_are_written_in_utc_whatever_their_zone():
    paris = timezone(timedelta(hours=1))
    assert isoformat_utc(datetime(2026, 1, 1, 10, 0, tzinfo=paris)) == "2026-01-01T09:00:00.000000Z"
