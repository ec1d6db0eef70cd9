"""The projection rules: each part of a task's state comes from the newest event that determines it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from events_app.messages import ReceivedEvent, parse_message
from events_app.projection import TaskProjection, day_steps, status_steps

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TASK_ID = "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21"


def event(event_type: str, sequence: int, **data: Any) -> ReceivedEvent:
    fields = {"user_id": "alice", "task_title": "Ship", "sequence": sequence, **data}
    return parse_message(
        json.dumps(
            {
                "event_type": event_type,
                "event_id": f"event-{sequence}",
                "aggregate_id": TASK_ID,
                "timestamp": DAY.isoformat(),
                "data": fields,
            }
        )
    )


def changed(sequence: int, old: str, new: str) -> ReceivedEvent:
    return event("TaskStatusChanged", sequence, old_status=old, new_status=new)


UNKNOWN = TaskProjection(user_id="alice")


def test_a_creation_makes_an_unknown_task_pending():
    created = UNKNOWN.after(event("TaskCreated", 1))
    assert (created.status, created.status_sequence, created.counted_as) == ("pending", 1, "pending")


def test_a_later_status_change_wins_over_an_earlier_one_whatever_the_order():
    completed, started = changed(3, "in_progress", "completed"), changed(2, "pending", "in_progress")
    assert UNKNOWN.after(completed).after(started) == UNKNOWN.after(started).after(completed)
    assert UNKNOWN.after(started).after(completed).counted_as == "completed"


def test_an_older_event_returns_the_projection_itself():
    completed = UNKNOWN.after(changed(3, "in_progress", "completed"))
    assert completed.after(event("TaskCreated", 1)) is completed
    assert completed.after(changed(3, "in_progress", "completed")) is completed


def test_a_task_in_the_trash_is_counted_nowhere_until_restored():
    pending = UNKNOWN.after(event("TaskCreated", 1))
    trashed = pending.after(event("TaskDeleted", 2))
    assert (trashed.trashed, trashed.counted_as) == (True, None)
    assert trashed.after(event("TaskRestored", 3)).counted_as == "pending"
    assert trashed.after(event("TaskRestored", 3)).after(event("TaskDeleted", 2)).counted_as == "pending"


def test_a_deletion_seen_before_the_status_counts_nothing():
    trashed = UNKNOWN.after(event("TaskDeleted", 4))
    assert trashed.after(changed(3, "pending", "cancelled")).counted_as is None


def test_updates_and_completions_change_no_projection():
    created = UNKNOWN.after(event("TaskCreated", 1))
    assert created.after(event("TaskUpdated", 2, changes={"title": {"old": "a", "new": "b"}})) is created
    assert created.after(event("TaskCompleted", 4)) is created


def test_the_counts_move_by_the_change_of_contribution():
    pending = UNKNOWN.after(event("TaskCreated", 1))
    done = pending.after(changed(2, "pending", "completed"))
    assert status_steps(UNKNOWN, pending) == {"pending": 1}
    assert status_steps(pending, done) == {"pending": -1, "completed": 1}
    assert status_steps(done, done.after(event("TaskDeleted", 4))) == {"completed": -1}
    assert status_steps(UNKNOWN, UNKNOWN.after(event("TaskDeleted", 4))) == {}


def test_the_day_counts_what_happened():
    assert day_steps(event("TaskCreated", 1)) == {"created": 1}
    assert day_steps(event("TaskCompleted", 3)) == {"completed": 1}
    assert day_steps(changed(2, "pending", "completed")) == {}
    assert day_steps(event("TaskDeleted", 4)) == {}
