"""The read models' contract, held by the fakes and by DynamoDB alike: idempotent, ordered, counted once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest

from events_app.events import parse_message
from tasks_app import bootstrap
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeHistoryStore, FakeStatsStore

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request):
    if request.param == "fake":
        return FakeHistoryStore(), FakeStatsStore()
    request.getfixturevalue("aws")
    return bootstrap.history_store(), bootstrap.stats_store()


def events_of(user: str = "alice", *, complete: bool = True, title: str = "Ship"):
    task = Task.create(user_id=UserId(user), title=title, now=DAY)
    if complete:
        task.complete(DAY)
    return [parse_message(json.dumps(event.to_message())) for event in task.pull_events()]


def test_history_is_in_sequence_order_and_keeps_the_messages(stores):
    history, _ = stores
    events = events_of(title="Ünïcødé ✓")
    for event in reversed(events):
        assert history.record(event) is True
    assert history.for_task(events[0].aggregate_id) == [event.message for event in events]


def test_recording_an_event_again_changes_nothing(stores):
    history, _ = stores
    [created] = events_of(complete=False)
    assert history.record(created) is True
    assert history.record(created) is False
    assert len(history.for_task(created.aggregate_id)) == 1


def test_a_task_without_events_has_an_empty_history(stores):
    assert stores[0].for_task("task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21") == []


def test_counts_follow_the_events(stores):
    _, stats = stores
    for event in events_of() + events_of() + events_of(complete=False) + events_of("bob"):
        stats.apply(event)
    alice = stats.for_user("alice", DAY.date())
    assert alice.counts == {"pending": 1, "in_progress": 0, "completed": 2, "cancelled": 0}
    assert (alice.created_on_day, alice.completed_on_day) == (3, 2)
    assert stats.for_user("alice", date(2026, 11, 24)).created_on_day == 0
    assert stats.for_user("bob", DAY.date()).counts["completed"] == 1


def test_an_event_is_counted_once_however_often_it_arrives(stores):
    _, stats = stores
    events = events_of()
    assert [stats.apply(event) for event in events] == [True, True, True]
    assert [stats.apply(event) for event in events] == [False, False, False]
    assert stats.for_user("alice", DAY.date()).counts["completed"] == 1


def test_an_unknown_user_has_zero_everywhere(stores):
    nobody = stores[1].for_user("nobody", DAY.date())
    assert nobody.counts == {"pending": 0, "in_progress": 0, "completed": 0, "cancelled": 0}
    assert (nobody.created_on_day, nobody.completed_on_day) == (0, 0)


def test_concurrent_deliveries_of_one_event_count_it_once(stores):
    _, stats = stores
    [created] = events_of(complete=False)
    outcomes: list[bool] = []
    barrier = threading.Barrier(6)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(stats.apply(created))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert stats.for_user("alice", DAY.date()).counts["pending"] == 1
