"""The read models' contract, held by the fake and by DynamoDB alike: ordered, applied once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest

from events_app import bootstrap as events_wiring
from events_app.messages import parse_message
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeReadModels

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "dynamodb"])
def read_models(request):
    if request.param == "fake":
        return FakeReadModels()
    request.getfixturevalue("aws")
    return events_wiring.read_models()


def events_of(user: str = "alice", *, complete: bool = True, title: str = "Ship"):
    task = Task.create(user_id=UserId(user), title=title, now=DAY)
    if complete:
        task.complete(DAY)
    return [parse_message(json.dumps(event.to_message())) for event in task.pull_events()]


def test_history_is_in_sequence_order_and_keeps_the_messages(read_models):
    events = events_of(title="Ünïcødé ✓")
    for event in reversed(events):
        assert read_models.apply(event) is True
    assert read_models.history(events[0].aggregate_id) == [event.message for event in events]


def test_applying_an_event_again_changes_nothing(read_models):
    events = events_of()
    assert [read_models.apply(event) for event in events] == [True, True, True]
    assert [read_models.apply(event) for event in events] == [False, False, False]
    assert len(read_models.history(events[0].aggregate_id)) == 3
    assert read_models.stats("alice", DAY.date()).counts["completed"] == 1


def test_a_task_without_events_has_an_empty_history(read_models):
    assert read_models.history("task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21") == []


def test_counts_follow_the_events(read_models):
    for event in events_of() + events_of() + events_of(complete=False) + events_of("bob"):
        read_models.apply(event)
    alice = read_models.stats("alice", DAY.date())
    assert alice.counts == {"pending": 1, "in_progress": 0, "completed": 2, "cancelled": 0}
    assert (alice.created_on_day, alice.completed_on_day) == (3, 2)
    assert read_models.stats("alice", date(2026, 11, 24)).created_on_day == 0
    assert read_models.stats("bob", DAY.date()).counts["completed"] == 1


def test_an_unknown_user_has_zero_everywhere(read_models):
    nobody = read_models.stats("nobody", DAY.date())
    assert nobody.counts == {"pending": 0, "in_progress": 0, "completed": 0, "cancelled": 0}
    assert (nobody.created_on_day, nobody.completed_on_day) == (0, 0)


def test_concurrent_deliveries_of_one_event_apply_it_once(read_models):
    [created] = events_of(complete=False)
    outcomes: list[bool] = []
    barrier = threading.Barrier(6)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(read_models.apply(created))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert read_models.stats("alice", DAY.date()).counts["pending"] == 1
