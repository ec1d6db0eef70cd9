"""X-Ray with TRACING=on: what the recorder sends for an API request and for a consumed event,
captured with the SDK's emitter hook (a recorder's `emitter` is what sends to the daemon).

Installing patches botocore for the rest of this test process (wrapt's patches stay); the `xray`
fixture disables the SDK when it is done, so the other tests in the process record nothing.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from config import snapstart
from config.lambda_handlers import consume_events
from events_app import bootstrap as events_wiring
from events_app.handlers import handle_message
from tasks_app import tracing
from tests.lambda_events import sqs_event

LAMBDA_TRACE_ID = "1-6750a1b2-0123456789abcdef01234567"
LAMBDA_FACADE_ID = "53995c3f42cd8ad8"
REQUEST_TRACE_HEADER = "Root=1-6750a1b2-fedcba9876543210fedcba98;Parent=7f2a9c4e1b3d5a60;Sampled=1"


class CapturingEmitter:
    """Keeps every document the recorder would send to the daemon, parsed."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: str | None) -> None:
        """The recorder's interface; there is no daemon."""

    def entities(self) -> list[dict[str, Any]]:
        """Every segment and subsegment sent, nested ones included, each with its `parent_id`
        (streamed subsegments carry it; nested ones get their container's id)."""
        found: list[dict[str, Any]] = []

        def walk(document: dict[str, Any], parent_id: str | None) -> None:
            found.append({**document, "parent_id": document.get("parent_id") or parent_id})
            for child in document.get("subsegments", []):
                walk(child, document["id"])

        for document in self.sent:
            walk(document, None)
        return found

    def named(self, name: str) -> list[dict[str, Any]]:
        return [entity for entity in self.entities() if entity["name"] == name]


@pytest.fixture
def xray(settings: Any) -> Iterator[CapturingEmitter]:
    """Tracing on, as TRACING=on makes it (the middleware first), sending to a capturing emitter.

    Afterwards the SDK is disabled (its own global switch): the rest of the process records and
    sends nothing, though botocore stays patched."""
    from aws_xray_sdk import global_sdk_config

    global_sdk_config.set_sdk_enabled(True)
    recorder = tracing.install()
    emitter = CapturingEmitter()
    saved = recorder.emitter
    recorder.configure(emitter=emitter)
    settings.MIDDLEWARE = ["config.tracing.TracingMiddleware", *settings.MIDDLEWARE]
    yield emitter
    recorder.emitter = saved
    global_sdk_config.set_sdk_enabled(False)


@pytest.fixture
def on_lambda(xray: CapturingEmitter, monkeypatch: pytest.MonkeyPatch) -> Iterator[CapturingEmitter]:
    """The recorder as the SDK sets it up on Lambda (which it tells by LAMBDA_TASK_ROOT, read when
    it is imported): Lambda's context, its trace header in `_X_AMZN_TRACE_ID`, every closed
    subsegment streamed out at once."""
    from aws_xray_sdk.core.context import Context
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    recorder = tracing.recorder()
    assert recorder is not None
    threshold = recorder.streaming_threshold
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={LAMBDA_TRACE_ID};Parent={LAMBDA_FACADE_ID};Sampled=1")
    recorder.configure(context=LambdaContext(), streaming_threshold=0)
    yield xray
    recorder.configure(context=Context(), streaming_threshold=threshold)


def test_an_api_request_is_a_segment_named_by_its_operation_with_its_dynamodb_calls(api, xray):
    body = {"user_id": "alice", "title": "Traced"}
    response = api.client.post("/tasks", body, format="json", HTTP_X_REQUEST_ID="req-traced")
    assert response.status_code == 201, response.content

    [segment] = [entity for entity in xray.entities() if entity.get("type") != "subsegment"]
    assert segment["name"] == "tasks.create"
    assert segment["http"]["request"]["method"] == "POST"
    assert segment["http"]["request"]["url"] == "http://testserver/tasks"
    assert segment["http"]["response"]["status"] == 201
    assert segment["annotations"] == {
        "method": "POST",
        "url": "http://testserver/tasks",
        "status": 201,
        "operation": "tasks.create",
        "request_id": "req-traced",
    }
    assert not segment.get("error")
    assert not segment.get("fault")
    calls = [entity for entity in xray.entities() if entity["parent_id"] == segment["id"]]
    assert calls, "the create's DynamoDB calls should be subsegments of its segment"
    assert {call["name"] for call in calls} == {"dynamodb"}
    assert {call["namespace"] for call in calls} == {"aws"}
    assert "TransactWriteItems" in {call["aws"]["operation"] for call in calls}
    assert {call["http"]["response"]["status"] for call in calls} == {200}
    assert {call["trace_id"] for call in calls} == {segment["trace_id"]}


