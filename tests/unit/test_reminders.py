"""Due-date reminders (issue 14 item 6): the task's rules, and the sweep over fakes of its ports."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasks_app.application.ports import DependencyUnavailable
from tasks_app.application.reminders import CATCH_UP_LIMIT, reminders_sweep
from tasks_app.domain.events import TaskDueSoon, TaskOverdue
from tasks_app.domain.reminders import MAX_REMINDER_WINDOW, ReminderOutcome
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.fakes import FakeTaskRepository
from tests.reminder_fakes import FakeReminderIndex, FakeWindows

NOW = datetime(2026, 12, 2, 10, 20, tzinfo=UTC)
THIS_HOUR = NOW.replace(minute=0)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def a_task(due_in: timedelta | None, *, user: str = "alice") -> Task:
    task = Task.create(user_id=UserId(user), title="Ship", due_at=None if due_in is None else NOW + due_in, now=NOW)
    task.pull_events()
    return task


def test_a_task_entering_its_window_is_due_soon_once():
    task = a_task(30 * MINUTE)
    assert task.remind(NOW, HOUR) is ReminderOutcome.DUE_SOON
    [event] = task.pull_events()
    assert isinstance(event, TaskDueSoon)
    assert (event.task_title, event.user_id, event.due_at, event.sequence) == (
        "Ship",
        "alice",
        "2026-12-02T10:50:00.000000Z",
        2,
    )
    assert task.version == 2  # SPEC §1: the version grows by the events recorded
    assert task.remind(NOW + MINUTE, HOUR) is ReminderOutcome.NOTHING
    assert task.pull_events() == []


def test_a_task_past_its_due_date_is_overdue_once_and_its_next_look_is_gone():
    task = a_task(30 * MINUTE)
    task.remind(NOW, HOUR)
    assert task.remind_at == NOW + 30 * MINUTE  # after TaskDueSoon, the sweep looks again when it falls due
    assert task.remind(NOW + 30 * MINUTE, HOUR) is ReminderOutcome.OVERDUE
    assert task.remind_at is None
    assert task.remind(NOW + 2 * HOUR, HOUR) is ReminderOutcome.NOTHING
    [_, overdue] = task.pull_events()
    assert isinstance(overdue, TaskOverdue)
    assert overdue.due_at == "2026-12-02T10:50:00.000000Z"


def test_a_task_first_seen_past_its_due_date_gets_only_overdue():
    task = a_task(30 * MINUTE)
    assert task.remind(NOW + HOUR, HOUR) is ReminderOutcome.OVERDUE
    assert task.remind(NOW + HOUR, HOUR) is ReminderOutcome.NOTHING
    assert [type(event) for event in task.pull_events()] == [TaskOverdue]


def test_a_new_due_date_rearms_both_reminders():
    task = a_task(30 * MINUTE)
    task.remind(NOW, HOUR)
    task.remind(NOW + HOUR, HOUR)
    task.update({"due_at": NOW + 2 * HOUR}, NOW + HOUR)
    assert task.remind_at == NOW + HOUR  # its first look (due - 24 h) has passed: now
    assert task.remind(NOW + HOUR + MINUTE, HOUR) is ReminderOutcome.DUE_SOON
    assert task.remind(NOW + 2 * HOUR, HOUR) is ReminderOutcome.OVERDUE
    kinds = [event.event_type for event in task.pull_events()]
    assert kinds == ["TaskDueSoon", "TaskOverdue", "TaskUpdated", "TaskDueSoon", "TaskOverdue"]


@pytest.mark.parametrize("close", ["complete", "cancel", "delete"])
def test_a_closed_or_trashed_task_is_never_reminded_and_leaves_the_index(close):
    task = a_task(30 * MINUTE)
    getattr(task, close)(NOW)
    assert task.remind_at is None
    assert task.remind(NOW + HOUR, HOUR) is ReminderOutcome.NOTHING


def test_a_task_without_a_due_date_has_nothing_to_remind():
    task = a_task(None)
    assert task.remind_at is None
    assert task.remind(NOW, HOUR) is ReminderOutcome.NOTHING


def test_reopening_a_task_rearms_what_was_not_sent():
    task = a_task(30 * MINUTE)
    task.complete(NOW)
    task.reopen(NOW + MINUTE)
    assert task.remind_at == NOW + MINUTE
    assert task.remind(NOW + 2 * MINUTE, HOUR) is ReminderOutcome.DUE_SOON


def test_the_first_look_is_a_day_before_the_due_date_and_an_early_look_moves_to_the_owners_window():
    task = a_task(3 * 24 * HOUR)
    assert task.remind_at == NOW + 2 * 24 * HOUR  # due - MAX_REMINDER_WINDOW
    version = task.version
    assert task.remind(NOW + 2 * 24 * HOUR, HOUR) is ReminderOutcome.MOVED
    assert task.remind_at == NOW + 3 * 24 * HOUR - HOUR
    assert (task.version, task.pull_events()) == (version, [])  # a move records nothing
    task.update({"title": "Ship it"}, NOW + 2 * 24 * HOUR)
    assert task.remind_at == NOW + 3 * 24 * HOUR - HOUR  # an unrelated change keeps the moved look


def test_a_window_longer_than_a_day_is_cut_to_a_day():
    task = a_task(3 * 24 * HOUR)
    assert task.remind(NOW + 24 * HOUR, 3 * 24 * HOUR) is not ReminderOutcome.DUE_SOON  # 2 days before
    assert task.remind_at == NOW + 3 * 24 * HOUR - MAX_REMINDER_WINDOW
    assert task.remind(NOW + 2 * 24 * HOUR, 3 * 24 * HOUR) is ReminderOutcome.DUE_SOON


# The sweep, over fakes of its ports.


def sweep(repository: FakeTaskRepository, index: FakeReminderIndex, windows: FakeWindows, now: datetime):
    return reminders_sweep(tasks=repository, index=index, windows=windows, now=now)


@pytest.fixture
def repository() -> FakeTaskRepository:
    return FakeTaskRepository(clock=lambda: NOW)


@pytest.fixture
def index(repository: FakeTaskRepository) -> FakeReminderIndex:
    found = FakeReminderIndex(repository)
    found.mark_swept(NOW)
    return found


def outbox_types(repository: FakeTaskRepository) -> list[str]:
    return [entry.event_type for entry in repository.outbox.entries]


def test_a_sweep_records_due_soon_then_overdue_each_once(repository, index):
    task = a_task(30 * MINUTE)
    repository.add(task)
    windows = FakeWindows()
    first = sweep(repository, index, windows, NOW + MINUTE)
    assert (first.due_soon, first.overdue, first.queries) == (1, 0, 1)
    assert sweep(repository, index, windows, NOW + 2 * MINUTE).due_soon == 0
    later = sweep(repository, index, windows, NOW + 31 * MINUTE)
    assert (later.due_soon, later.overdue) == (0, 1)
    assert sweep(repository, index, windows, NOW + 32 * MINUTE).overdue == 0
    assert outbox_types(repository) == ["TaskDueSoon", "TaskOverdue"]
    assert repository.get(task.task_id).version == 3


def test_a_sweep_honours_each_owners_window(repository, index):
    repository.add(a_task(2 * HOUR, user="alice"))
    repository.add(a_task(2 * HOUR, user="bob"))
    windows = FakeWindows({"bob": 3 * HOUR})
    result = sweep(repository, index, windows, NOW + MINUTE)
    assert (result.due_soon, result.moved) == (1, 1)  # bob's 3 hours: now; alice's default hour: later
    assert windows.asked == [{"alice", "bob"}]
    assert sweep(repository, index, windows, NOW + 59 * MINUTE).due_soon == 0
    assert sweep(repository, index, windows, NOW + HOUR).due_soon == 1
    assert outbox_types(repository) == ["TaskDueSoon", "TaskDueSoon"]


def test_a_task_completed_before_the_sweep_writes_gets_no_reminder(repository, index):
    task = a_task(30 * MINUTE)
    repository.add(task)
    windows = FakeWindows()

    def user_completes_it() -> None:  # between the sweep's read and its write
        mine = repository.get(task.task_id)
        mine.complete(NOW + MINUTE)
        repository.update(mine)

    windows.meanwhile = user_completes_it
    result = sweep(repository, index, windows, NOW + MINUTE)
    assert (result.due_soon, result.skipped) == (0, 1)
    assert outbox_types(repository) == ["TaskStatusChanged", "TaskCompleted"]
    windows.meanwhile = lambda: None
    assert sweep(repository, index, windows, NOW + HOUR).overdue == 0


def test_a_change_racing_the_sweep_keeps_the_reminder_for_the_next_sweep(repository, index):
    task = a_task(30 * MINUTE)
    repository.add(task)
    windows = FakeWindows()

    def user_renames_it() -> None:
        mine = repository.get(task.task_id)
        mine.update({"title": "Ship it"}, NOW + MINUTE)
        repository.update(mine)

    windows.meanwhile = user_renames_it
    assert sweep(repository, index, windows, NOW + MINUTE).due_soon == 0  # lost the race: skipped
    windows.meanwhile = lambda: None
    assert sweep(repository, index, windows, NOW + 2 * MINUTE).due_soon == 1
    assert outbox_types(repository) == ["TaskUpdated", "TaskDueSoon"]


def test_a_sweep_after_a_gap_catches_up_from_its_mark(repository):
    index = FakeReminderIndex(repository)
    index.mark_swept(NOW)
    repository.add(a_task(30 * MINUTE))  # its first look: NOW, in the 10:00 bucket
    result = sweep(repository, index, FakeWindows(), NOW + 5 * HOUR)  # no sweep for five hours
    assert (result.overdue, result.queries) == (1, 6)  # the buckets of 10:00 to 15:00
    assert index.hours_read[0] == THIS_HOUR


def test_catching_up_stops_at_seven_days(repository):
    index = FakeReminderIndex(repository)
    index.mark_swept(NOW - 30 * 24 * HOUR)
    result = sweep(repository, index, FakeWindows(), NOW)
    assert result.swept_from == NOW - CATCH_UP_LIMIT
    assert result.queries == 7 * 24 + 1
    first = sweep(repository, FakeReminderIndex(repository), FakeWindows(), NOW)  # never swept before
    assert first.queries == 7 * 24 + 1


def test_a_sweep_reads_the_previous_hour_again_just_after_it_turns(repository):
    index = FakeReminderIndex(repository)
    next_hour = THIS_HOUR + HOUR
    index.mark_swept(next_hour + MINUTE)  # a sweep at 11:01
    result = sweep(repository, index, FakeWindows(), next_hour + 2 * MINUTE)
    assert index.hours_read == [THIS_HOUR, next_hour]  # a write stamped 10:59:59 may reach the index late
    assert result.queries == 2
    index.hours_read.clear()
    sweep(repository, index, FakeWindows(), next_hour + 7 * MINUTE)  # marked 11:02: 10:57 on, again
    sweep(repository, index, FakeWindows(), next_hour + 8 * MINUTE)  # marked 11:07: this hour only
    assert index.hours_read == [THIS_HOUR, next_hour, next_hour]


def test_an_outage_raises_and_leaves_the_mark_for_the_next_sweep(repository, index):
    repository.add(a_task(30 * MINUTE))
    windows = FakeWindows()

    def settings_store_down() -> None:
        raise DependencyUnavailable("DynamoDB", "timed out", retry_after=5)

    windows.meanwhile = settings_store_down
    with pytest.raises(DependencyUnavailable):
        sweep(repository, index, windows, NOW + MINUTE)
    assert index.swept_until() == NOW
    windows.meanwhile = lambda: None
    assert sweep(repository, index, windows, NOW + 2 * MINUTE).due_soon == 1


def test_a_sweep_reads_utc_hours_whatever_zone_its_time_is_given_in(repository):
    index = FakeReminderIndex(repository)
    index.mark_swept(NOW)
    india = timezone(timedelta(hours=5, minutes=30))
    sweep(repository, index, FakeWindows(), (NOW + 20 * MINUTE).astimezone(india))
    assert index.hours_read == [THIS_HOUR]
    assert index.swept_until() == NOW + 20 * MINUTE


def test_a_sweep_refuses_a_time_without_a_zone(repository, index):
    with pytest.raises(ValueError, match="timezone-aware"):
        sweep(repository, index, FakeWindows(), datetime(2026, 12, 2, 10, 30))


@pytest.mark.parametrize("due_at", [datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 1, 23, 59, tzinfo=UTC)])
def test_a_due_date_on_the_first_day_of_year_one_is_overdue_not_a_crash(due_at):
    # Its first look, a day before, is before datetime's first day: the task is simply overdue now.
    task = Task.create(user_id=UserId("alice"), title="Ancient", due_at=due_at, now=NOW)
    assert task.remind_at == NOW
    task.update({"due_at": due_at.replace(minute=30)}, NOW + MINUTE)
    assert task.remind_at == NOW + MINUTE
    assert task.remind(NOW + 2 * MINUTE, HOUR) is ReminderOutcome.OVERDUE


def test_sweeps_racing_over_many_tasks_log_a_count_not_a_line_per_task(repository, index, caplog):
    # The schedule and an operator's run (or EventBridge's duplicate invocation) race every task.
    tasks = [a_task(30 * MINUTE, user=f"user-{n}") for n in range(50)]
    for task in tasks:
        repository.add(task)
    windows = FakeWindows()

    def another_sweep_records_them_first() -> None:
        windows.meanwhile = lambda: None
        assert sweep(repository, index, windows, NOW + MINUTE).due_soon == 50

    windows.meanwhile = another_sweep_records_them_first
    with caplog.at_level(logging.INFO, logger="tasks_app.application.reminders"):
        assert sweep(repository, index, windows, NOW + MINUTE).skipped == 50
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO] == []
