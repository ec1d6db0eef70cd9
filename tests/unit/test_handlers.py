"""Event handlers, against fakes of the read models: parsing, idempotency, exact statistics in any order."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest

from events_app.handlers import handle_message
from events_app.messages import KNOWN_EVENT_TYPES, InvalidEventMessage, parse_message
from events_app.ports import UserStats, no_counts
from tasks_app.domain.errors import InvalidTransition
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeReadModels

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)


def messages_of_a_completed_task(user: str = "alice") -> list[str]:
    task = Task.create(user_id=UserId(user), title="Ship", now=DAY)
    task.complete(DAY)
    return [json.dumps(event.to_message()) for event in task.pull_events()]


def lifecycle(user: str = "alice", *, trash_at_the_end: bool = True) -> list[str]:
    """Create (due in 30 minutes), start, due soon, overdue, complete (the next day), reopen,
    update, delete, restore, cancel, delete."""
    task = Task.create(user_id=UserId(user), title="Ship", due_at=DAY + timedelta(minutes=30), now=DAY)
    task.start(DAY)
    task.remind(DAY, timedelta(hours=1))
    task.remind(DAY + timedelta(hours=1), timedelta(hours=1))
    task.complete(NEXT_DAY)
    task.reopen(NEXT_DAY)
    task.update({"title": "Ship it"}, NEXT_DAY)
    task.delete(NEXT_DAY)
    task.restore(NEXT_DAY)
    task.cancel(NEXT_DAY)
    if trash_at_the_end:
        task.delete(NEXT_DAY)
    return [json.dumps(event.to_message()) for event in task.pull_events()]


@pytest.fixture
def read_models() -> FakeReadModels:
    return FakeReadModels()


def apply(read_models: FakeReadModels, body: str) -> None:
    handle_message(body, read_models=read_models)


def snapshot(read_models: FakeReadModels, task_ids: set[str], user: str = "alice") -> tuple[object, ...]:
    """Everything a client can read: each task's history and the user's stats on both days."""
    histories = tuple(json.dumps(read_models.history(task_id)) for task_id in sorted(task_ids))
    return histories, read_models.stats(user, DAY.date()), read_models.stats(user, NEXT_DAY.date())


def test_every_event_type_the_domain_records_is_accepted(read_models):
    messages = lifecycle()
    for body in messages:
        apply(read_models, body)
    history = read_models.history(json.loads(messages[0])["aggregate_id"])
    assert {message["event_type"] for message in history} == KNOWN_EVENT_TYPES
    assert [message["data"]["sequence"] for message in history] == list(range(1, 13))


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


def seeded(seed: int) -> random.Random:
    """Randomness fixed by `seed`, so that a failing order replays."""
    return random.Random(seed)  # noqa: S311 - a reproducible order, not secrecy


def shuffled(items: list[str], seed: int) -> list[str]:
    return seeded(seed).sample(items, len(items))


ORDERS: dict[str, Callable[[list[str]], list[str]]] = {
    "in order": list,
    "reversed": lambda messages: messages[::-1],
    **{f"shuffled ({seed})": partial(shuffled, seed=seed) for seed in range(40)},
    "each twice, shuffled": lambda messages: shuffled(messages * 2, 7),
    "each three times, backwards first": lambda messages: messages[::-1] + messages + messages[::-1],
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("trash_at_the_end", "counts"), [(True, {}), (False, {"cancelled": 1})])
def test_a_lifecycle_ends_the_same_in_any_order_and_with_redeliveries(order, trash_at_the_end, counts):
    messages = lifecycle(trash_at_the_end=trash_at_the_end)
    in_order, reordered = FakeReadModels(), FakeReadModels()
    for body in messages:
        apply(in_order, body)
    for body in ORDERS[order](messages):
        apply(reordered, body)
    task_ids = {json.loads(messages[0])["aggregate_id"]}
    assert snapshot(reordered, task_ids) == snapshot(in_order, task_ids)
    assert reordered.history(next(iter(task_ids))) == [json.loads(body) for body in messages]
    assert reordered.stats("alice", DAY.date()) == UserStats(
        "alice", DAY.date(), {**no_counts(), **counts}, created_on_day=1, completed_on_day=0
    )
    # Completed on the next day, then reopened: it still counts as completed that day.
    assert reordered.stats("alice", NEXT_DAY.date()).completed_on_day == 1


ACTIONS: dict[str, Callable[[Task, datetime], object]] = {
    "start": lambda task, now: task.start(now),
    "complete": lambda task, now: task.complete(now),
    "cancel": lambda task, now: task.cancel(now),
    "reopen": lambda task, now: task.reopen(now),
    "update": lambda task, now: task.update({"title": f"Title {now.timestamp()}"}, now),
    "delete": lambda task, now: task.delete(now),
    "restore": lambda task, now: task.restore(now),
}


def random_run(rng: random.Random, *, tasks: int, steps: int) -> tuple[list[Task], list[str]]:
    """Tasks of two users, moved by random actions (refused ones skipped); their messages."""
    owned = [Task.create(user_id=UserId(rng.choice(["alice", "bob"])), title="T", now=DAY) for _ in range(tasks)]
    messages = [json.dumps(event.to_message()) for task in owned for event in task.pull_events()]
    for step in range(steps):
        task = rng.choice(owned)
        try:
            ACTIONS[rng.choice(list(ACTIONS))](task, DAY + timedelta(seconds=step))
        except InvalidTransition:
            continue
        messages.extend(json.dumps(event.to_message()) for event in task.pull_events())
    return owned, messages


@pytest.mark.parametrize("seed", range(25))
def test_statistics_are_exact_after_any_mixed_run_delivered_in_any_order_and_again(seed):
    rng = seeded(seed)
    tasks, messages = random_run(rng, tasks=5, steps=40)
    deliveries = messages + rng.sample(messages, len(messages) // 2)
    rng.shuffle(deliveries)
    read_models = FakeReadModels()
    for body in deliveries:
        apply(read_models, body)
    for user in ("alice", "bob"):
        live = [task for task in tasks if task.user_id == UserId(user) and not task.in_trash]
        expected = {**no_counts()}
        for task in live:
            expected[task.status.value] += 1
        stats = read_models.stats(user, DAY.date())
        assert stats.counts == expected, f"seed {seed}: the counts should be those of the tasks' final states"
        assert stats.created_on_day == sum(task.user_id == UserId(user) for task in tasks)
        completions = [json.loads(body) for body in messages if '"TaskCompleted"' in body]
        assert stats.completed_on_day == sum(m["data"]["user_id"] == user for m in completions)


def test_an_events_day_is_its_utc_day():
    message = json.loads(messages_of_a_completed_task()[0])
    late_evening_in_new_york = {**message, "timestamp": "2026-11-25T21:30:00-05:00"}
    assert parse_message(json.dumps(late_evening_in_new_york)).day == date(2026, 11, 26)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event_type": "TaskExploded"}', "Unknown event type"),
        ('{"event_type": "TaskCreated", "data": []}', "`data` is not an object"),
        ('{"event_type": "TaskCreated", "data": {"user_id": "a"}}', "task_title"),
        ('{"event_type": "TaskDeleted", "data": {"user_id": "a"}}', "task_title"),
        ('{"event_type": "TaskRestored", "data": {"task_title": "t"}}', "user_id"),
        ('{"event_type": "TaskUpdated", "data": {"user_id": "a"}}', "changes"),
        ('{"event_type": "TaskUpdated", "data": {"user_id": "a", "changes": {}}}', "changes"),
        ('{"event_type": "TaskUpdated", "data": {"user_id": "a", "changes": {"title": "b"}}}', "changes.title"),
        (
            '{"event_type": "TaskStatusChanged", "data": '
            '{"user_id": "a", "old_status": "pending", "new_status": "done"}}',
            "not a status",
        ),
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


def test_a_creation_recorded_before_priorities_due_dates_and_tags_is_still_applied(read_models):
    message = json.loads(messages_of_a_completed_task()[0])
    for field in ("priority", "due_at", "tags"):
        del message["data"][field]
    apply(read_models, json.dumps(message))
    assert read_models.stats("alice", DAY.date()).counts["pending"] == 1