def test_a_client_error_is_flagged_and_named_by_the_operation_it_reached(api, xray):
    response = api.get("task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21")
    assert response.status_code == 404
    [segment] = xray.named("tasks.retrieve")
    assert segment["error"] is True
    assert segment["annotations"]["status"] == 404
    assert [call["aws"]["operation"] for call in xray.entities() if call["parent_id"] == segment["id"]] == ["GetItem"]


def test_a_path_no_route_serves_is_not_found(api, xray):
    assert api.client.get("/nothing/here").status_code == 404
    assert [segment["annotations"]["url"] for segment in xray.named("unmatched")] == ["http://testserver/nothing/here"]


def test_on_lambda_a_request_is_a_subsegment_of_the_functions_segment(api, on_lambda):
    response = api.create(title="Traced on Lambda")
    assert response.status_code == 201, response.content

    assert {entity["trace_id"] for entity in on_lambda.entities()} == {LAMBDA_TRACE_ID}
    [request] = on_lambda.named("tasks.create")
    assert request["type"] == "subsegment"
    assert request["parent_id"] == LAMBDA_FACADE_ID  # Lambda's own segment, which Lambda sends
    assert request["annotations"]["status"] == 201
    assert request["annotations"]["method"] == "POST"
    calls = [entity for entity in on_lambda.entities() if entity["parent_id"] == request["id"]]
    assert "TransactWriteItems" in {call["aws"]["operation"] for call in calls}
    assert {call["name"] for call in calls} == {"dynamodb"}


def test_a_consumed_event_continues_the_trace_of_the_request_that_caused_it(api, aws, xray):
    api.created()
    [request] = xray.named("tasks.create")
    [message] = aws.drain()
    assert "trace_header" in message["_attributes"]  # stored with the event, sent as an SNS/SQS attribute
    xray.sent.clear()

    assert consume_events(sqs_event([message]), None) == {"batchItemFailures": []}

    [segment] = xray.named(tracing.CONSUMER_SEGMENT)
    assert segment["trace_id"] == request["trace_id"]
    assert segment["parent_id"] == request["id"]  # under the API's operation in the trace's map
    writes = [entity for entity in xray.entities() if entity["parent_id"] == segment["id"]]
    assert writes
    assert {write["name"] for write in writes} == {"dynamodb"}
    assert {write["trace_id"] for write in writes} == {segment["trace_id"]}


def test_a_trace_header_given_to_a_consumer_is_continued(api, aws, xray):
    api.created()
    [message] = aws.drain()
    message.pop("_attributes")
    xray.sent.clear()

    with tracing.continued_trace(REQUEST_TRACE_HEADER, name=tracing.CONSUMER_SEGMENT):
        handle_message(json.dumps(message), read_models=events_wiring.read_models())

    [segment] = xray.named(tracing.CONSUMER_SEGMENT)
    assert segment["trace_id"] == "1-6750a1b2-fedcba9876543210fedcba98"
    assert segment["parent_id"] == "7f2a9c4e1b3d5a60"


def test_an_event_that_fails_is_a_fault_on_its_segment(xray):
    with (
        pytest.raises(ValueError, match="refused"),
        tracing.continued_trace(REQUEST_TRACE_HEADER, name=tracing.CONSUMER_SEGMENT),
    ):
        raise ValueError("the read model refused it")
    [segment] = xray.named(tracing.CONSUMER_SEGMENT)
    assert segment["fault"] is True
    assert segment["cause"]["exceptions"][0]["message"] == "the read model refused it"


def test_an_event_the_request_did_not_sample_is_not_sent(xray):
    with tracing.continued_trace(REQUEST_TRACE_HEADER.replace("Sampled=1", "Sampled=0"), name="unsampled"):
        pass
    assert xray.sent == []


