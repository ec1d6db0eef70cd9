"""Event handlers, against fakes of the read models: parsing, idempotency, statistics."""

import json
from datetime import UTC, date, datetime

import pytest

from events_app.handlers import handle_message
from events_app.messages import InvalidEventMessage, parse_message
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeReadModels

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def messages_of_a_completed_task(user: str = "alice") -> list[str]:
    task = Task.create(user_id=UserId(user), title="Ship", now=DAY)
    task.complete(DAY)
    return [json.dumps(event.to_message()) for event in task.pull_events()]


@pytest.fixture
def read_models():
    return FakeReadModels()


def apply(read_models, body):
    return handle_message(body, read_models=read_models)


def test_events_build_the_history_in_order_whatever_the_arrival_order(read_models):
    created, changed, completed = messages_of_a_completed_task()
    for body in (completed, created, changed):
        apply(read_models, body)
    task_id = json.loads(created)["aggregate_id"]
    history = read_models.history(task_id)
    assert [m["event_type"] for m in history] == ["TaskCreated", "TaskStatusChanged", "TaskCompleted"]
    assert history[0] == json.loads(created)


def test_statistics_count_by_status_and_by_day(read_models):
    for body in messages_of_a_completed_task() + messages_of_a_completed_task()[:1]:
        apply(read_models, body)
    stats = read_models.stats("alice", date(2026, 11, 25))
    assert stats.counts == {"pending": 1, "in_progress": 0, "completed": 1, "cancelled": 0}
    assert (stats.created_on_day, stats.completed_on_day) == (2, 1)
    assert read_models.stats("alice", date(2026, 11, 26)).created_on_day == 0


def test_a_redelivered_event_changes_nothing(read_models):
    messages = messages_of_a_completed_task()
    for body in messages + messages:
        apply(read_models, body)
    task_id = json.loads(messages[0])["aggregate_id"]
    assert len(read_models.history(task_id)) == 3
    assert read_models.stats("alice", DAY.date()).counts["completed"] == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event_type": "TaskExploded"}', "Unknown event type"),
        ('{"event_type": "TaskCreated", "data": []}', "`data` is not an object"),
        ('{"event_type": "TaskCreated", "data": {"user_id": "a"}}', "task_title"),
    ],
)
def test_messages_that_are_not_events_are_poison(read_models, body, reason):
    with pytest.raises(InvalidEventMessage, match=reason):
        apply(read_models, body)
    assert read_models.events == {}


def test_an_event_without_a_valid_sequence_or_timestamp_is_poison():
    message = json.loads(messages_of_a_completed_task()[0])
    for field, value in (("sequence", 0), ("sequence", "1"), ("sequence", True)):
        broken = {**message, "data": {**message["data"], field: value}}
        with pytest.raises(InvalidEventMessage, match="sequence"):
            parse_message(json.dumps(broken))
    with pytest.raises(InvalidEventMessage, match="no time zone"):
        parse_message(json.dumps({**message, "timestamp": "2026-11-25T09:00:00"}))
