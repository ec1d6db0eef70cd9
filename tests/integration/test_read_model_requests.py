"""DynamoDB requests per applied event and per read, counted by the local AWS's recorder."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from events_app import bootstrap as events_wiring
from events_app.messages import ReceivedEvent, parse_message
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
READ_THEN_WRITE = Counter({"GetItem": 1, "TransactWriteItems": 1})
WRITE_ONLY = Counter({"TransactWriteItems": 1})


def dynamodb_requests(aws, apply) -> Counter[str]:
    with aws.server.recording() as calls:
        apply()
    return Counter(call.operation for call in calls if call.service == "dynamodb")


def lifecycle() -> list[ReceivedEvent]:
    task = Task.create(user_id=UserId("alice"), title="Ship", now=DAY)
    task.start(DAY)
    task.complete(DAY)
    task.update({"title": "Shipped"}, DAY)
    task.delete(DAY)
    task.restore(DAY)
    return [parse_message(json.dumps(event.to_message())) for event in task.pull_events()]


@pytest.fixture
def read_models(aws):
    return events_wiring.read_models()


def test_events_that_set_a_projection_read_it_then_write_once_and_the_others_only_write(aws, read_models):
    expected = {
        "TaskCreated": READ_THEN_WRITE,
        "TaskStatusChanged": READ_THEN_WRITE,
        "TaskCompleted": WRITE_ONLY,
        "TaskUpdated": WRITE_ONLY,
        "TaskDeleted": READ_THEN_WRITE,
        "TaskRestored": READ_THEN_WRITE,
    }
    for event in lifecycle():
        assert dynamodb_requests(aws, lambda event=event: read_models.apply(event)) == expected[event.event_type], (
            event.event_type
        )


def test_a_redelivered_event_costs_the_same_requests_and_changes_nothing(aws, read_models):
    created = lifecycle()[0]
    read_models.apply(created)
    outcome: list[bool] = []
    assert dynamodb_requests(aws, lambda: outcome.append(read_models.apply(created))) == READ_THEN_WRITE
    assert outcome == [False]


def test_history_is_one_query_and_stats_one_batch_get(aws, read_models):
    task_id = lifecycle()[0].aggregate_id
    assert dynamodb_requests(aws, lambda: read_models.history(task_id)) == Counter({"Query": 1})
    assert dynamodb_requests(aws, lambda: read_models.stats("alice", DAY.date())) == Counter({"BatchGetItem": 1})
