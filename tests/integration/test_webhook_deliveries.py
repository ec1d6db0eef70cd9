"""Deliveries end to end on the local AWS: a change's event reaches the webhooks queue through the
topic, is POSTed, signed, to a receiver on 127.0.0.1, retried with backoff, logged, and never
delivered twice for one event."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from notifications_app import bootstrap as notifications_wiring
from notifications_app.domain.delivery import RetrySchedule
from notifications_app.domain.endpoint import FAILURES_BEFORE_DISABLING
from notifications_app.handlers import DeliveryWiring, handle_webhooks_message
from tests.webhook_receiver import running_receiver


def wiring(schedule: RetrySchedule) -> DeliveryWiring:
    """The real adapters (development's policy lets the sender reach 127.0.0.1), with a
    schedule a test can wait for."""
    return dataclasses.replace(notifications_wiring.delivery_wiring(), schedule=schedule)


def receive(aws: Any, wait_seconds: int = 0) -> list[dict[str, Any]]:
    sqs = aws.target.client("sqs")
    return sqs.receive_message(
        QueueUrl=settings.WEBHOOKS_QUEUE_URL, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
    ).get("Messages", [])


def work(aws: Any, wired: DeliveryWiring, *, until: Callable[[], bool], timeout: float = 20.0) -> None:
    """Do what the worker does with the webhooks queue until `until()` holds (or fail after `timeout` s)."""
    aws.relay()
    sqs = aws.target.client("sqs")
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the deliveries did not settle in time"
        for message in receive(aws, wait_seconds=1):
            handle_webhooks_message(message["Body"], wiring=wired)
            sqs.delete_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])


def register(api: Any, url: str, event_types: list[str]) -> dict[str, Any]:
    response = api.client.post("/webhooks", {"user_id": "alice", "url": url, "event_types": event_types}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json()["data"])


def deliveries(api: Any, webhook_id: str) -> list[dict[str, Any]]:
    return list(api.client.get(f"/webhooks/{webhook_id}/deliveries").json()["data"])


def test_completing_a_task_posts_a_signed_delivery_the_library_verifies(api, aws):
    with running_receiver() as receiver:
        webhook = register(api, receiver.url, ["TaskCompleted"])
        task = api.created()
        assert api.complete(task["task_id"]).status_code == 200
        work(aws, wiring(RetrySchedule()), until=lambda: len(receiver.received) >= 1)
        aws.relay()
        assert not receive(aws), "only TaskCompleted was subscribed to: nothing else may be queued"

    (got,) = receiver.received
    payload = Webhook(webhook["secret"]).verify(got.body, got.headers)  # raises if the signature is wrong
    assert payload["event_type"] == "TaskCompleted"
    assert payload["aggregate_id"] == task["task_id"]
    assert got.headers["webhook-id"] == payload["event_id"]
    assert got.headers["content-type"] == "application/json"
    assert "TaskManagementAPI" in got.headers["user-agent"]
    (logged,) = deliveries(api, webhook["webhook_id"])
    assert logged["state"] == "succeeded"
    assert logged["attempts"] == 1
    assert logged["last_status_code"] == 200
    assert logged["event_id"] == payload["event_id"]


def test_a_failing_receiver_gets_retries_with_backoff_until_it_answers(api, aws):
    schedule = RetrySchedule((0, 1, 2, 2))
    with running_receiver(statuses=[500, 503]) as receiver:
        webhook = register(api, receiver.url, ["TaskCreated"])
        api.created()
        work(aws, wiring(schedule), until=lambda: len(receiver.received) >= 3)

    first, second, third = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    assert second.at - first.at >= 0.9, "the second attempt came before the schedule's 1 s"
    assert third.at - second.at >= 1.9, "the third attempt came before the schedule's 2 s"
    (logged,) = deliveries(api, webhook["webhook_id"])
    assert (logged["state"], logged["attempts"], logged["last_status_code"]) == ("succeeded", 3, 200)
    assert logged["next_attempt_at"] is None


def test_a_delivery_out_of_attempts_is_failed_with_what_the_receiver_said(api, aws):
    with running_receiver(statuses=[500, 500]) as receiver:
        webhook = register(api, receiver.url, ["TaskCreated"])
        api.created()
        wired = wiring(RetrySchedule((0, 1)))
        work(aws, wired, until=lambda: [d["state"] for d in deliveries(api, webhook["webhook_id"])] == ["failed"])
    (logged,) = deliveries(api, webhook["webhook_id"])
    assert logged["attempts"] == 2
    assert logged["last_status_code"] == 500
    assert "500" in logged["last_error"]
    assert len(receiver.received) == 2


def test_a_redelivered_event_message_makes_no_second_delivery(api, aws):
    with running_receiver() as receiver:
        webhook = register(api, receiver.url, ["TaskCreated"])
        api.created()
        aws.relay()
        (event,) = receive(aws, wait_seconds=1)
        wired = wiring(RetrySchedule())
        handle_webhooks_message(event["Body"], wiring=wired)
        handle_webhooks_message(event["Body"], wiring=wired)  # SQS delivered it again
        tickets = receive(aws, wait_seconds=1)
        for ticket in tickets:  # the second fan-out may queue the first attempt again, unmade yet
            handle_webhooks_message(ticket["Body"], wiring=wired)
        assert len(receiver.received) == 1
    assert len(deliveries(api, webhook["webhook_id"])) == 1


def test_an_endpoint_failing_twenty_deliveries_in_a_row_is_disabled_and_says_why(api, aws):
    with running_receiver(statuses=[500] * 100) as receiver:
        webhook = register(api, receiver.url, ["TaskCreated"])
        for number in range(FAILURES_BEFORE_DISABLING):
            api.created(title=f"Task {number}")
        work(
            aws,
            wiring(RetrySchedule((0,))),
            until=lambda: len(receiver.received) >= FAILURES_BEFORE_DISABLING,
            timeout=60,
        )
    shown = api.client.get(f"/webhooks/{webhook['webhook_id']}").json()["data"]
    assert shown["enabled"] is False
    assert "20 deliveries in a row failed" in shown["disabled_reason"]
    enabled = api.client.patch(f"/webhooks/{webhook['webhook_id']}", {"enabled": True}, format="json").json()["data"]
    assert (enabled["enabled"], enabled["disabled_reason"], enabled["consecutive_failures"]) == (True, None, 0)


@pytest.mark.parametrize("body", ["not json", json.dumps({"hello": "world"})])
def test_a_message_that_is_neither_an_event_nor_a_ticket_is_refused(aws, body):
    from notifications_app.application.deliveries import InvalidWebhookMessage

    with pytest.raises(InvalidWebhookMessage):
        handle_webhooks_message(body, wiring=wiring(RetrySchedule()))


def test_a_redelivery_makes_one_more_attempt_through_the_queue(api, aws):
    with running_receiver(statuses=[500]) as receiver:
        webhook = register(api, receiver.url, ["TaskCreated"])
        api.created()
        wired = wiring(RetrySchedule((0,)))
        work(aws, wired, until=lambda: len(receiver.received) >= 1)
        (failed,) = deliveries(api, webhook["webhook_id"])
        assert failed["state"] == "failed"
        path = f"/webhooks/{webhook['webhook_id']}/deliveries/{failed['delivery_id']}/redeliver"
        answered = api.client.post(path)
        assert answered.status_code == 202, answered.content
        work(aws, wired, until=lambda: len(receiver.received) >= 2)
    assert receiver.received[1].headers["webhook-id"] == failed["event_id"]
    (logged,) = deliveries(api, webhook["webhook_id"])
    assert (logged["state"], logged["attempts"], logged["last_status_code"]) == ("succeeded", 2, 200)
    missing = api.client.post(f"/webhooks/{webhook['webhook_id']}/deliveries/nope/redeliver")
    assert missing.status_code == 404


def test_after_a_rotation_both_secrets_verify_for_a_day(api, aws):
    with running_receiver() as receiver:
        webhook = register(api, receiver.url, ["*"])
        rotated = api.client.post(f"/webhooks/{webhook['webhook_id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.content
        new = rotated.json()["data"]
        assert new["secret"] != webhook["secret"]
        assert new["previous_secret_expires_at"] is not None
        pinged = api.client.post(f"/webhooks/{webhook['webhook_id']}/test")
        assert pinged.status_code == 202, pinged.content
        work(aws, wiring(RetrySchedule()), until=lambda: len(receiver.received) >= 1)
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (webhook["secret"], new["secret"]):
        assert Webhook(secret).verify(got.body, got.headers)["event_type"] == "ping"
    (logged,) = deliveries(api, webhook["webhook_id"])
    assert (logged["event_type"], logged["state"]) == ("ping", "succeeded")


def test_the_lambda_trigger_of_the_webhooks_queue_delivers_and_reports_the_poison(api, aws):
    from config.lambda_handlers import consume_webhooks, dispatch
    from tests.lambda_events import sqs_event

    with running_receiver() as receiver:
        webhook = register(api, receiver.url, ["*"])
        assert api.client.post(f"/webhooks/{webhook['webhook_id']}/test").status_code == 202
        (ticket,) = receive(aws, wait_seconds=1)
        event = sqs_event([ticket["Body"], "not a message"])
        for record in event["Records"]:
            record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:tasks-test-webhooks"
        assert dispatch(event) is consume_webhooks
        assert consume_webhooks(event, None) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
        assert len(receiver.received) == 1


def test_the_request_id_travels_with_each_attempt_into_the_senders_log_lines(aws):
    from notifications_app.application.ports import DeliveryTicket
    from notifications_app.handlers import handling, request_id_of
    from tasks_app import correlation

    with correlation.bound(request_id="req-42", event_id=None):
        notifications_wiring.delivery_queue().send(DeliveryTicket("wh-x", "1-e", 1), delay_seconds=0)
    (message,) = (
        aws.target.client("sqs")
        .receive_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, WaitTimeSeconds=1, MessageAttributeNames=["All"])
        .get("Messages", [])
    )
    assert request_id_of(message["MessageAttributes"]) == "req-42"
    assert request_id_of({"request_id": {"stringValue": "req-42", "dataType": "String"}}) == "req-42"  # Lambda's
    with handling(message["Body"], "req-42"):
        assert (correlation.request_id(), correlation.event_id()) == ("req-42", "e")
