"""`webhook_list` and `webhook_deliveries`: what an operator sees of the webhooks from the shell."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


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
