"""GET /tasks/{id}/events and GET /tasks/stats, filled by the event consumers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from events_app import bootstrap as events_wiring
from events_app.handlers import handle_message


def test_a_tasks_history_lists_its_events_oldest_first(api, aws):
    task = api.created(title="Tell the story")
    api.complete(task["task_id"])
    assert aws.process_events() == 3
    response = api.client.get(f"/tasks/{task['task_id']}/events")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [e["event_type"] for e in body["data"]] == ["TaskCreated", "TaskStatusChanged", "TaskCompleted"]
    assert [e["data"]["sequence"] for e in body["data"]] == [1, 2, 3]
    assert {e["aggregate_id"] for e in body["data"]} == {task["task_id"]}
    assert body["data"][0]["data"]["task_title"] == "Tell the story"
    assert api.client.get(f"/tasks/{task['task_id']}/events/").json() == body


def test_a_task_whose_events_have_not_arrived_yet_has_an_empty_history(api, aws):
    task = api.created()
    response = api.client.get(f"/tasks/{task['task_id']}/events")
    assert (response.status_code, response.json()["data"]) == (200, [])


def test_the_history_of_an_unknown_task_is_a_404(api):
    for task_id in ("task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21", "nonsense"):
        response = api.client.get(f"/tasks/{task_id}/events")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_stats_count_a_users_tasks_by_status_and_today(api, aws):
    first, _second, third = (api.created(title=f"t{i}") for i in range(3))
    api.created(user_id="bob")
    api.complete(first["task_id"])
    api.complete(third["task_id"])
    aws.process_events()
    response = api.client.get("/tasks/stats", {"user_id": "alice"})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {
            "user_id": "alice",
            "counts": {"pending": 1, "in_progress": 0, "completed": 2, "cancelled": 0},
            "today": {"date": datetime.now(UTC).date().isoformat(), "created": 3, "completed": 2},
        },
    }


def test_processing_the_same_events_twice_changes_no_count(api, aws):
    api.created()
    messages = aws.drain()
    for message in messages + messages:
        message.pop("_attributes", None)
        handle_message(json.dumps(message), read_models=events_wiring.read_models())
    assert api.client.get("/tasks/stats", {"user_id": "alice"}).json()["data"]["counts"]["pending"] == 1


def test_stats_need_a_user(api):
    response = api.client.get("/tasks/stats")
    assert response.status_code == 400
    assert "user_id" in response.json()["error"]["details"]
    assert api.client.post("/tasks/stats").status_code == 405
