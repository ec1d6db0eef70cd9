"""POST /tasks/{id}/complete."""

import threading

from rest_framework.test import APIClient


def test_completing_returns_the_completed_task(api):
    task = api.created()
    response = api.complete(task["task_id"])
    assert response.status_code == 200
    done = response.json()["data"]
    assert done["status"] == "completed"
    assert done["completed_at"] == done["updated_at"]
    assert done["completed_at"] >= task["created_at"]
    assert api.get(task["task_id"]).json()["data"] == done


def test_completing_publishes_status_changed_then_completed(api, aws):
    task = api.created(title="Finish me")
    aws.drain()
    api.complete(task["task_id"])
    changed, completed = aws.drain()
    assert changed["event_type"] == "TaskStatusChanged"
    assert (changed["data"]["old_status"], changed["data"]["new_status"]) == ("pending", "completed")
    assert completed["event_type"] == "TaskCompleted"
    assert completed["data"]["task_title"] == "Finish me"
    assert {changed["aggregate_id"], completed["aggregate_id"]} == {task["task_id"]}


def test_completing_twice_is_a_409_that_emits_no_events(api, aws):
    task = api.created()
    api.complete(task["task_id"])
    aws.drain()
    response = api.complete(task["task_id"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "INVALID_TRANSITION"
    assert "completed" in response.json()["error"]["message"]
    assert aws.drain() == []


def test_concurrent_completes_give_exactly_one_success_and_one_set_of_events(api, aws):
    task = api.created()
    aws.drain()
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def complete() -> None:
        client = APIClient()
        barrier.wait()
        statuses.append(client.post(f"/tasks/{task['task_id']}/complete").status_code)

    threads = [threading.Thread(target=complete) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409, 409, 409]
    assert sorted(e["event_type"] for e in aws.drain()) == ["TaskCompleted", "TaskStatusChanged"]


def test_completing_an_unknown_task_is_a_404(api):
    response = api.complete("task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_body_field_sent_with_complete_is_a_400_naming_it_not_ignored(api):
    """SPEC §2: unknown body fields are a 400 naming them; complete takes none (it was ignored)."""
    task = api.created()
    response = api.client.post(f"/tasks/{task['task_id']}/complete/", {"status": "cancelled"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["status"]
    assert api.get(task["task_id"]).json()["data"] == task
    assert api.complete(task["task_id"]).json()["data"]["status"] == "completed"
