"""Webhook endpoints over HTTP: register, list, read, change, delete; validation; who may do what."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from ops.local.user_pool import bearer

LOCAL_URL = "http://127.0.0.1:9/hook"


def register(api, user="alice", **fields):
    body = {"user_id": user, "url": LOCAL_URL, "event_types": ["TaskCompleted"], **fields}
    return api.client.post("/webhooks", body, format="json")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


def test_registering_a_webhook_shows_its_secret_once(api):
    response = register(api, description="Team channel")
    assert response.status_code == 201, response.content
    created = response.json()["data"]
    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # the library accepts it as a Standard Webhooks secret
    assert created["event_types"] == ["TaskCompleted"]
    assert created["enabled"] is True
    assert response["Location"].endswith(f"/webhooks/{created['webhook_id']}")

    shown = api.client.get(f"/webhooks/{created['webhook_id']}").json()["data"]
    assert "secret" not in shown
    assert shown["url"] == LOCAL_URL
    assert shown["description"] == "Team channel"
    listed = api.client.get("/webhooks", {"user_id": "alice"}).json()
    assert "secret" not in listed["data"][0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "http://example.com/hook"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["TaskExploded"]}, "event_types"),
        ({"url": "https://10.0.0.1/hook"}, "url"),
        ({"url": "https://hooks.example.com/a b"}, "url"),
        ({"url": "https://hooks.example.com:0/"}, "url"),
        ({"url": 12}, "url"),
        ({"description": "x" * 501}, "description"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_an_invalid_webhook_is_a_validation_error_naming_the_field(api, fields, field):
    error = assert_error(register(api, **fields), 400, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_every_event_type_or_the_wildcard_may_be_chosen(api):
    every = [
        "TaskCreated",
        "TaskUpdated",
        "TaskStatusChanged",
        "TaskCompleted",
        "TaskDeleted",
        "TaskRestored",
        "TaskDueSoon",
        "TaskOverdue",
    ]
    assert register(api, event_types=every).status_code == 201
    assert register(api, event_types=["*"]).json()["data"]["event_types"] == ["*"]
    assert register(api, event_types=["TaskCreated", "*"]).json()["data"]["event_types"] == ["*"]


def test_a_webhook_can_be_changed_paused_and_deleted(api):
    webhook_id = register(api).json()["data"]["webhook_id"]
    changed = api.client.patch(
        f"/webhooks/{webhook_id}", {"event_types": ["*"], "enabled": False, "description": "paused"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["data"]["enabled"] is False
    assert changed.json()["data"]["event_types"] == ["*"]
    assert api.client.get(f"/webhooks/{webhook_id}").json()["data"]["description"] == "paused"
    assert_error(
        api.client.patch(f"/webhooks/{webhook_id}", {"url": "gopher://x"}, format="json"), 400, "VALIDATION_ERROR"
    )

    assert api.client.delete(f"/webhooks/{webhook_id}").status_code == 204
    assert_error(api.client.get(f"/webhooks/{webhook_id}"), 404, "NOT_FOUND")
    assert_error(api.client.delete(f"/webhooks/{webhook_id}"), 404, "NOT_FOUND")


def test_the_listing_pages_with_a_cursor_bound_to_the_user(api):
    ids = {register(api).json()["data"]["webhook_id"] for _ in range(3)}
    register(api, user="bob")
    first = api.client.get("/webhooks", {"user_id": "alice", "limit": 2}).json()
    assert len(first["data"]) == 2
    assert first["pagination"]["limit"] == 2
    cursor = first["pagination"]["next_cursor"]
    second = api.client.get("/webhooks", {"user_id": "alice", "limit": 2, "cursor": cursor}).json()
    assert second["pagination"]["next_cursor"] is None
    assert {hook["webhook_id"] for hook in first["data"] + second["data"]} == ids
    assert_error(api.client.get("/webhooks", {"user_id": "bob", "cursor": cursor}), 400, "VALIDATION_ERROR")


@pytest.fixture
def as_user(api, issuer):
    def signed_in(user: str, admin: bool = False):
        client = api.client.__class__()
        client.credentials(**bearer(issuer.token(user, groups=["admin"] if admin else None)))
        return client

    return signed_in


def test_a_user_sees_and_changes_only_their_own_webhooks(as_user):
    alice, bob = as_user("alice"), as_user("bob")
    created = alice.post("/webhooks", {"url": LOCAL_URL, "event_types": ["*"]}, format="json")
    assert created.status_code == 201, created.content
    webhook_id = created.json()["data"]["webhook_id"]
    assert created.json()["data"]["user_id"] == "alice"

    assert_error(bob.get(f"/webhooks/{webhook_id}"), 404, "NOT_FOUND")
    assert_error(bob.patch(f"/webhooks/{webhook_id}", {"enabled": False}, format="json"), 404, "NOT_FOUND")
    assert_error(bob.delete(f"/webhooks/{webhook_id}"), 404, "NOT_FOUND")
    assert bob.get("/webhooks").json()["data"] == []
    assert_error(bob.get("/webhooks", {"user_id": "alice"}), 403, "PERMISSION_DENIED")
    anonymous = alice.__class__()
    assert_error(
        anonymous.post("/webhooks", {"url": LOCAL_URL, "event_types": ["*"]}, format="json"), 401, "NOT_AUTHENTICATED"
    )


def test_admins_may_read_anyones_webhooks_but_not_change_them(as_user):
    webhook_id = (
        as_user("alice")
        .post("/webhooks", {"url": LOCAL_URL, "event_types": ["*"]}, format="json")
        .json()["data"]["webhook_id"]
    )
    admin = as_user("root", admin=True)
    assert admin.get(f"/webhooks/{webhook_id}").status_code == 200
    assert [hook["webhook_id"] for hook in admin.get("/webhooks", {"user_id": "alice"}).json()["data"]] == [webhook_id]
    assert_error(admin.patch(f"/webhooks/{webhook_id}", {"enabled": False}, format="json"), 403, "PERMISSION_DENIED")
    assert_error(admin.post(f"/webhooks/{webhook_id}/test"), 403, "PERMISSION_DENIED")  # the delivery log's rule too
    assert admin.get(f"/webhooks/{webhook_id}/deliveries").status_code == 200
    assert_error(as_user("bob").post(f"/webhooks/{webhook_id}/test"), 404, "NOT_FOUND")  # not even its existence
    assert_error(
        admin.post("/webhooks", {"user_id": "alice", "url": LOCAL_URL, "event_types": ["*"]}, format="json"),
        403,
        "PERMISSION_DENIED",
    )


@pytest.mark.parametrize("webhook_id", ["x" * 3000, "wh-nope", "%F0%9F%98%80"])
def test_an_id_that_cannot_be_a_webhooks_is_not_found(api, webhook_id):
    assert_error(api.client.get(f"/webhooks/{webhook_id}"), 404, "NOT_FOUND")
    assert_error(api.client.get(f"/webhooks/{webhook_id}/deliveries"), 404, "NOT_FOUND")


def test_a_delivery_id_that_cannot_be_one_is_not_found(api):
    webhook_id = register(api).json()["data"]["webhook_id"]
    assert_error(api.client.post(f"/webhooks/{webhook_id}/deliveries/{'9' * 3000}/redeliver"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://user:pw@hooks.example.com/", "must not contain a user name or password"),
        ("http://hooks.example.com/", "http:// is accepted for a local receiver only"),
        ("https://intranet/hook", "is not a fully qualified name"),
    ],
)
def test_a_refused_url_says_why(api, url, reason):
    error = assert_error(register(api, url=url), 400, "VALIDATION_ERROR")
    assert reason in str(error["details"]["url"]), error
    assert "Not a URL webhooks may go to" not in str(error), error


def test_a_url_the_check_passes_but_the_published_pattern_refuses_gets_the_generic_message(api):
    error = assert_error(register(api, url="https://hooks.example.com/#fragment"), 400, "VALIDATION_ERROR")
    assert "Not a URL webhooks may go to" in str(error["details"]["url"]), error


def test_a_url_that_is_not_a_string_is_not_a_valid_string(api):
    error = assert_error(register(api, url=12), 400, "VALIDATION_ERROR")
    assert "Not a valid string." in str(error["details"]["url"]), error


@pytest.mark.parametrize("url", ["http://localhost:8025/hook", "http://[::1]:8025/", "http://127.0.0.1:8025/"])
def test_every_local_receiver_url_check_url_accepts_is_accepted_in_development(api, url):
    assert register(api, url=url).status_code == 201


def test_asking_for_someone_elses_webhooks_is_refused_naming_webhooks(as_user):
    bob = as_user("bob")
    listed = assert_error(bob.get("/webhooks", {"user_id": "alice"}), 403, "PERMISSION_DENIED")
    assert listed["message"] == "You may only ask about your own webhooks, not alice's."
    body = {"user_id": "alice", "url": LOCAL_URL, "event_types": ["*"]}
    registered = assert_error(bob.post("/webhooks", body, format="json"), 403, "PERMISSION_DENIED")
    assert registered["message"] == "You may only ask about your own webhooks, not alice's."
    tasks = assert_error(bob.get("/tasks", {"user_id": "alice"}), 403, "PERMISSION_DENIED")
    assert tasks["message"] == "You may only ask about your own tasks, not alice's."  # unchanged


EVERY_TYPE = (
    "TaskCreated, TaskUpdated, TaskStatusChanged, TaskCompleted, TaskDeleted, TaskRestored, TaskDueSoon, "
    'TaskOverdue, or "*"'
)


@pytest.mark.parametrize(
    ("event_types", "message"),
    [
        (["TaskExploded"], f'"TaskExploded" is not an event type; one of {EVERY_TYPE}.'),
        (["TaskCreated", "Nope", "ping", "Nope"], f'"Nope", "ping" are not event types; one of {EVERY_TYPE}.'),
    ],
)
def test_an_unknown_event_type_is_named_with_the_valid_ones(api, event_types, message):
    error = assert_error(register(api, event_types=event_types), 400, "VALIDATION_ERROR")
    assert error["details"]["event_types"] == [message], error
    webhook_id = register(api).json()["data"]["webhook_id"]
    patched = api.client.patch(f"/webhooks/{webhook_id}", {"event_types": event_types}, format="json")
    assert assert_error(patched, 400, "VALIDATION_ERROR")["details"]["event_types"] == [message]


@pytest.mark.parametrize("action", ["rotate-secret", "test"])
def test_a_body_sent_to_rotate_secret_or_test_is_refused_naming_its_fields(api, action):
    webhook_id = register(api).json()["data"]["webhook_id"]
    refused = api.client.post(f"/webhooks/{webhook_id}/{action}", {"secret": "whsec_abc", "url": "x"}, format="json")
    error = assert_error(refused, 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"secret", "url"}, error
    assert api.client.post(f"/webhooks/{webhook_id}/{action}").status_code in (200, 202)
    assert api.client.post(f"/webhooks/{webhook_id}/{action}", {}, format="json").status_code in (200, 202)


def test_a_user_may_register_at_most_twenty_webhooks(api):
    ids = [register(api, description=f"hook {n}").json()["data"]["webhook_id"] for n in range(20)]
    error = assert_error(register(api), 400, "VALIDATION_ERROR")
    assert "at most 20 webhooks" in error["details"]["webhooks"][0]
    assert register(api, user="bob").status_code == 201  # a cap per user
    assert api.client.delete(f"/webhooks/{ids[0]}").status_code == 204
    assert register(api).status_code == 201
