"""GET /tasks filters and sorting: status (comma-separated), priority, tag, due_before, due_after,
sort, and cursors that stay bound to the listing that issued them."""

from typing import Any

import pytest


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def board(api) -> dict[str, dict]:
    """Alice's tasks in every status, priority and due date, created in this order (bob has one too)."""
    specs: dict[str, dict[str, Any]] = {
        "todo": {"priority": "low", "tags": ["Home"], "due_at": "2030-01-03T00:00:00Z"},
        "doing": {"priority": "high", "tags": ["work"], "due_at": "2030-01-01T00:00:00Z"},
        "done": {"priority": "high", "tags": ["work", "home"]},
        "dropped": {"priority": "urgent", "due_at": "2030-01-02T00:00:00+05:00"},
        "plain": {},
    }
    tasks = {name: api.created(title=name, **fields) for name, fields in specs.items()}
    api.act(tasks["doing"]["task_id"], "start")
    api.act(tasks["done"]["task_id"], "complete")
    api.act(tasks["dropped"]["task_id"], "cancel")
    api.created(user_id="bob", priority="high", tags=["work"])
    return tasks


def titles(api, **params) -> list[str]:
    response = api.list(user_id="alice", **params)
    assert response.status_code == 200, response.content
    return [task["title"] for task in response.json()["data"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["plain", "dropped", "done", "doing", "todo"]),
        ({"status": "pending"}, ["plain", "todo"]),
        ({"status": "in_progress"}, ["doing"]),
        ({"status": "completed,cancelled"}, ["dropped", "done"]),
        ({"status": "pending, in_progress"}, ["plain", "doing", "todo"]),
        ({"priority": "high"}, ["done", "doing"]),
        ({"priority": "normal"}, ["plain"]),
        ({"tag": "home"}, ["done", "todo"]),
        ({"tag": "WORK"}, ["done", "doing"]),
        ({"due_before": "2030-01-02T00:00:00Z"}, ["dropped", "doing"]),
        ({"due_after": "2030-01-01T00:00:00Z"}, ["dropped", "todo"]),
        ({"due_after": "2030-01-01T12:00:00+01:00", "due_before": "2030-01-03T00:00:00Z"}, ["dropped"]),
        ({"status": "pending,in_progress", "priority": "high"}, ["doing"]),
        ({"tag": "work", "status": "completed"}, ["done"]),
        ({"sort": "-created_at"}, ["plain", "dropped", "done", "doing", "todo"]),
        ({"sort": "due_at", "status": "pending,in_progress,cancelled"}, ["doing", "dropped", "todo", "plain"]),
    ],
)
def test_each_filter_and_sort_keeps_the_right_tasks_in_order(api, board, params, expected):
    assert titles(api, **params) == expected


def test_sorting_by_due_date_puts_the_soonest_first_and_undated_tasks_last(api, board):
    listed = titles(api, sort="due_at")
    assert listed[:3] == ["doing", "dropped", "todo"]
    assert sorted(listed[3:]) == ["done", "plain"]


def test_filters_that_match_nothing_give_an_empty_page(api, board):
    assert api.list(user_id="alice", tag="nowhere").json() == {
        "success": True,
        "data": [],
        "pagination": {"next_cursor": None, "limit": 50},
    }


@pytest.mark.parametrize(
    ("params", "matching"),
    [
        ({"status": "pending"}, {1, 3, 5, 7}),
        ({"status": "pending,completed"}, {0, 1, 3, 4, 5, 7, 8}),
        ({"priority": "low"}, {0, 2, 4, 6, 8}),
        ({"tag": "odd"}, {1, 3, 5, 7}),
        ({"due_before": "2030-06-01T00:00:00Z"}, {2, 4, 8}),
        ({"due_after": "2030-01-01T00:00:00Z"}, {1, 2, 4, 5, 7, 8}),
        ({"sort": "due_at"}, set(range(9))),
        ({"sort": "due_at", "status": "completed,in_progress"}, {0, 2, 4, 6, 8}),
        ({"sort": "due_at", "priority": "high", "tag": "odd"}, {1, 3, 5, 7}),
    ],
)
def test_pages_of_a_filtered_listing_hold_every_match_once(api, params, matching):
    ids = []
    for i in range(9):  # due months 6, 2, 3, 8, 9, 5 for i = 1, 2, 4, 5, 7, 8; none for 0, 3, 6
        fields = {"priority": "high" if i % 2 else "low", "tags": ["odd"] if i % 2 else ["even"]}
        if i % 3:
            fields["due_at"] = f"2030-{1 + (i * 5) % 9:02d}-01T00:00:00Z"
        ids.append(api.created(title=f"t{i}", **fields)["task_id"])
        if i % 4 == 0:
            api.act(ids[-1], "complete")
        elif i % 4 == 2:
            api.act(ids[-1], "start")
    in_one_go = api.listed_ids(user_id="alice", limit=100, **params)
    assert sorted(in_one_go) == sorted(ids[i] for i in matching)
    assert api.listed_ids(user_id="alice", limit=2, **params) == in_one_go
    assert api.listed_ids(user_id="alice", limit=3, **params) == in_one_go


def test_a_cursor_works_only_for_the_listing_that_issued_it(api, board):
    cursor = api.list(user_id="alice", status="pending,in_progress", limit=1).json()["pagination"]["next_cursor"]
    assert api.list(user_id="alice", status="pending,in_progress", limit=1, cursor=cursor).status_code == 200
    for other in (
        {"status": "pending"},
        {"status": "pending,in_progress", "priority": "high"},
        {"status": "pending,in_progress", "tag": "work"},
        {"status": "pending,in_progress", "due_after": "2000-01-01T00:00:00Z"},
        {"status": "pending,in_progress", "sort": "due_at"},
        {},
    ):
        response = api.list(user_id="alice", limit=1, cursor=cursor, **other)
        assert "cursor" in assert_error(response, 400, "VALIDATION_ERROR")["details"], other
    response = api.list(user_id="bob", status="pending,in_progress", limit=1, cursor=cursor)
    assert_error(response, 400, "VALIDATION_ERROR")


def test_a_cursor_of_a_due_date_listing_is_refused_by_the_newest_first_listing(api, board):
    cursor = api.list(user_id="alice", sort="due_at", limit=1).json()["pagination"]["next_cursor"]
    assert_error(api.list(user_id="alice", limit=1, cursor=cursor), 400, "VALIDATION_ERROR")
    assert api.list(user_id="alice", sort="due_at", limit=1, cursor=cursor).status_code == 200


def test_a_tampered_cursor_is_a_400(api, board):
    cursor = api.list(user_id="alice", limit=1).json()["pagination"]["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    assert_error(api.list(user_id="alice", limit=1, cursor=tampered), 400, "VALIDATION_ERROR")
    assert_error(api.list(user_id="alice", cursor="not a cursor"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": "pending,done"}, "status"),
        ({"status": ","}, "status"),
        ({"priority": "critical"}, "priority"),
        ({"due_before": "2030-01-01"}, "due_before"),
        ({"due_before": "2030-01-01T00:00:00"}, "due_before"),
        ({"due_after": "soon"}, "due_after"),
        ({"sort": "title"}, "sort"),
        ({"sort": "created_at"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"tag": "t" * 41}, "tag"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(api, params, field):
    error = assert_error(api.list(user_id="alice", **params), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
