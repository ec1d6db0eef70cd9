"""The Task entity: creation, its invariants, and update with the `TaskUpdated` it records.

The status actions and the trash are in `test_task_lifecycle.py`.
"""

import copy
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.events import TaskCreated, TaskUpdated
from tasks_app.domain.task import Task, isoformat_utc
from tasks_app.domain.values import Priority, TaskId, TaskStatus, UserId


def pulled(task: Task) -> list[Any]:
    """The task's new events, typed loosely so each event's own fields can be asserted."""
    return list(task.pull_events())


NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
PARIS = timezone(timedelta(hours=1))
DUE = datetime(2026, 12, 1, 18, 0, tzinfo=PARIS)  # 17:00 UTC
DUE_WIRE = "2026-12-01T17:00:00.000000Z"
UNSTORABLE_TEXT = ["nul \x00 inside", "lone high \ud83c", "lone low \udc00"]


def new_task(title: str = "Write the report", description: str = "", **fields) -> Task:
    return Task.create(user_id=UserId("user-1"), title=title, description=description, now=NOW, **fields)


def settled_task(**fields) -> Task:
    """A new task whose `TaskCreated` is already handed over."""
    task = new_task(**fields)
    pulled(task)
    return task


def test_a_new_task_is_pending_with_a_fresh_id_and_no_change_times():
    task = new_task()
    assert task.status is TaskStatus.PENDING
    assert TaskId.is_valid(str(task.task_id))
    assert (task.created_at, task.updated_at, task.completed_at, task.deleted_at) == (NOW, None, None, None)
    assert not task.in_trash
    assert new_task().task_id != task.task_id


def test_a_new_task_has_normal_priority_no_due_date_no_tags_and_version_1():
    task = new_task()
    assert (task.priority, task.due_at, task.tags, task.description) == (Priority.NORMAL, None, (), "")
    assert (task.version, task.stored_version) == (1, 0)


def test_creating_a_task_records_task_created_with_its_title_and_owner():
    task = new_task("  Padded title  ")
    [event] = pulled(task)
    assert isinstance(event, TaskCreated)
    assert (event.aggregate_id, event.task_title, event.user_id) == (str(task.task_id), "Padded title", "user-1")
    assert (event.timestamp, event.sequence) == ("2026-11-25T09:30:00.000000Z", 1)
    assert (event.priority, event.due_at, event.tags) == ("normal", None, [])
    assert pulled(task) == []


def test_task_created_carries_priority_due_date_and_tags_as_the_wire_shows_them():
    task = new_task(priority="urgent", due_at=DUE, tags=[" Home", "q4", "HOME"])
    assert (task.priority, task.tags) == (Priority.URGENT, ("home", "q4"))
    assert task.due_at == DUE
    assert task.due_at.tzinfo is UTC
    [event] = pulled(task)
    assert (event.priority, event.due_at, event.tags) == ("urgent", DUE_WIRE, ["home", "q4"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", "someday"),
        ("due_at", datetime(2026, 12, 1, 17, 0)),
        ("due_at", "2026-12-01T17:00:00Z"),
        ("tags", "home"),
        ("tags", ["a,b"]),
        ("description", None),
    ],
    ids=["unknown-priority", "naive-due", "due-as-text", "tags-as-text", "comma-tag", "null-description"],
)
def test_creating_with_an_invalid_value_is_refused_naming_the_field(field, value):
    with pytest.raises(InvalidValue) as raised:
        new_task(**{field: value})
    assert raised.value.field == field


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


@pytest.mark.parametrize("text", UNSTORABLE_TEXT)
@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("title", lambda text: new_task(title=text)),
        ("description", lambda text: new_task(description=text)),
        ("tags", lambda text: new_task(tags=["fine", text])),
        ("user_id", lambda text: Task.create(user_id=UserId.parse(text), title="t", now=NOW)),
        ("title", lambda text: settled_task().update({"title": text}, LATER)),
        ("description", lambda text: settled_task().update({"description": text}, LATER)),
        ("tags", lambda text: settled_task().update({"tags": [text]}, LATER)),
    ],
    ids=["new-title", "new-description", "new-tags", "user-id", "edit-title", "edit-description", "edit-tags"],
)
def test_nul_and_unpaired_surrogates_are_refused_naming_the_field(field, make, text):
    with pytest.raises(InvalidValue) as raised:
        make(text)
    assert raised.value.field == field


def test_timestamps_must_be_timezone_aware():
    with pytest.raises(InvalidValue, match="timezone-aware"):
        Task.create(user_id=UserId("u"), title="t", now=datetime(2026, 1, 1))


def test_a_stored_task_must_hold_its_tags_normalized():
    stored = new_task(tags=["home"])
    with pytest.raises(InvalidValue) as raised:
        dataclasses.replace(stored, tags=("Home",))
    assert raised.value.field == "tags"


def test_event_messages_follow_the_spec_format():
    task = new_task(due_at=DUE, tags=["home"])
    [created] = pulled(task)
    assert created.to_message() == {
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
            "priority": "normal",
            "due_at": DUE_WIRE,
            "tags": ["home"],
        },
    }
    assert "properties" not in created.to_message()  # kombu would take such a body for its own envelope