def test_on_lambda_each_consumed_event_is_a_segment_outside_the_invocations_trace(api, aws, on_lambda):
    api.created()
    bodies = [json.dumps({k: v for k, v in m.items() if k != "_attributes"}) for m in aws.drain()]
    on_lambda.sent.clear()

    records = [{"messageId": "m-0", "body": bodies[0], "eventSource": "aws:sqs", "attributes": {}}]
    assert consume_events({"Records": records}, None) == {"batchItemFailures": []}

    [segment] = on_lambda.named(tracing.CONSUMER_SEGMENT)
    assert segment.get("type") != "subsegment"
    assert segment["trace_id"] != LAMBDA_TRACE_ID  # a message without a trace header: a trace of its own
    writes = [entity for entity in on_lambda.entities() if entity["parent_id"] == segment["id"]]
    assert writes
    assert {write["trace_id"] for write in writes} == {segment["trace_id"]}
    # Lambda's context is back: the invocation's later calls are its subsegments again.
    recorder = tracing.recorder()
    assert recorder is not None
    assert recorder.get_trace_entity().trace_id == LAMBDA_TRACE_ID


def test_the_switch_is_on_or_off_and_nothing_else():
    assert tracing.enabled({"TRACING": "on"}) is True
    assert tracing.enabled({"TRACING": "off"}) is False
    assert tracing.enabled({}) is False
    with pytest.raises(ValueError, match="TRACING must be 'on' or 'off'"):
        tracing.enabled({"TRACING": "yes"})


def test_work_in_a_segment_names_itself_as_the_parent_of_what_it_sends_on(xray):
    with tracing.continued_trace(REQUEST_TRACE_HEADER, name=tracing.CONSUMER_SEGMENT):
        header = tracing.current_trace_header()
    [segment] = xray.named(tracing.CONSUMER_SEGMENT)
    assert header == f"Root={segment['trace_id']};Parent={segment['id']};Sampled=1"


def test_after_a_snapstart_restore_segments_reach_the_daemon_on_a_socket_of_its_own(xray, monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(5)
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{daemon.getsockname()[1]}")
        snapstart.refresh()
        with tracing.continued_trace(REQUEST_TRACE_HEADER, name="restored"):
            pass
        _, _, document = daemon.recv(65536).decode().partition("\n")
    assert json.loads(document)["name"] == "restored"
    assert xray.sent == []  # the snapshot's emitter is no longer used


def test_on_lambda_an_event_without_a_trace_header_is_sampled_as_its_invocation(on_lambda, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={LAMBDA_TRACE_ID};Parent={LAMBDA_FACADE_ID};Sampled=0")
    with tracing.continued_trace(None, name="unsampled-invocation"):
        pass
    assert on_lambda.sent == []


X_RAY_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
MALFORMED_TRACE_HEADERS = [
    "garbage",
    "Root=1-x-y;Parent=zz;Sampled=1",
    "Root=" + "a" * 70_000 + ";Sampled=1",  # a segment too big for one UDP datagram
    "Root=1-6750a1b2-fedcba9876543210fedcba98\n;Parent=7f2a9c4e1b3d5a60;Sampled=1",
]


@pytest.mark.parametrize("header", MALFORMED_TRACE_HEADERS)
def test_a_consumer_given_a_malformed_trace_header_starts_a_trace_of_its_own(xray, header):
    """Anyone who can send to the queue chooses the `trace_header` attribute: a root or parent
    that is not X-Ray's made a segment the daemon refuses (or too big to send), losing the event's trace."""
    with tracing.continued_trace(header, name="malformed"):
        pass
    [segment] = xray.named("malformed")
    assert X_RAY_TRACE_ID.fullmatch(segment["trace_id"])
    assert segment["parent_id"] is None


def test_a_malformed_parent_is_dropped_but_a_well_formed_root_is_kept(xray):
    with tracing.continued_trace("Root=1-6750a1b2-fedcba9876543210fedcba98;Parent=<script>;Sampled=1", name="orphan"):
        pass
    [segment] = xray.named("orphan")
    assert segment["trace_id"] == "1-6750a1b2-fedcba9876543210fedcba98"
    assert segment["parent_id"] is None


@pytest.mark.parametrize("header", MALFORMED_TRACE_HEADERS[:2])
def test_a_request_with_a_malformed_trace_header_is_a_trace_of_its_own(api, xray, header):
    """Outside Lambda the middleware continues a client's `X-Amzn-Trace-Id`; the header it stores
    with the change's events (then the consumer's trace) must be X-Ray's, not the client's junk."""
    assert api.client.get("/nothing/here", HTTP_X_AMZN_TRACE_ID=header).status_code == 404
    [segment] = xray.named("unmatched")
    assert X_RAY_TRACE_ID.fullmatch(segment["trace_id"])
    assert segment["parent_id"] is None
