"""Due-date reminders on the local AWS (issue 14 item 6): the sweep finds tasks through GSI4, one
Query per hour bucket, and records TaskDueSoon/TaskOverdue through the outbox exactly once."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events_app import bootstrap as events_wiring
from events_app.handlers import handle_message
from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.backfill import backfill_index_keys
from tasks_app.adapters.dynamodb.models import TaskItem
from tasks_app.application.ports import DependencyUnavailable
from tasks_app.application.reminders import ReminderSweepResult, hour_buckets
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import TaskId, UserId
from tests.reminder_fakes import FakeWindows

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def t0(aws: Any) -> datetime:
    """Now, with the sweeps' mark set to it (as if a sweep had just run): later sweeps read one
    or two hour buckets, not the seven days a first sweep catches up on."""
    now = datetime.now(UTC)
    bootstrap.reminder_index().mark_swept(now)
    return now


def sweep(now: datetime, windows: FakeWindows | None = None) -> ReminderSweepResult:
    return bootstrap.sweep_reminders(now=now, windows=windows)


def published(aws: Any) -> list[tuple[str, str]]:
    """(event type, task id) of every reminder event that reached the events queue since last
    asked; every message drained is handed to the read models, as the worker would."""
    found = []
    for message in aws.drain():
        message.pop("_attributes")
        handle_message(json.dumps(message), read_models=events_wiring.read_models())
        if message["event_type"] in ("TaskDueSoon", "TaskOverdue"):
            found.append((message["event_type"], message["aggregate_id"]))
    return found


def due_in(api: Any, t0: datetime, delta: timedelta, user: str = "alice") -> str:
    return str(api.created(user_id=user, due_at=isoformat_utc(t0 + delta))["task_id"])


def raw_item(aws: Any, task_id: str) -> dict[str, Any]:
    key = {"PK": {"S": f"TASK#{task_id}"}, "SK": {"S": f"TASK#{task_id}"}}
    return aws.target.client("dynamodb").get_item(TableName=aws.resources.table_name, Key=key)["Item"]


def test_a_task_due_in_30_minutes_is_due_soon_once_then_overdue_once(aws, api, t0):
    task_id = due_in(api, t0, 30 * MINUTE)
    assert published(aws) == []  # the creation, to the read models
    assert sweep(t0 + MINUTE).due_soon == 1
    assert sweep(t0 + 2 * MINUTE).due_soon == 0
    assert published(aws) == [("TaskDueSoon", task_id)]
    quiet = sweep(t0 + 29 * MINUTE)  # nothing new before it falls due
    assert (quiet.due_soon, quiet.overdue) == (0, 0)
    later = sweep(t0 + 31 * MINUTE)
    assert (later.due_soon, later.overdue) == (0, 1)
    assert sweep(t0 + 40 * MINUTE).overdue == 0
    assert published(aws) == [("TaskOverdue", task_id)]
    message_due_at = api.get(task_id).json()["data"]["due_at"]
    assert api.history(task_id) == ["TaskCreated", "TaskDueSoon", "TaskOverdue"]
    history = api.client.get(f"/tasks/{task_id}/events").json()["data"]
    assert history[1]["data"] == {
        "aggregate_id": task_id,
        "timestamp": isoformat_utc(t0 + MINUTE),
        "sequence": 2,
        "event_id": history[1]["event_id"],
        "task_title": "A task",
        "user_id": "alice",
        "due_at": message_due_at,
    }
    assert api.get(task_id)["ETag"] == '"3"'  # SPEC §1: each event is a version
    assert not {"GSI4PK", "GSI4SK", "RemindAt"} & set(raw_item(aws, task_id))  # left the index


def test_a_changed_due_date_rearms_both_reminders(aws, api, t0):
    task_id = due_in(api, t0, 30 * MINUTE)
    sweep(t0 + MINUTE)
    sweep(t0 + 31 * MINUTE)
    new_due = t0 + 31 * MINUTE + 30 * MINUTE
    # The change is made when the sweeps think it is (the API's clock is the real one).
    repository = bootstrap.task_repository()
    task = repository.get(TaskId(task_id))
    assert task.update({"due_at": new_due}, t0 + 31 * MINUTE)
    repository.update(task)
    aws.drain()
    assert sweep(t0 + 32 * MINUTE).due_soon == 1
    assert sweep(new_due).overdue == 1
    assert published(aws) == [("TaskDueSoon", task_id), ("TaskOverdue", task_id)]


def test_a_task_completed_before_it_falls_due_gets_no_reminder(aws, api, t0):
    task_id = due_in(api, t0, 30 * MINUTE)
    assert api.complete(task_id).status_code == 200
    aws.drain()
    for minutes in (1, 31, 90):
        result = sweep(t0 + minutes * MINUTE)
        assert (result.due_soon, result.overdue) == (0, 0)
    assert published(aws) == []


def test_two_concurrent_sweeps_record_each_reminder_once(aws, api, t0):
    task_ids = {due_in(api, t0, 30 * MINUTE, user=f"user-{n}") for n in range(5)}
    aws.drain()
    # Both sweeps read the same tasks from the index before either writes: a real race.
    both_read = threading.Barrier(2, timeout=30)
    windows = FakeWindows()

    def wait_for_the_other_sweep() -> None:
        both_read.wait()

    windows.meanwhile = wait_for_the_other_sweep
    results: list[ReminderSweepResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(sweep(t0 + MINUTE, windows))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 2
    assert sum(result.due_soon for result in results) == 5  # each task once, whichever sweep won it
    assert sum(result.skipped for result in results) == 5  # the loser of each race skipped it
    assert sorted(published(aws)) == sorted(("TaskDueSoon", task_id) for task_id in task_ids)


def test_a_sweep_queries_gsi4_one_hour_bucket_at_a_time_and_never_scans(aws, api, t0):
    due_in(api, t0, 30 * MINUTE)
    due_in(api, t0, 3 * 24 * HOUR)  # not due soon for days: not read
    later = t0 + 2 * HOUR  # the mark is two hours back: three buckets
    with aws.server.recording() as calls:
        result = sweep(later)
    operations = Counter(call.operation for call in calls if call.service == "dynamodb")
    assert result.queries == len(hour_buckets(t0 - 5 * MINUTE, later))
    assert operations["Query"] == result.queries
    assert operations["Scan"] == 0
    # The mark (read and written) and the one task's event.
    assert operations == Counter({"Query": result.queries, "GetItem": 1, "UpdateItem": 1, "TransactWriteItems": 1})
    assert result.overdue == 1


def test_an_owner_with_a_short_window_is_reminded_later_and_a_patch_keeps_that(aws, api, t0):
    task_id = due_in(api, t0, 2 * HOUR)
    windows = FakeWindows({"alice": 10 * MINUTE})
    moved = sweep(t0 + MINUTE, windows)
    assert (moved.moved, moved.due_soon) == (1, 0)
    remind_at = isoformat_utc(t0 + 2 * HOUR - 10 * MINUTE)
    assert raw_item(aws, task_id)["GSI4SK"] == {"S": f"{remind_at}#{task_id}"}
    assert api.get(task_id)["ETag"] == '"1"'  # a move is no change of the task
    assert api.patch(task_id, {"title": "Renamed"}).status_code == 200
    assert raw_item(aws, task_id)["RemindAt"] == {"S": remind_at}
    aws.drain()
    assert sweep(t0 + 2 * HOUR - 11 * MINUTE, windows).due_soon == 0
    assert sweep(t0 + 2 * HOUR - 10 * MINUTE, windows).due_soon == 1
    assert published(aws) == [("TaskDueSoon", task_id)]


def test_a_sweep_after_a_gap_catches_up_and_a_long_gap_stops_at_seven_days(aws, api, t0):
    task_id = due_in(api, t0, 30 * MINUTE)
    aws.drain()
    after_gap = t0 + 5 * HOUR  # the sweep did not run for five hours
    result = sweep(after_gap)
    assert (result.due_soon, result.overdue) == (0, 1)  # its due date passed meanwhile: overdue only
    assert published(aws) == [("TaskOverdue", task_id)]
    bootstrap.reminder_index().mark_swept(after_gap + 30 * 24 * HOUR)  # no move back: a later mark stands
    assert bootstrap.reminder_index().swept_until() == after_gap + 30 * 24 * HOUR
    long_after = after_gap + 40 * 24 * HOUR
    assert sweep(long_after).queries == 7 * 24 + 1


def test_backfill_arms_the_reminders_of_tasks_stored_before_gsi4(aws, api, t0):
    bootstrap.table_connection()
    task = Task.create(user_id=UserId("alice"), title="old", due_at=t0 + 30 * MINUTE, now=t0)
    task.pull_events()
    item = TaskItem.from_domain(task)
    item.gsi4pk = item.gsi4sk = item.remind_at = None  # as the previous release stored it
    item.save()
    past = Task.create(user_id=UserId("alice"), title="long overdue", due_at=t0 - 24 * HOUR, now=t0 - 48 * HOUR)
    old_past = TaskItem.from_domain(past)
    old_past.gsi4pk = old_past.gsi4sk = old_past.remind_at = None
    old_past.save()
    assert sweep(t0 + MINUTE).due_soon == 0
    assert backfill_index_keys(now=t0 + MINUTE) == 1  # the past-due one is not armed
    assert backfill_index_keys(now=t0 + MINUTE) == 0
    result = sweep(t0 + 2 * MINUTE)
    assert (result.due_soon, result.overdue) == (1, 0)


def test_a_task_stored_before_versions_has_its_reminder_moved_and_recorded(aws, api, t0):
    """An item with no `Version` (the first release's) reads as version 0: the sweep's move of its
    next look must hold on such an item too, or the task would be skipped at every sweep."""
    bootstrap.table_connection()
    task = Task.create(user_id=UserId("alice"), title="from the first release", due_at=t0 + 2 * HOUR, now=t0)
    task.pull_events()
    item = TaskItem.from_domain(task)
    item.gsi4pk = item.gsi4sk = item.remind_at = item.version = None
    item.save()
    assert backfill_index_keys(now=t0 + MINUTE) == 1
    windows = FakeWindows({"alice": 10 * MINUTE})
    assert sweep(t0 + 2 * MINUTE, windows).moved == 1
    assert raw_item(aws, str(task.task_id))["RemindAt"] == {"S": isoformat_utc(t0 + 2 * HOUR - 10 * MINUTE)}
    aws.drain()
    assert sweep(t0 + 2 * HOUR - 10 * MINUTE, windows).due_soon == 1
    assert published(aws) == [("TaskDueSoon", str(task.task_id))]


def test_an_unreachable_dynamodb_raises_the_outage_error(aws, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # the discard port: connections are refused
    bootstrap.reset()
    events_wiring.reset()
    with pytest.raises(DependencyUnavailable):
        sweep(datetime.now(UTC))


@pytest.mark.parametrize(
    ("change", "then"),
    [
        ({"due_at": None}, []),  # the due date removed: no reminder, now or later
        ({"due_at": "past"}, [("TaskOverdue",)]),  # moved into the past: overdue for the new date only
        ({"due_at": "later"}, [("TaskDueSoon",)]),  # moved 20 minutes later: due soon for that date
    ],
)
def test_a_patch_of_the_due_date_racing_a_sweep_wins_and_the_next_sweep_follows_it(aws, api, t0, change, then):
    task_id = due_in(api, t0, 30 * MINUTE)
    aws.drain()
    values = {"past": isoformat_utc(t0 - 2 * HOUR), "later": isoformat_utc(t0 + 50 * MINUTE)}
    body = {"due_at": values.get(change["due_at"], change["due_at"])}
    windows = FakeWindows()

    def user_patches_between_the_sweeps_read_and_write() -> None:
        assert api.patch(task_id, body).status_code == 200

    windows.meanwhile = user_patches_between_the_sweeps_read_and_write
    lost = sweep(t0 + MINUTE, windows)
    assert (lost.due_soon, lost.skipped) == (0, 1)
    assert published(aws) == []
    windows.meanwhile = lambda: None
    sweep(t0 + 2 * MINUTE, windows)
    sweep(t0 + 3 * MINUTE, windows)  # and nothing twice
    assert [(kind,) for kind, _ in published(aws)] == then
    assert api.history(task_id)[-1] == (then[0][0] if then else "TaskUpdated")
