"""Idempotency-Key on the webhooks' POST and PATCH (SPEC §2, as for tasks): a repeat within 24 hours
gets the first response again and changes nothing; the same key with another request is a 422."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications_app import bootstrap as notifications_wiring
from tests.api.test_concurrency import statuses, together

REPLAYED = "Idempotent-Replayed"
LOCAL_URL = "http://127.0.0.1:9/hook"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def register(api: Any, key: str | None = None, user: str = "alice", **fields: Any) -> Any:
    body = {"user_id": user, "url": LOCAL_URL, "event_types": ["TaskCompleted"], **fields}
    return api.client.post("/webhooks", body, format="json", headers=keyed(key) if key else None)


def webhook_ids(api: Any, user: str = "alice") -> list[str]:
    listed = api.client.get("/webhooks", {"user_id": user})
    assert listed.status_code == 200, listed.content
    return [hook["webhook_id"] for hook in listed.json()["data"]]


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return dict(error)


def assert_replay_of(first: Any, repeat: Any) -> None:
    assert first.headers.get(REPLAYED) is None
    assert repeat.headers.get(REPLAYED) == "true"
    assert (repeat.status_code, repeat.content) == (first.status_code, first.content)


def test_a_repeated_registration_gets_the_first_response_and_registers_one_webhook(api):
    first = register(api, "hook-1", description="Team channel")
    assert first.status_code == 201, first.content
    repeat = register(api, "hook-1", description="Team channel")
    assert_replay_of(first, repeat)
    assert repeat["Location"] == first["Location"]
    assert repeat.json()["data"]["secret"] == first.json()["data"]["secret"], "the one secret that signs"
    assert webhook_ids(api) == [first.json()["data"]["webhook_id"]]


@pytest.mark.parametrize(
    "other", [{"description": "another"}, {"event_types": ["*"]}, {"url": "http://127.0.0.1:10/hook"}]
)
def test_the_same_key_with_another_registration_is_a_422_and_registers_nothing(api, other):
    first = register(api, "hook-2")
    assert first.status_code == 201, first.content
    response = register(api, "hook-2", **other)
    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert response.headers.get(REPLAYED) is None
    assert webhook_ids(api) == [first.json()["data"]["webhook_id"]]


def test_a_key_used_on_a_task_is_a_422_on_a_webhook(api):
    assert (
        api.client.post("/tasks", {"user_id": "alice", "title": "t"}, format="json", headers=keyed("k")).status_code
        == 201
    )
    assert_error(register(api, "k"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert webhook_ids(api) == []


def test_a_malformed_key_is_a_400_naming_it_and_registers_nothing(api):
    error = assert_error(register(api, "caf\u00e9"), 400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in error["details"], error
    assert webhook_ids(api) == []


def test_a_refused_registration_does_not_use_up_its_key(api):
    assert_error(register(api, "hook-3", url="ftp://example.com/x"), 400, "VALIDATION_ERROR")
    assert register(api, "hook-3").status_code == 201
    assert len(webhook_ids(api)) == 1


def test_8_concurrent_registrations_with_one_key_make_one_webhook_and_one_answer(api):
    responses = together(8, lambda caller, i: register(caller, "race-hook"))
    assert statuses(responses) == {201: 8}, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    assert [r.headers.get(REPLAYED) for r in responses].count(None) == 1
    assert len(webhook_ids(api)) == 1


def test_a_repeated_change_gets_the_first_response_and_changes_nothing_more(api):
    webhook_id = register(api).json()["data"]["webhook_id"]
    first = api.client.patch(f"/webhooks/{webhook_id}", {"description": "once"}, format="json", headers=keyed("p-1"))
    assert first.status_code == 200, first.content
    assert first.json()["data"]["description"] == "once"
    repeat = api.client.patch(f"/webhooks/{webhook_id}", {"description": "once"}, format="json", headers=keyed("p-1"))
    assert_replay_of(first, repeat)
    shown = api.client.get(f"/webhooks/{webhook_id}").json()["data"]
    assert shown == first.json()["data"], "the repeat wrote nothing (not even updated_at)"

    other = api.client.patch(f"/webhooks/{webhook_id}", {"description": "twice"}, format="json", headers=keyed("p-1"))
    assert_error(other, 422, "IDEMPOTENCY_KEY_REUSED")
    assert api.client.get(f"/webhooks/{webhook_id}").json()["data"]["description"] == "once"


def test_a_change_that_changes_nothing_is_replayed_too(api):
    webhook_id = register(api).json()["data"]["webhook_id"]
    first = api.client.patch(f"/webhooks/{webhook_id}", {}, format="json", headers=keyed("p-2"))
    assert first.status_code == 200, first.content
    assert_replay_of(first, api.client.patch(f"/webhooks/{webhook_id}", {}, format="json", headers=keyed("p-2")))
    assert_error(
        api.client.patch(f"/webhooks/{webhook_id}", {"enabled": False}, format="json", headers=keyed("p-2")),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )


def test_a_change_of_an_unknown_webhook_is_a_404_and_does_not_use_up_its_key(api):
    missing = "wh-00000000-0000-4000-8000-000000000000"
    assert_error(api.client.patch(f"/webhooks/{missing}", {}, format="json", headers=keyed("p-3")), 404, "NOT_FOUND")
    assert_error(api.client.post(f"/webhooks/{missing}/rotate-secret", headers=keyed("p-3")), 404, "NOT_FOUND")
    assert register(api, "p-3").status_code == 201


def test_a_repeated_rotation_gets_the_first_secret_and_rotates_once(api):
    registered = register(api).json()["data"]
    webhook_id = registered["webhook_id"]
    first = api.client.post(f"/webhooks/{webhook_id}/rotate-secret", headers=keyed("r-1"))
    assert first.status_code == 200, first.content
    repeat = api.client.post(f"/webhooks/{webhook_id}/rotate-secret", headers=keyed("r-1"))
    assert_replay_of(first, repeat)
    stored = notifications_wiring.endpoint_repository().get(webhook_id)
    assert stored.secret == first.json()["data"]["secret"], "the secret the caller was given signs"
    assert stored.previous_secret == registered["secret"], "the secret the receiver had still signs for 24 h"


def test_8_concurrent_rotations_with_one_key_rotate_once(api):
    registered = register(api).json()["data"]
    webhook_id = registered["webhook_id"]
    responses = together(
        8, lambda caller, i: caller.client.post(f"/webhooks/{webhook_id}/rotate-secret", headers=keyed("race-rotate"))
    )
    assert statuses(responses) == {200: 8}, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    stored = notifications_wiring.endpoint_repository().get(webhook_id)
    assert stored.secret == responses[0].json()["data"]["secret"]
    assert stored.previous_secret == registered["secret"]


def test_the_schema_documents_the_key_on_the_webhooks_post_and_patch_as_on_the_tasks_post():
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/json").json()

    def header(path: str, method: str, name: str, *, response: bool = False) -> Any:
        operation = schema["paths"][path][method]
        if response:
            return next(iter(operation["responses"].values())).get("headers", {}).get(name)
        return next((p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == name), None)

    documented = header("/tasks", "post", "Idempotency-Key")
    replayed = header("/tasks", "post", REPLAYED, response=True)
    assert documented is not None
    assert replayed is not None
    for path, method in [
        ("/webhooks", "post"),
        ("/webhooks/{webhook_id}", "patch"),
        ("/webhooks/{webhook_id}/rotate-secret", "post"),
    ]:
        assert header(path, method, "Idempotency-Key") == documented, (path, method)
        assert header(path, method, REPLAYED, response=True) == replayed, (path, method)
        assert "422" in schema["paths"][path][method]["responses"], (path, method)
