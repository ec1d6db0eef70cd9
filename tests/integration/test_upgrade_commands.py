"""The upgrade's data fixes on the local AWS: `backfill_indexes` puts older tasks into GSI2/GSI3, and
`rebuild_read_models` turns the previous release's statistics into exact ones, even while events arrive."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from events_app import bootstrap as events_wiring
from events_app.handlers import handle_message
from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.models import TaskItem
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId


def today() -> str:
    """The UTC date when asked, not when the module was imported: a run crossing midnight."""
    return datetime.now(UTC).date().isoformat()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def store_as_the_previous_release_did(title: str = "old") -> str:
    """A live task written through `TaskItem` without its GSI2/GSI3 keys; returns its id."""
    bootstrap.table_connection()
    task = Task.create(user_id=UserId("alice"), title=title, now=datetime.now(UTC))
    task.pull_events()
    item = TaskItem.from_domain(task)
    item.gsi2pk = item.gsi2sk = item.gsi3pk = item.gsi3sk = None
    item.save()
    return str(task.task_id)


def table(aws) -> list[dict[str, Any]]:
    items = aws.target.client("dynamodb").scan(TableName=aws.resources.table_name, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def test_backfill_puts_a_task_stored_without_the_new_index_keys_into_listings_by_status_and_due_date(aws, api):
    task_id = store_as_the_previous_release_did()
    assert api.listed_ids(user_id="alice", status="pending") == []

    assert "Updated 1 task with" in run("backfill_indexes")
    assert api.listed_ids(user_id="alice", status="pending") == [task_id]
    assert api.listed_ids(user_id="alice", sort="due_at") == [task_id]
    assert "Updated 0 tasks" in run("backfill_indexes")


def test_a_dry_backfill_counts_the_tasks_lacking_keys_and_changes_nothing(aws, api):
    store_as_the_previous_release_did()
    api.created()  # stored by this release: it has its keys
    before = table(aws)
    assert "Dry run: 1 task without GSI2/GSI3 keys (or GSI4" in run("backfill_indexes", "--dry-run")
    assert table(aws) == before


def test_a_long_backfill_reports_progress_every_500_items(aws):
    bootstrap.table_connection()
    with TaskItem.batch_write() as batch:
        for number in range(520):
            task = Task.create(user_id=UserId("alice"), title=f"t{number}", now=datetime.now(UTC))
            item = TaskItem.from_domain(task)
            item.gsi2pk = item.gsi2sk = item.gsi3pk = item.gsi3sk = None
            batch.save(item)
    output = run("backfill_indexes")
    assert "Scanned up to 500 items" in output
    assert "Updated 520 tasks" in output


# The statistics. A mixed lifecycle for alice (as in test_read_model_pipeline) and one task for bob:
def exact_alice() -> dict[str, Any]:
    return {
        "user_id": "alice",
        "counts": {"pending": 0, "in_progress": 0, "completed": 1, "cancelled": 1},
        "today": {"date": today(), "created": 3, "completed": 2},
    }


def exact_bob() -> dict[str, Any]:
    return {
        "user_id": "bob",
        "counts": {"pending": 0, "in_progress": 1, "completed": 0, "cancelled": 0},
        "today": {"date": today(), "created": 1, "completed": 0},
    }


def mixed_lifecycle(api) -> dict[str, str]:
    """Three tasks of alice (kept: around the whole lifecycle, then cancelled; trashed; done) and
    one of bob (started); returns the ids by name. Their events are left on the queue."""
    client = api.client
    ids = {title: api.created(title=title)["task_id"] for title in ("kept", "trashed", "done")}
    kept = ids["kept"]
    for action in ("start", "complete", "reopen"):
        assert client.post(f"/tasks/{kept}/{action}").status_code == 200
    assert client.patch(f"/tasks/{kept}", {"title": "kept, renamed"}, format="json").status_code == 200
    assert client.delete(f"/tasks/{kept}").status_code == 204
    assert client.post(f"/tasks/{kept}/restore").status_code == 200
    assert client.post(f"/tasks/{kept}/cancel").status_code == 200
    assert client.delete(f"/tasks/{ids['trashed']}").status_code == 204
    assert client.post(f"/tasks/{ids['done']}/complete").status_code == 200
    ids["bob"] = api.created(user_id="bob", title="bob's")["task_id"]
    assert client.post(f"/tasks/{ids['bob']}/start").status_code == 200
    return ids


def stats(api, user: str) -> dict[str, Any]:
    response = api.client.get("/tasks/stats", {"user_id": user})
    assert response.status_code == 200, response.content
    return dict(response.json()["data"])


def put_row(aws, user: str, sk: str, **counts: int) -> None:
    item = {"PK": {"S": f"USER#{user}"}, "SK": {"S": sk}, "Type": {"S": "UserStats"}}
    item.update({name: {"N": str(value)} for name, value in counts.items()})
    aws.target.client("dynamodb").put_item(TableName=aws.resources.table_name, Item=item)


def delete_state(aws, task_id: str) -> None:
    key = {"PK": {"S": f"TASK#{task_id}"}, "SK": {"S": "STATE"}}
    aws.target.client("dynamodb").delete_item(TableName=aws.resources.table_name, Key=key)


def state(aws, task_id: str) -> dict[str, Any]:
    key = {"PK": {"S": f"TASK#{task_id}"}, "SK": {"S": "STATE"}}
    item = aws.target.client("dynamodb").get_item(TableName=aws.resources.table_name, Key=key, ConsistentRead=True)
    return {name: item["Item"][name] for name in ("UserId", "TaskStatus", "StatusSequence", "Trashed", "TrashSequence")}


@pytest.fixture
def upgraded(aws, api) -> dict[str, str]:
    """The table as the upgrade finds it: history complete, no STATE items, and counters as the
    previous release kept them (+1/-1 per event, trash ignored, a day row off by some)."""
    ids = mixed_lifecycle(api)
    aws.process_events()
    for task_id in ids.values():
        delete_state(aws, task_id)
    put_row(aws, "alice", "STATS", Pending=1, InProgress=0, Completed=1, Cancelled=1)
    put_row(aws, "alice", f"STATS#{today()}", Created=4, Completed=2)
    put_row(aws, "bob", "STATS", Pending=-1, InProgress=2)
    put_row(aws, "carol", "STATS", Pending=5)  # a user whose tasks are all gone: counts nothing
    return ids


def test_the_rebuild_turns_the_previous_releases_counters_into_exact_ones_and_a_second_run_changes_nothing(
    aws, api, upgraded
):
    assert stats(api, "alice") != exact_alice()

    output = run("rebuild_read_models")
    assert "Scanned " in output
    assert "Rebuilt 3 users from the history of 4 tasks: 4 STATE items repaired, 4 counter rows changed." in output
    assert (stats(api, "alice"), stats(api, "bob")) == (exact_alice(), exact_bob())
    assert stats(api, "carol")["counts"] == {"pending": 0, "in_progress": 0, "completed": 0, "cancelled": 0}
    kept = {"UserId": {"S": "alice"}, "TaskStatus": {"S": "cancelled"}, "StatusSequence": {"N": "9"}}
    assert state(aws, upgraded["kept"]) == {**kept, "Trashed": {"BOOL": False}, "TrashSequence": {"N": "8"}}
    assert state(aws, upgraded["trashed"])["Trashed"] == {"BOOL": True}
    rows = [item for item in table(aws) if item["SK"]["S"].startswith("STATS")]
    assert {item["Type"]["S"] for item in rows} == {"UserStats"}  # the marks are gone

    before = table(aws)
    assert "0 STATE items repaired, 0 counter rows changed" in run("rebuild_read_models")
    assert table(aws) == before


def test_events_applied_after_the_rebuild_keep_the_counters_exact(aws, api, upgraded):
    run("rebuild_read_models")
    assert api.client.post(f"/tasks/{upgraded['kept']}/reopen").status_code == 200
    assert api.client.post(f"/tasks/{upgraded['trashed']}/restore").status_code == 200
    aws.process_events()
    assert stats(api, "alice")["counts"] == {"pending": 2, "in_progress": 0, "completed": 1, "cancelled": 0}


def test_a_dry_rebuild_reports_what_would_change_and_writes_nothing(aws, api, upgraded):
    before = table(aws)
    output = run("rebuild_read_models", "--dry-run")
    assert "Dry run: 3 users, 4 tasks read; 4 STATE items and 4 counter rows would change." in output
    assert table(aws) == before


def test_a_rebuild_for_one_user_leaves_the_others_as_they_were(aws, api, upgraded):
    bob_before = stats(api, "bob")
    assert "Rebuilt 1 user from the history of 3 tasks" in run("rebuild_read_models", "--user", "alice")
    assert stats(api, "alice") == exact_alice()
    assert stats(api, "bob") == bob_before
    assert "Nothing found for user 'dave'" in run("rebuild_read_models", "--user", "dave")


class DeliverOnFirstTransaction:
    """A botocore `before-call` handler that applies held-back events just before the first
    TransactWriteItems it sees is sent: a consumer racing the rebuild's first STATE repair."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.fired = False

    def __call__(self, **_: Any) -> None:
        if self.fired:
            return  # the consumer's own transactions
        self.fired = True
        for message in self.messages:
            handle_message(json.dumps(message), read_models=events_wiring.read_models())


