"""Every operation through HTTP, its events through SNS and SQS, delivered out of order and again:
history and stats come out exact (issue 9, "Done when")."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from events_app import bootstrap as events_wiring
from events_app.handlers import handle_message


def deliver(messages: list[dict[str, object]]) -> None:
    for message in messages:
        handle_message(json.dumps(message), read_models=events_wiring.read_models())


def test_a_mixed_run_delivered_backwards_shuffled_and_twice_gives_exact_history_and_stats(api, aws):
    client = api.client
    kept, trashed, done = (api.created(title=title)["task_id"] for title in ("Kept", "Trashed", "Done"))
    for path in ("start", "complete", "reopen"):
        assert client.post(f"/tasks/{kept}/{path}").status_code == 200
    assert client.patch(f"/tasks/{kept}", {"title": "Kept, renamed"}, format="json").status_code == 200
    assert client.delete(f"/tasks/{kept}").status_code == 204
    assert client.post(f"/tasks/{kept}/restore").status_code == 200
    assert client.post(f"/tasks/{kept}/cancel").status_code == 200
    assert client.delete(f"/tasks/{trashed}").status_code == 204
    assert client.post(f"/tasks/{done}/complete").status_code == 200
    messages = [{key: value for key, value in m.items() if key != "_attributes"} for m in aws.drain()]
    assert len(messages) == 9 + 2 + 3

    deliver(messages[::-1] + random.Random(9).sample(messages, len(messages)))  # noqa: S311 - a fixed order

    history = client.get(f"/tasks/{kept}/events").json()["data"]
    assert [event["data"]["sequence"] for event in history] == list(range(1, 10))
    assert [event["event_type"] for event in history] == [
        "TaskCreated",
        "TaskStatusChanged",
        "TaskStatusChanged",
        "TaskCompleted",
        "TaskStatusChanged",
        "TaskUpdated",
        "TaskDeleted",
        "TaskRestored",
        "TaskStatusChanged",
    ]
    stats = client.get("/tasks/stats", {"user_id": "alice"}).json()["data"]
    assert stats == {
        "user_id": "alice",
        "counts": {"pending": 0, "in_progress": 0, "completed": 1, "cancelled": 1},
        "today": {"date": datetime.now(UTC).date().isoformat(), "created": 3, "completed": 2},
    }
