"""GET /tasks/{id} and GET /tasks?user_id=…"""

import gc
import weakref
from datetime import UTC, datetime

import pytest

from tasks_app.api.serializers import TaskResponse
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId


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
    """TaskResponse binds its fields once per process: they must not hold the first answer's task."""
    monkeypatch.delattr(TaskResponse, "_shared_fields", raising=False)  # bound afresh by this answer
    task = Task.create(user_id=UserId("alice"), title="Render me", now=datetime.now(UTC))

    assert TaskResponse(task).data["title"] == "Render me"

    rendered = weakref.ref(task)
    del task
    gc.collect()
    assert rendered() is None
