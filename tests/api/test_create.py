"""POST /tasks."""

from datetime import UTC, datetime, timedelta

import pytest

from tasks_app.api.serializers import TaskCreateRequest
from tasks_app.domain.values import TaskId


def test_creating_a_task_returns_201_with_the_stored_task(api):
    before = datetime.now(UTC)
    response = api.create("alice", "  Write the report  ", description="Numbers first")
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    task = body["data"]
    assert TaskId.is_valid(task["task_id"])
    assert {k: task[k] for k in ("user_id", "title", "description", "status", "updated_at", "completed_at")} == {
        "user_id": "alice",
        "title": "Write the report",
        "description": "Numbers first",
        "status": "pending",
        "updated_at": None,
        "completed_at": None,
    }
    created_at = datetime.fromisoformat(task["created_at"])
    assert created_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= created_at <= datetime.now(UTC)
    assert response["Location"] == f"http://testserver/tasks/{task['task_id']}"
    assert api.get(task["task_id"]).json()["data"] == task


def test_the_description_is_optional(api):
    assert api.created(title="No description")["description"] == ""


def test_unicode_round_trips(api):
    title = "Ünïcødé ✓ — 日本語のタスク 🎉👩‍💻"
    description = "emoji 🚀, RTL עברית, combining é, zero-width\u200bspace"
    task = api.created("用户-ß", title, description=description)
    stored = api.get(task["task_id"]).json()["data"]
    assert (stored["user_id"], stored["title"], stored["description"]) == ("用户-ß", title, description)
    listed = api.list(user_id="用户-ß").json()["data"]
    assert [t["title"] for t in listed] == [title]


def test_user_ids_are_trimmed(api):
    task = api.created("  alice  ")
    assert task["user_id"] == "alice"
    assert [t["task_id"] for t in api.list(user_id="alice").json()["data"]] == [task["task_id"]]


def test_limits_are_inclusive(api):
    task = api.created("u" * 128, "t" * 200, description="d" * 1000)
    assert (len(task["user_id"]), len(task["title"]), len(task["description"])) == (128, 200, 1000)


def test_creating_publishes_task_created(api, aws):
    task = api.created(title="Announce me")
    [event] = aws.drain()
    assert (event["event_type"], event["aggregate_id"]) == ("TaskCreated", task["task_id"])
    assert event["data"]["task_title"] == "Announce me"
    assert event["data"]["user_id"] == "alice"


def test_a_trailing_slash_is_accepted(api):
    response = api.client.post("/tasks/", {"user_id": "alice", "title": "slash"}, format="json")
    assert response.status_code == 201


# RFC 3339 times that datetime cannot hold once converted to UTC (they were 500s).
OUT_OF_RANGE = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_a_due_date_past_the_calendar_in_utc_is_a_400_on_create_patch_and_filters(api, moment):
    task = api.created()
    answers = [
        api.create(due_at=moment),
        api.patch(task["task_id"], {"due_at": moment}),
        api.list(user_id="alice", due_before=moment),
        api.list(user_id="alice", due_after=moment, sort="due_at"),
    ]
    for response in answers:
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# Well-formed, but no such time: datetime refuses them with a ValueError (they were 500s).
NO_SUCH_TIME = ["2026-12-01T24:00:00Z", "2026-12-01T17:00:60Z", "2026-02-30T00:00:00Z", "2026-12-01T17:00:00+25:00"]


@pytest.mark.parametrize("moment", NO_SUCH_TIME)
def test_a_due_date_that_names_no_such_time_is_a_400_on_create_patch_and_filters(api, moment):
    task = api.created()
    answers = [
        api.create(due_at=moment),
        api.patch(task["task_id"], {"due_at": moment}),
        api.list(user_id="alice", due_before=moment),
    ]
    for response in answers:
        assert response.status_code == 400, response.content
        assert response.json()["error"]["details"]["due_at" if response is not answers[2] else "due_before"]