def test_timestamps_are_written_in_utc_whatever_their_zone():
    assert isoformat_utc(datetime(2026, 1, 1, 10, 0, tzinfo=PARIS)) == "2026-01-01T09:00:00.000000Z"


# --- update -------------------------------------------------------------------------------------


def test_updating_records_one_task_updated_with_old_and_new_values_of_changed_fields_only():
    task = settled_task()
    changes = {"title": "Send the report", "description": "", "priority": "high", "tags": []}
    assert task.update(changes, LATER) is True
    [event] = pulled(task)
    assert isinstance(event, TaskUpdated)
    assert event.changes == {
        "title": {"old": "Write the report", "new": "Send the report"},
        "priority": {"old": "normal", "new": "high"},
    }
    assert (event.aggregate_id, event.user_id, event.sequence) == (str(task.task_id), "user-1", 2)
    assert event.timestamp == isoformat_utc(LATER)
    assert (task.title, task.priority, task.version, task.updated_at) == ("Send the report", Priority.HIGH, 2, LATER)


def test_task_updated_carries_wire_values_iso_times_and_lists_of_tags():
    task = settled_task(tags=["home"])
    task.update({"due_at": DUE, "tags": ["Home", "Q4"]}, LATER)
    task.update({"due_at": None, "tags": []}, LATER + timedelta(minutes=1))
    first, second = pulled(task)
    assert first.changes == {
        "due_at": {"old": None, "new": DUE_WIRE},
        "tags": {"old": ["home"], "new": ["home", "q4"]},
    }
    assert second.changes == {
        "due_at": {"old": DUE_WIRE, "new": None},
        "tags": {"old": ["home", "q4"], "new": []},
    }
    assert [first.sequence, second.sequence, task.version] == [2, 3, 3]


def test_an_updated_due_date_with_an_offset_is_held_in_utc():
    task = settled_task()
    task.update({"due_at": DUE}, LATER)
    assert task.due_at == DUE
    assert task.due_at.tzinfo is UTC
    assert task.due_at.hour == 17


def test_an_updated_title_is_trimmed():
    task = settled_task()
    task.update({"title": "  Send it  "}, LATER)
    assert task.title == "Send it"
    [event] = pulled(task)
    assert event.changes == {"title": {"old": "Write the report", "new": "Send it"}}


def test_updated_tags_are_normalized():
    task = settled_task()
    task.update({"tags": ["  Home ", "URGENT", "home", "Urgent"]}, LATER)
    assert task.tags == ("home", "urgent")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"title": "Write the report"},
        {"title": "  Write the report  "},
        {"description": "Numbers for Q4"},
        {"priority": "high"},
        {"priority": Priority.HIGH},
        {"due_at": DUE},
        {"due_at": DUE.astimezone(timezone(timedelta(hours=-5)))},
        {"tags": ["Home", "q4"]},
        {"tags": [" HOME", "Q4", "home"]},
        {"title": "Write the report", "priority": "high", "tags": ["home", "q4"], "due_at": DUE},
    ],
    ids=[
        "nothing", "same-title", "padded-title", "same-description", "priority-text", "priority-enum",
        "same-due", "same-instant-other-zone", "same-tags", "same-tags-other-spelling", "all-same",
    ],
)  # fmt: skip
def test_updating_to_the_current_values_records_nothing_and_keeps_version_and_updated_at(changes):
    task = settled_task(description="Numbers for Q4", priority="high", due_at=DUE, tags=["home", "q4"])
    before = copy.deepcopy(task)
    assert task.update(changes, LATER) is False
    assert pulled(task) == []
    assert task == before
    assert (task.version, task.updated_at) == (1, None)


@pytest.mark.parametrize("field", ["status", "version", "user_id", "task_id", "completed_at", "deleted_at", "colour"])
def test_updating_an_unknown_or_read_only_field_is_refused_naming_it(field):
    task = settled_task()
    before = copy.deepcopy(task)
    with pytest.raises(InvalidValue) as raised:
        task.update({"title": "Changed", field: "x"}, LATER)
    assert raised.value.field == field
    assert task == before
    assert pulled(task) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("title", "x" * 201),
        ("title", None),
        ("title", 5),
        ("description", "d" * 1001),
        ("description", None),
        ("priority", "someday"),
        ("priority", "HIGH"),
        ("priority", None),
        ("due_at", datetime(2026, 12, 1, 17, 0)),
        ("due_at", "2026-12-01T17:00:00Z"),
        ("due_at", 1764608400),
        ("tags", "home"),
        ("tags", None),
        ("tags", [""]),
        ("tags", ["a,b"]),
        ("tags", ["x" * 41]),
        ("tags", [f"t{i}" for i in range(21)]),
        ("tags", [None]),
        ("tags", b"home"),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_updating_to_an_invalid_value_is_refused_naming_the_field_and_changes_nothing(field, value):
    task = settled_task()
    before = copy.deepcopy(task)
    with pytest.raises(InvalidValue) as raised:
        task.update({"description": "Valid on its own", field: value}, LATER)
    assert raised.value.field == field
    assert task == before
    assert pulled(task) == []
