"""Value objects: task ids and user ids."""

import pytest

from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.values import TaskId, UserId


def test_new_task_ids_are_task_dash_uuid4():
    value = str(TaskId.new())
    assert value.startswith("task-")
    assert TaskId.is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "task-",
        "3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "task-3f1c2b9e-8d4a-1c1e-9b7f-2a6d5e4c3b21",  # UUID1, not UUID4
        "task-3F1C2B9E-8D4A-4C1E-9B7F-2A6D5E4C3B21",
        "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21\n",
        "TASK#task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    ],
)
def test_anything_else_is_not_a_task_id(value):
    assert not TaskId.is_valid(value)
    with pytest.raises(InvalidValue):
        TaskId(value)


def test_user_ids_are_trimmed_when_parsed():
    assert UserId.parse("  alice ") == UserId("alice")


@pytest.mark.parametrize(("raw", "message"), [("   ", "blank"), ("a" * 129, "at most 128")])
def test_blank_or_long_user_ids_are_refused(raw, message):
    with pytest.raises(InvalidValue, match=message) as raised:
        UserId.parse(raw)
    assert raised.value.field == "user_id"


def test_a_user_id_of_128_characters_is_fine():
    assert len(str(UserId.parse("ü" * 128))) == 128
