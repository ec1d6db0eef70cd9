"""`webhook_list`, `webhook_deliveries`, `webhook_redeliver`: the webhooks as an operator sees them from the shell."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from notifications_app import bootstrap
from notifications_app.handlers import handle_webhooks_message


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def register(api, user: str) -> str:
    body = {"user_id": user, "url": "https://hooks.example.com/x", "event_types": ["TaskCompleted"]}
    response = api.client.post("/webhooks", body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["data"]["webhook_id"])


def test_webhook_list_shows_everyones_or_one_users_endpoints_and_never_a_secret(api):
    alices, bobs = register(api, "alice"), register(api, "bob")
    everyone = run("webhook_list")
    assert alices in everyone
    assert bobs in everyone
    assert "2 webhooks." in everyone
    assert "whsec_" not in everyone
    only_bob = [json.loads(line) for line in run("webhook_list", "--user", "bob", "--json").splitlines()]
    assert [(hook["webhook_id"], hook["enabled"]) for hook in only_bob] == [(bobs, True)]


def test_webhook_deliveries_shows_the_log_newest_first(api):
    webhook_id = register(api, "alice")
    for _ in range(2):
        assert api.client.post(f"/webhooks/{webhook_id}/test").status_code == 202
    listed = [json.loads(line) for line in run("webhook_deliveries", webhook_id, "--json").splitlines()]
    assert [entry["event_type"] for entry in listed] == ["ping", "ping"]
    assert listed[0]["delivery_id"] > listed[1]["delivery_id"]  # newest first
    assert all(entry["state"] == "pending" and entry["attempts"] == 0 for entry in listed)
    assert "2 deliveries." in run("webhook_deliveries", webhook_id)


def test_webhook_deliveries_of_an_unknown_webhook_is_an_error(aws):
    with pytest.raises(CommandError, match="not found"):
        run("webhook_deliveries", "wh-unknown")


def _work(aws) -> int:
    """What the worker does with every message now on the webhooks queue; returns how many."""
    sqs, handled = aws.target.client("sqs"), 0
    while batch := sqs.receive_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            handle_webhooks_message(message["Body"], wiring=bootstrap.delivery_wiring())
            sqs.delete_message(QueueUrl=settings.WEBHOOKS_QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def test_webhook_redeliver_sends_the_failed_deliveries_again(api, aws):
    body = {"user_id": "alice", "url": "http://127.0.0.1:9/closed", "event_types": ["*"]}  # nothing listens
    webhook_id = api.client.post("/webhooks", body, format="json").json()["data"]["webhook_id"]
    for _ in range(2):
        assert api.client.post(f"/webhooks/{webhook_id}/test").status_code == 202
    assert _work(aws) == 2  # a ping has one attempt: both fail

    def log() -> list[dict]:
        return [json.loads(line) for line in run("webhook_deliveries", webhook_id, "--json").splitlines()]

    assert [(entry["state"], entry["attempts"]) for entry in log()] == [("failed", 1), ("failed", 1)]
    output = run("webhook_redeliver", webhook_id, "--failed")
    assert output.endswith("2 deliveries queued again.\n")
    assert _work(aws) == 2
    assert [(entry["state"], entry["attempts"]) for entry in log()] == [("failed", 2), ("failed", 2)]
    first = log()[0]["delivery_id"]
    assert "1 delivery queued again." in run("webhook_redeliver", webhook_id, first)
    assert _work(aws) == 1
    assert [entry["attempts"] for entry in log()] == [3, 2]


def test_webhook_redeliver_says_what_it_needs(api, aws):
    webhook_id = register(api, "alice")
    with pytest.raises(CommandError, match="or give --failed"):
        run("webhook_redeliver", webhook_id)
    with pytest.raises(CommandError, match="not found"):
        run("webhook_redeliver", "wh-unknown", "--failed")
    assert api.client.patch(f"/webhooks/{webhook_id}", {"enabled": False}, format="json").status_code == 200
    with pytest.raises(CommandError, match=r"is disabled .* Enable it first"):
        run("webhook_redeliver", webhook_id, "--failed")
