"""The read models' contract, held by the fake and by DynamoDB alike: ordered, applied once, exact
statistics whatever the order and number of deliveries (SPEC §2 stats, §4 at-least-once)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from events_app import bootstrap as events_wiring
from events_app.messages import ReceivedEvent, parse_message
from events_app.ports import ReadModels, UserStats, no_counts
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeReadModels

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture(params=["fake", "dynamodb"])
def read_models(request):
    if request.param == "fake":
        return FakeReadModels()
    request.getfixturevalue("aws")
    return events_wiring.read_models()


def parsed(task: Task) -> list[ReceivedEvent]:
    return [parse_message(json.dumps(event.to_message())) for event in task.pull_events()]


def events_of(user: str = "alice", *, complete: bool = True, title: str = "Ship") -> list[ReceivedEvent]:
    task = Task.create(user_id=UserId(user), title=title, now=DAY)
    if complete:
        task.complete(DAY)
    return parsed(task)


def lifecycle(user: str = "alice", *, trash_at_the_end: bool = True) -> list[ReceivedEvent]:
    """Create, start, complete (the next day), reopen, update, delete, restore, cancel, delete."""
    task = Task.create(user_id=UserId(user), title="Ship", now=DAY)
    task.start(DAY)
    task.complete(NEXT_DAY)
    task.reopen(NEXT_DAY)
    task.update({"title": "Ship it"}, NEXT_DAY)
    task.delete(NEXT_DAY)
    task.restore(NEXT_DAY)
    task.cancel(NEXT_DAY)
    if trash_at_the_end:
        task.delete(NEXT_DAY)
    return parsed(task)


def counts(**nonzero: int) -> dict[str, int]:
    return {**no_counts(), **nonzero}


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
    assert alice.counts == counts(pending=1, completed=2)
    assert (alice.created_on_day, alice.completed_on_day) == (3, 2)
    assert read_models.stats("alice", date(2026, 11, 24)).created_on_day == 0
    assert read_models.stats("bob", DAY.date()).counts["completed"] == 1


def test_an_unknown_user_has_zero_everywhere(read_models):
    nobody = read_models.stats("nobody", DAY.date())
    assert nobody.counts == counts()
    assert (nobody.created_on_day, nobody.completed_on_day) == (0, 0)


def shuffled(events: list[ReceivedEvent], seed: int) -> list[ReceivedEvent]:
    """`events` in an order fixed by `seed`, so that a failing order replays."""
    return random.Random(seed).sample(events, len(events))  # noqa: S311 - a reproducible order, not secrecy


ORDERS: dict[str, Callable[[list[ReceivedEvent]], list[ReceivedEvent]]] = {
    "in order": list,
    "reversed": lambda events: events[::-1],
    "shuffled": lambda events: shuffled(events, 11),
    "shuffled, each twice": lambda events: shuffled(events * 2, 12),
}


@pytest.mark.parametrize("order", ORDERS)
def test_a_lifecycle_ends_exact_in_any_order_and_with_redeliveries(read_models, order):
    kept, trashed = lifecycle(trash_at_the_end=False), lifecycle()
    outcomes = [read_models.apply(event) for event in ORDERS[order](kept) + ORDERS[order](trashed)]
    assert outcomes.count(True) == len(kept) + len(trashed), "each event is applied once, however often delivered"
    for events in (kept, trashed):
        assert read_models.history(events[0].aggregate_id) == [event.message for event in events]
    # Both created on DAY; both completed on NEXT_DAY and reopened later: the completions happened.
    assert read_models.stats("alice", DAY.date()) == UserStats("alice", DAY.date(), counts(cancelled=1), 2, 0)
    assert read_models.stats("alice", NEXT_DAY.date()) == UserStats("alice", NEXT_DAY.date(), counts(cancelled=1), 0, 2)


def test_a_trashed_task_is_not_counted_until_restored(read_models):
    task = Task.create(user_id=UserId("alice"), title="Ship", now=DAY)
    task.start(DAY)
    task.delete(DAY)
    created, started, deleted = parsed(task)
    task.restore(DAY)
    [restored] = parsed(task)
    for event in (deleted, started, created):
        read_models.apply(event)
    assert read_models.stats("alice", DAY.date()).counts == counts()
    read_models.apply(restored)
    assert read_models.stats("alice", DAY.date()).counts == counts(in_progress=1)


def test_two_tasks_of_a_user_interleaved_count_exactly(read_models):
    first = Task.create(user_id=UserId("alice"), title="First", now=DAY)
    second = Task.create(user_id=UserId("alice"), title="Second", now=DAY)
    first.start(DAY)
    second.complete(DAY)
    first.cancel(DAY)
    second.reopen(DAY)
    second.start(DAY)
    events = parsed(first) + parsed(second) + events_of("bob")
    for event in shuffled(events * 2, 5):
        read_models.apply(event)
    assert read_models.stats("alice", DAY.date()) == UserStats(
        "alice", DAY.date(), counts(in_progress=1, cancelled=1), created_on_day=2, completed_on_day=1
    )
    assert read_models.stats("bob", DAY.date()).counts == counts(completed=1)


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


def test_events_applied_concurrently_in_any_order_land_exact(read_models: ReadModels):
    """Eight consumers at once, as a worker pool would be: every task's events, each twice,
    race for the same projections and the same user's counters."""
    tasks = [lifecycle(), lifecycle(trash_at_the_end=False), events_of(), events_of(complete=False)]
    deliveries = shuffled([event for events in tasks for event in events] * 2, 3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(read_models.apply, deliveries))
    assert outcomes.count(True) == len(deliveries) // 2
    for events in tasks:
        assert read_models.history(events[0].aggregate_id) == [event.message for event in events]
    assert read_models.stats("alice", DAY.date()) == UserStats(
        "alice", DAY.date(), counts(pending=1, completed=1, cancelled=1), created_on_day=4, completed_on_day=1
    )
    assert read_models.stats("alice", NEXT_DAY.date()).completed_on_day == 2
