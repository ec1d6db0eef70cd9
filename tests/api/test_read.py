"""GET /tasks/{id} and GET /tasks?user_id=…"""

import gc
import json
import weakref
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import pytest
from rest_framework import serializers

from events_app.api.serializers import UserStatsResponse
from events_app.ports import UserStats
from tasks_app.api.serializers import TaskResponse
from tasks_app.domain.task import Task
from tasks_app.domain.values import Priority, UserId


def test_getting_a_task_returns_it_in_the_envelope(api):
    task = api.created()
    response = api.get(task["task_id"])
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": task}
    assert api.client.get(f"/tasks/{task['task_id']}/").json()["data"] == task


def test_listing_returns_the_users_tasks_newest_first(api):
    titles = [api.created(title=f"task {i}")["title"] for i in range(3)]
    api.created(user_id="bob", title="not alice's")
    response = api.list(user_id="alice")
    assert response.status_code == 200
    body = response.json()
    assert [t["title"] for t in body["data"]] == list(reversed(titles))
    assert body["pagination"] == {"next_cursor": None, "limit": 50}


def test_a_user_with_no_tasks_gets_an_empty_list(api):
    assert api.list(user_id="nobody").json() == {
        "success": True,
        "data": [],
        "pagination": {"next_cursor": None, "limit": 50},
    }


def test_cursors_page_through_every_task_exactly_once(api):
    created = [api.created(title=f"t{i}")["task_id"] for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"user_id": "alice", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.list(**params).json()
        assert body["pagination"]["limit"] == 3
        seen += [t["task_id"] for t in body["data"]]
        pages += 1
        if (cursor := body["pagination"]["next_cursor"]) is None:
            break
    assert pages == 3
    assert seen == list(reversed(created))


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limits_of_1_and_100_are_accepted(api, limit):
    api.created()
    assert api.list(user_id="alice", limit=limit).json()["pagination"]["limit"] == int(limit)


def test_an_empty_cursor_means_the_first_page(api):
    api.created()
    assert len(api.list(user_id="alice", cursor="").json()["data"]) == 1


def test_a_rendered_task_is_not_kept_alive_by_the_fields_every_answer_shares(monkeypatch):
    """A ResponseSerializer binds its fields once per process (the schema and DRF's generic
    rendering read them): they must not hold the first task rendered through them."""
    monkeypatch.setattr(TaskResponse, "_shared_fields", None)  # bound afresh by this rendering
    task = Task.create(user_id=UserId("alice"), title="Render me", now=datetime.now(UTC))

    assert serializers.Serializer.to_representation(TaskResponse(task), task)["title"] == "Render me"

    rendered = weakref.ref(task)
    del task
    gc.collect()
    assert rendered() is None


def _task_in(shape: str) -> Task:
    now = datetime.now(UTC)
    task = Task.create(
        user_id=UserId("alice"),
        title="Render me",
        description="Every field",
        priority=Priority.HIGH,
        due_at=now + timedelta(days=2),
        tags=("home", "urgent"),
        now=now,
    )
    if shape == "bare":
        return Task.create(user_id=UserId("bob"), title="Nothing else", now=now)
    if shape in ("started", "completed", "trashed"):
        task.start(now + timedelta(minutes=1))
    if shape == "completed":
        task.complete(now + timedelta(minutes=2))
    if shape == "trashed":
        task.delete(now + timedelta(minutes=3))
    return task


@pytest.mark.parametrize("shape", ["bare", "created", "started", "completed", "trashed"])
def test_a_task_renders_exactly_as_its_declared_fields_would(shape):
    """TaskResponse writes its rendering out (issue 12): it must say what the declared fields,
    which the OpenAPI schema shows, would say, key for key and in their order."""
    task = _task_in(shape)

    written = TaskResponse(task).data
    declared = serializers.Serializer.to_representation(TaskResponse(task), task)

    assert list(written.items()) == list(declared.items())
    assert [type(value) for value in written.values()] == [
        type(value) if not isinstance(value, StrEnum) else str for value in declared.values()
    ]


@pytest.mark.parametrize(
    "stats",
    [
        UserStats(user_id="alice", day=date(2026, 12, 2)),
        UserStats(
            user_id="bob",
            day=date(2027, 1, 31),
            counts={"pending": 3, "in_progress": 2, "completed": 7, "cancelled": 1},
            created_on_day=4,
            completed_on_day=5,
        ),
    ],
)
def test_statistics_render_exactly_as_their_declared_fields_would(stats):
    written = UserStatsResponse(stats).data
    declared = serializers.Serializer.to_representation(UserStatsResponse(stats), stats)

    assert json.dumps(written) == json.dumps(declared)
