"""The Lambda entry points, called as Lambda would: an SQS batch, and the scheduled sweeper."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from config.lambda_handlers import consume_events, relay_outbox
from events_app import bootstrap as events_wiring


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
