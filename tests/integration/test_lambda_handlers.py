"""The Lambda entry points, called as Lambda would: an SQS batch, a stream batch, and the scheduled
sweeper, each also through `serve_http`, the function's one handler, as the provisioned triggers deliver them."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from config import lambda_handlers
from config.lambda_handlers import consume_events, relay_outbox, serve_http
from events_app import bootstrap as events_wiring
from ops.provisioning.schedule import sweeper_rule_name


def sqs_event(bodies: list[str]) -> dict:
    return {
        "Records": [
            {"messageId": f"m-{index}", "body": body, "eventSource": "aws:sqs", "attributes": {}}
            for index, body in enumerate(bodies)
        ]
    }


def test_a_batch_is_applied_and_only_the_poison_message_is_reported_failed(api, aws):
    task = api.created()
    api.complete(task["task_id"])
    bodies = [json.dumps({k: v for k, v in m.items() if k != "_attributes"}) for m in aws.drain()]
    response = consume_events(sqs_event([*bodies[:2], "not an event", *bodies[2:]]), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    history = events_wiring.read_models().history(task["task_id"])
    assert [m["data"]["sequence"] for m in history] == [1, 2, 3]


def test_a_redelivered_batch_changes_nothing(api, aws):
    api.created()
    bodies = [json.dumps({k: v for k, v in m.items() if k != "_attributes"}) for m in aws.drain()]
    assert consume_events(sqs_event(bodies), None) == {"batchItemFailures": []}
    assert consume_events(sqs_event(bodies), None) == {"batchItemFailures": []}
    assert api.client.get("/tasks/stats", {"user_id": "alice"}).json()["data"]["counts"]["pending"] == 1


def test_the_scheduled_sweeper_publishes_what_the_stream_relay_could_not(api, aws, settings):
    settings.OUTBOX_SETTLE_SECONDS = 0
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    for i in range(3):
        api.created(title=f"t{i}")
    aws.relay()  # fails: SNS is down
    assert relay_outbox({}, None) == {"published": 0, "held_back": 3}
    call_command("provision", stdout=StringIO())  # SNS is back, with its subscription
    assert relay_outbox({}, None) == {"published": 3, "held_back": 0}
    assert len(aws.drain()) == 3


def sweeper_event(function_name: str = "tasks-api-production") -> dict:
    """EventBridge's scheduled event, as the rule `provision --stage` makes delivers it."""
    rule = f"arn:aws:events:us-east-1:123456789012:rule/{sweeper_rule_name(function_name)}"
    return {"detail-type": "Scheduled Event", "source": "aws.events", "resources": [rule], "detail": {}}


def test_serve_http_hands_an_sqs_batch_to_the_consumer_and_returns_its_failures(api, aws):
    api.created()
    bodies = [json.dumps({k: v for k, v in m.items() if k != "_attributes"}) for m in aws.drain()]
    response = serve_http(sqs_event([*bodies, "not an event"]), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m-{len(bodies)}"}]}
    assert api.client.get("/tasks/stats", {"user_id": "alice"}).json()["data"]["counts"]["pending"] == 1


def test_serve_http_hands_a_stream_batch_to_the_relay_and_returns_its_answer(monkeypatch):
    calls = []

    def relay_stream(event: dict, context: object) -> dict:
        calls.append(event)
        return {"batchItemFailures": [{"itemIdentifier": "200"}]}

    monkeypatch.setattr(lambda_handlers, "relay_stream", relay_stream)
    event = {
        "Records": [
            {"eventSource": "aws:dynamodb", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "200"}},
        ]
    }
    assert serve_http(event, None) == {"batchItemFailures": [{"itemIdentifier": "200"}]}
    assert calls == [event]


def test_serve_http_runs_the_sweeper_on_its_schedule(api, aws, settings):
    settings.OUTBOX_SETTLE_SECONDS = 0
    aws.target.client("sns").delete_topic(TopicArn=aws.resources.topic_arn)
    api.created()
    aws.relay()  # the stream relay fails: SNS is down
    call_command("provision", stdout=StringIO())
    assert serve_http(sweeper_event(), None) == {"published": 1, "held_back": 0}
    assert len(aws.drain()) == 1


def test_only_the_sweepers_rule_is_taken_for_the_sweeper():
    other = {**sweeper_event(), "resources": ["arn:aws:events:us-east-1:123456789012:rule/tasks-api-keep-warm"]}
    assert lambda_handlers.dispatch(other) is None  # Zappa's handler serves it, as before
    assert lambda_handlers.dispatch({"httpMethod": "GET", "path": "/tasks"}) is None
    assert lambda_handlers.dispatch(sweeper_event()) is relay_outbox


def test_dispatch_never_takes_an_api_request_or_a_malformed_schedule_for_a_trigger():
    request = {"httpMethod": "POST", "requestContext": {}, "Records": [{"eventSource": "aws:dynamodb"}]}
    assert lambda_handlers.dispatch(request) is None  # API Gateway's, whatever keys it carries
    resources: object
    for resources in ({"0": "x"}, 7, [], None):
        assert lambda_handlers.dispatch({"detail-type": "Scheduled Event", "resources": resources}) is None
