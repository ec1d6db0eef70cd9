"""Racing requests on the local AWS: one change wins, the others get 412 or 409, only the winner's
events exist, and repeats under one Idempotency-Key make one change between them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rest_framework.test import APIClient

from tests.conftest import TaskApi

JOIN_SECONDS = 60


def together(count: int, request: Callable[[TaskApi, int], Any]) -> list[Any]:
    """Send `count` requests at once, each from its own client; their responses in thread order.

    A request that raises fails the test with its own traceback; none may take over JOIN_SECONDS.
    """
    barrier = threading.Barrier(count, timeout=JOIN_SECONDS)

    def send(index: int) -> Any:
        api = TaskApi(APIClient())
        barrier.wait()
        return request(api, index)

    pool = ThreadPoolExecutor(max_workers=count)
    try:
        futures = [pool.submit(send, index) for index in range(count)]
        return [future.result(timeout=JOIN_SECONDS) for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def statuses(responses: list[Any]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def event_types(aws) -> Counter[str]:
    return Counter(event["event_type"] for event in aws.drain())


def test_of_16_patches_with_the_same_if_match_one_wins_and_fifteen_get_412(api, aws):
    task = api.created(title="start")
    aws.drain()
    responses = together(
        16, lambda caller, i: caller.patch(task["task_id"], {"title": f"writer {i}"}, headers={"If-Match": '"1"'})
    )
    assert statuses(responses) == {200: 1, 412: 15}, [r.content for r in responses]
    [winner] = [r for r in responses if r.status_code == 200]
    assert winner.json()["data"]["version"] == 2
    for loser in (r for r in responses if r.status_code == 412):
        assert loser.json()["error"]["code"] == "PRECONDITION_FAILED"
        assert loser["ETag"] == '"2"'
    assert api.get(task["task_id"]).json()["data"] == winner.json()["data"]
    [event] = aws.drain()
    assert event["event_type"] == "TaskUpdated"
    assert event["data"]["changes"]["title"]["new"] == winner.json()["data"]["title"]


def test_16_patches_without_if_match_each_apply_or_409_and_only_applied_ones_have_events(api, aws):
    task = api.created(title="start")
    aws.drain()
    responses = together(16, lambda caller, i: caller.patch(task["task_id"], {"description": f"writer {i}"}))
    applied = [r.json()["data"]["version"] for r in responses if r.status_code == 200]
    assert set(statuses(responses)) <= {200, 409}, [r.content for r in responses]
    assert sorted(applied) == list(range(2, 2 + len(applied)))
    assert api.get(task["task_id"]).json()["data"]["version"] == 1 + len(applied)
    # Each request relays its task's outbox, so overlapping relays may publish an event twice
    # (at-least-once, SPEC §4): count events by id. Only the applied changes may have any.
    events = {event["event_id"]: event for event in aws.drain()}.values()
    assert sorted(event["data"]["sequence"] for event in events) == sorted(applied)
    assert {event["event_type"] for event in events} <= {"TaskUpdated"}


def test_of_8_concurrent_completes_one_wins_and_the_rest_are_409(api, aws):
    task = api.created()
    aws.drain()
    responses = together(8, lambda caller, i: caller.complete(task["task_id"]))
    assert statuses(responses) == {200: 1, 409: 7}, [r.content for r in responses]
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.json()["error"]["code"] == "INVALID_TRANSITION"
    assert event_types(aws) == {"TaskStatusChanged": 1, "TaskCompleted": 1}
    assert api.get(task["task_id"]).json()["data"]["version"] == 3


def test_racing_completes_and_cancels_leave_one_outcome_and_its_events(api, aws):
    task = api.created()
    aws.drain()
    responses = together(8, lambda caller, i: caller.act(task["task_id"], "complete" if i % 2 else "cancel"))
    assert statuses(responses) == {200: 1, 409: 7}, [r.content for r in responses]
    [winner] = [r.json()["data"] for r in responses if r.status_code == 200]
    assert api.get(task["task_id"]).json()["data"] == winner
    events = aws.drain()
    assert [e["data"]["new_status"] for e in events if e["event_type"] == "TaskStatusChanged"] == [winner["status"]]
    assert len(events) == (2 if winner["status"] == "completed" else 1)


def test_a_delete_racing_edits_under_one_if_match_lets_exactly_one_of_them_happen(api, aws):
    task = api.created()
    aws.drain()
    stale = {"If-Match": '"1"'}
    responses = together(
        8,
        lambda caller, i: (
            caller.delete(task["task_id"], headers=stale)
            if i == 0
            else caller.patch(task["task_id"], {"title": f"edit {i}"}, headers=stale)
        ),
    )
    codes = statuses(responses)
    assert codes[200] + codes[204] == 1, codes
    if responses[0].status_code == 204:  # the edits that came later found it gone
        assert set(codes) <= {204, 404, 412}, codes
        assert api.get(task["task_id"]).status_code == 404
        assert event_types(aws) == {"TaskDeleted": 1}
    else:
        assert set(codes) == {200, 412}, codes
        assert api.get(task["task_id"]).json()["data"]["version"] == 2
        assert event_types(aws) == {"TaskUpdated": 1}


def test_8_concurrent_creates_with_one_key_make_one_task_and_one_answer(api, aws):
    body = {"user_id": "alice", "title": "only once"}
    responses = together(
        8, lambda caller, i: caller.client.post("/tasks", body, format="json", headers={"Idempotency-Key": "race-1"})
    )
    assert statuses(responses) == {201: 8}, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    assert [r.headers.get("Idempotent-Replayed") for r in responses].count(None) == 1
    assert len(api.listed_ids(user_id="alice")) == 1
    assert event_types(aws) == {"TaskCreated": 1}


def test_8_concurrent_patches_with_one_key_make_one_change(api, aws):
    task = api.created()
    aws.drain()
    responses = together(
        8, lambda caller, i: caller.patch(task["task_id"], {"title": "once"}, headers={"Idempotency-Key": "race-2"})
    )
    assert statuses(responses) == {200: 8}, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["data"]["version"] == 2
    assert event_types(aws) == {"TaskUpdated": 1}


def test_8_concurrent_completes_with_one_key_all_get_the_winners_answer(api, aws):
    task = api.created()
    aws.drain()
    responses = together(8, lambda caller, i: caller.act(task["task_id"], "complete", {"Idempotency-Key": "race-3"}))
    assert statuses(responses) == {200: 8}, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    assert event_types(aws) == {"TaskStatusChanged": 1, "TaskCompleted": 1}
