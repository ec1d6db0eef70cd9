"""One request's id (and, deployed, its X-Ray trace header) from the API through the outbox, the
stream relay, SNS and SQS to the Lambda consumer, on the local AWS (SPEC §9)."""

from __future__ import annotations

from datetime import UTC, datetime

from config.lambda_handlers import consume_events
from events_app import bootstrap as events_wiring
from tasks_app import bootstrap
from tasks_app.adapters.dynamodb.models import OutboxItem
from tasks_app.application.ports import OutboxEntry
from tasks_app.correlation import TRACE_HEADER_VARIABLE
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.lambda_events import sqs_event
from tests.log_lines import about, logged_lines

TRACE = "Root=1-674c2a10-5b0c8f2e9d1a4b3c2d1e0f9a;Parent=53995c3f42cd8ad8;Sampled=1"


def test_a_changes_request_id_reaches_the_queue_and_every_line_the_relay_and_consumer_write(api, aws):
    created = api.client.post(
        "/tasks", {"user_id": "alice", "title": "Follow me"}, format="json", HTTP_X_REQUEST_ID="req-follow-1"
    )
    assert created.status_code == 201
    completed = api.client.post(f"/tasks/{created.json()['data']['task_id']}/complete", HTTP_X_REQUEST_ID="req-2")
    assert completed.status_code == 200
    with logged_lines() as lines:
        messages = sorted(aws.drain(), key=lambda message: message["data"]["sequence"])
        event_ids = [message["event_id"] for message in messages]
        assert [m["_attributes"]["request_id"]["StringValue"] for m in messages] == ["req-follow-1", "req-2", "req-2"]
        assert all("trace_header" not in m["_attributes"] for m in messages)  # locally Lambda sets none
        assert consume_events(sqs_event(messages), None) == {"batchItemFailures": []}
    for event_id, request_id in zip(event_ids, ["req-follow-1", "req-2", "req-2"], strict=True):
        written = about(lines, event_id)
        assert {line["message"].split()[0] for line in written} >= {"Published", "Applied"}
        assert all(line["request_id"] == request_id and line["event_id"] == event_id for line in written), written


def test_deployed_the_invocations_trace_header_travels_with_the_events(api, aws, monkeypatch):
    monkeypatch.setenv(TRACE_HEADER_VARIABLE, TRACE)  # as Lambda sets it for each invocation
    assert api.client.post("/tasks", {"user_id": "alice", "title": "Traced"}, format="json").status_code == 201
    monkeypatch.delenv(TRACE_HEADER_VARIABLE)
    [message] = aws.drain()
    assert message["_attributes"]["trace_header"] == {"StringValue": TRACE, "DataType": "String"}


def test_an_event_stored_before_request_ids_is_relayed_and_consumed_with_a_null_request_id(aws):
    task = Task.create(user_id=UserId("bob"), title="From an older release", now=datetime.now(UTC))
    [event] = task.pull_events()
    bootstrap.outbox()  # binds the models to the local AWS, as a relay starting up does
    OutboxItem.from_entry(OutboxEntry.from_event(event)).save()  # no RequestId, no TraceHeader: as stored then
    with logged_lines() as lines:
        [message] = aws.drain()
        assert set(message["_attributes"]) == {"event_type"}
        assert consume_events(sqs_event([message]), None) == {"batchItemFailures": []}
    assert [m["event_id"] for m in events_wiring.read_models().history(str(task.task_id))] == [event.event_id]
    written = about(lines, event.event_id)
    assert {line["message"] for line in written} >= {"Published TaskCreated", "Applied TaskCreated"}
    assert all(line["request_id"] is None for line in written)
