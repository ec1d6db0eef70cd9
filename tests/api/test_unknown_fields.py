"""Bodies with fields the endpoint does not know are refused with a 400 naming them, never dropped."""

from datetime import UTC, datetime

import pytest


def assert_validation_error(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "VALIDATION_ERROR")
    return body["error"]["details"]


@pytest.mark.parametrize("field", ["colour", "Title", "task_id", "version", "created_at", "completed_at", "owner"])
def test_an_unknown_field_in_a_create_is_a_400_naming_it(api, aws, field):
    details = assert_validation_error(api.create(title="t", **{field: "x"}))
    assert list(details) == [field]
    assert api.list(user_id="alice").json()["data"] == []
    assert aws.drain() == []


def test_every_unknown_field_of_a_create_is_named_at_once(api):
    details = assert_validation_error(api.create(title="t", colour="red", size=3, deadline="friday"))
    assert set(details) == {"colour", "size", "deadline"}


def test_a_status_in_a_create_points_at_the_status_actions(api):
    details = assert_validation_error(api.create(title="t", status="completed"))
    message = " ".join(details["status"])
    for action in ("/start", "/complete", "/cancel", "/reopen"):
        assert action in message


def test_an_unknown_field_is_named_alongside_invalid_known_ones(api):
    details = assert_validation_error(api.create(title="", colour="red"))
    assert "colour" in details


def test_a_patch_with_only_unknown_fields_changes_nothing(api, aws):
    task = api.created()
    aws.drain()
    details = assert_validation_error(api.patch(task["task_id"], {"user_id": "bob", "deleted_at": None}))
    assert set(details) == {"user_id", "deleted_at"}
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


def test_created_tasks_have_the_new_fields_with_their_defaults(api):
    task = api.created()
    assert (task["priority"], task["due_at"], task["tags"], task["version"]) == ("normal", None, [], 1)
    assert set(task) == {
        "task_id",
        "user_id",
        "title",
        "description",
        "status",
        "priority",
        "due_at",
        "tags",
        "version",
        "created_at",
        "updated_at",
        "completed_at",
    }


def test_a_create_takes_priority_due_date_and_tags_normalized(api, aws):
    task = api.created(priority="urgent", due_at="2030-12-01T18:00:00+01:00", tags=[" Work ", "home", "WORK"])
    assert (task["priority"], task["due_at"], task["tags"]) == (
        "urgent",
        "2030-12-01T17:00:00.000000Z",
        ["work", "home"],
    )
    assert api.get(task["task_id"]).json()["data"] == task
    [event] = aws.drain()
    assert (event["data"]["priority"], event["data"]["tags"]) == ("urgent", ["work", "home"])
    assert datetime.fromisoformat(event["data"]["due_at"]) == datetime(2030, 12, 1, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"priority": "critical"}, "priority"),
        ({"due_at": "2030-12-01T18:00:00"}, "due_at"),
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": "a"}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ],
)
def test_a_create_with_a_bad_new_field_is_a_400_naming_it(api, fields, name):
    assert name in assert_validation_error(api.create(title="t", **fields))