# ISO 8601 forms that are not RFC 3339 date-times (SPEC §1 `due_at`), each of 2026-12-01T17:00:00Z.
NOT_RFC_3339 = [
    "2026-W49-2T17:00:00Z",  # week date
    "2026-335T17:00:00Z",  # ordinal date
    "20261201T170000Z",  # basic format
    "2026-12-01T17:00Z",  # no seconds
    "2026-12-01T17Z",  # the hour alone
    "2026-12-01T17:00:00,0Z",  # a comma before the fraction
    "2026-12-01T17:00:00.Z",  # a point without a fraction
    "2026-12-01T18:00:00+0100",  # an offset without its colon
    "2026-12-01T18:00:00+01",  # an offset without minutes
    "2026-12-01T17:00:00 Z",  # a space before the offset
    "2026-12-01x17:00:00Z",  # another separator than T (or a space)
    "2026-12-01T17:00:00UTC",
    "２０２６-１２-０１T１７:００:００Z",  # full-width digits  # noqa: RUF001
    "२०२६-12-01T17:00:00Z",  # Devanagari digits
    " 2026-12-01T17:00:00Z",
    "2026-12-01T17:00:00Z\n",
    "+2026-12-01T17:00:00Z",  # an expanded year
]


@pytest.mark.parametrize("moment", NOT_RFC_3339)
def test_a_due_date_that_is_iso_8601_but_not_rfc_3339_is_a_400_on_create_patch_and_filters(api, aws, moment):
    task = api.created()
    aws.drain()
    answers = {
        "due_at": [api.create(due_at=moment), api.patch(task["task_id"], {"due_at": moment})],
        "due_before": [api.list(user_id="alice", due_before=moment)],
        "due_after": [api.list(user_id="alice", due_after=moment, sort="due_at")],
    }
    for field, responses in answers.items():
        for response in responses:
            assert response.status_code == 400, (field, response.content)
            error = response.json()["error"]
            assert error["code"] == "VALIDATION_ERROR"
            [message] = error["details"][field]
            assert "RFC 3339" in message, message
            assert "2026-12-01T17:00:00Z" in message, message
    assert api.get(task["task_id"]).json()["data"] == task
    assert aws.drain() == []


@pytest.mark.parametrize(
    ("moment", "stored"),
    [
        ("2026-12-01T17:00:00Z", "2026-12-01T17:00:00.000000Z"),
        ("2026-12-01t17:00:00z", "2026-12-01T17:00:00.000000Z"),  # RFC 3339 §5.6: T and Z in either case
        ("2026-12-01T18:30:00+01:30", "2026-12-01T17:00:00.000000Z"),
        ("2026-12-01T12:00:00-05:00", "2026-12-01T17:00:00.000000Z"),
        ("2026-12-01T17:00:00-00:00", "2026-12-01T17:00:00.000000Z"),  # RFC 3339 §4.3: UTC, local offset unknown
        ("2026-12-01T17:00:00.5Z", "2026-12-01T17:00:00.500000Z"),
        ("2026-12-01T17:00:00.123456789Z", "2026-12-01T17:00:00.123456Z"),  # a fraction of any length
        ("2026-12-01 17:00:00Z", "2026-12-01T17:00:00.000000Z"),  # a space for the T (RFC 3339 §5.6's note)
    ],
)
def test_a_due_date_in_rfc_3339_is_taken_on_create_patch_and_filters(api, moment, stored):
    task = api.created(due_at=moment)
    assert task["due_at"] == stored
    other = api.created()
    assert api.patch(other["task_id"], {"due_at": moment}).json()["data"]["due_at"] == stored
    for edge in ("due_before", "due_after"):
        response = api.list(user_id="alice", **{edge: moment})
        assert response.status_code == 200, response.content


def test_an_empty_body_hears_of_every_missing_field_at_once(api):
    """With authentication off the owner is required too: one answer names both, not one at a time."""
    response = api.client.post("/tasks", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"title", "user_id"}


def test_a_body_that_had_to_name_its_owner_leaves_the_next_body_as_declared():
    """Each body has its own copy of the fields: requiring `user_id` for one (AUTH_MODE=none
    with no caller) must not require it of the next."""
    owner_required = TaskCreateRequest(data={"title": "t"}, context={"owner_required": True})
    assert not owner_required.is_valid()
    assert set(owner_required.errors) == {"user_id"}
    assert TaskCreateRequest(data={"title": "t"}).is_valid()