def test_events_applied_while_the_rebuild_runs_are_counted_once(aws, api):
    task_id = api.created()["task_id"]
    for action in ("start", "complete"):
        assert api.client.post(f"/tasks/{task_id}/{action}").status_code == 200
    messages = [{k: v for k, v in m.items() if k != "_attributes"} for m in aws.drain()]
    messages.sort(key=lambda message: message["data"]["sequence"])
    for message in messages[:2]:  # created, started: applied before the rebuild
        handle_message(json.dumps(message), read_models=events_wiring.read_models())
    delete_state(aws, task_id)  # as the previous release left it
    put_row(aws, "alice", "STATS", Pending=3)
    racer = DeliverOnFirstTransaction(messages[2:])  # completed: applied during the rebuild
    client = bootstrap.table_connection().client
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", racer)
    try:
        output = run("rebuild_read_models")
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", racer)
    assert racer.fired, output
    assert stats(api, "alice") == {
        "user_id": "alice",
        "counts": {"pending": 0, "in_progress": 0, "completed": 1, "cancelled": 0},
        "today": {"date": today(), "created": 1, "completed": 1},
    }
    assert state(aws, task_id)["TaskStatus"] == {"S": "completed"}


def test_a_history_item_that_is_not_an_event_stops_the_rebuild_with_its_key(aws):
    item = {"PK": {"S": "TASK#task-x"}, "SK": {"S": "EVENT#0000000001"}, "Type": {"S": "TaskEvent"}}
    item.update({"EventId": {"S": "e"}, "EventType": {"S": "TaskCreated"}, "Message": {"S": "not json"}})
    aws.target.client("dynamodb").put_item(TableName=aws.resources.table_name, Item=item)
    with pytest.raises(CommandError, match="TASK#task-x / EVENT#0000000001 is not an event"):
        run("rebuild_read_models")
