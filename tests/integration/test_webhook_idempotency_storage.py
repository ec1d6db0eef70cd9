"""The webhooks' Idempotency-Key records on the local AWS (SPEC §2): stored in the same transaction
as the endpoint's change, so a key already taken leaves the change unwritten, and a record is
found by the tasks' reader like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notifications_app import bootstrap as notifications_wiring
from notifications_app.application.ports import EndpointChanges
from notifications_app.domain.endpoint import WebhookEndpoint, new_secret, new_webhook_id
from notifications_app.domain.errors import WebhookNotFound
from tasks_app import bootstrap as tasks_wiring
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyRecord, RecordedResponse

NOW = datetime.now(UTC).replace(microsecond=0)  # TTL attributes keep whole seconds


def an_endpoint() -> WebhookEndpoint:
    return WebhookEndpoint(
        webhook_id=new_webhook_id(),
        user_id="alice",
        url="http://127.0.0.1:9/hook",
        event_types=("TaskCompleted",),
        secret=new_secret(),
        created_at=NOW,
    )


def a_record(key: str = "key-1", body: str = '{"success": true}') -> IdempotencyRecord:
    response = RecordedResponse(status=201, body=body, headers={"Location": "http://testserver/webhooks/x"})
    return IdempotencyRecord("alice", key, "fingerprint", response, expires_at=NOW + timedelta(hours=24))


def test_a_registration_stores_its_record_and_a_taken_key_stores_no_endpoint(aws: Any) -> None:
    repository = notifications_wiring.endpoint_repository()
    first = an_endpoint()
    repository.add(first, idempotency=a_record())
    assert tasks_wiring.task_repository().find_response("alice", "key-1", now=NOW) == a_record()

    second = an_endpoint()
    with pytest.raises(IdempotencyKeyInUse):
        repository.add(second, idempotency=a_record(body="another"))
    with pytest.raises(WebhookNotFound):
        repository.get(second.webhook_id)
    assert repository.count_for_user("alice") == 1
    assert tasks_wiring.task_repository().find_response("alice", "key-1", now=NOW) == a_record()


def test_a_change_or_rotation_under_a_taken_key_changes_nothing(aws: Any) -> None:
    repository = notifications_wiring.endpoint_repository()
    endpoint = an_endpoint()
    repository.add(endpoint)
    repository.update(endpoint, EndpointChanges(description="kept"), now=NOW, idempotency=a_record("taken"))

    with pytest.raises(IdempotencyKeyInUse):
        repository.update(endpoint, EndpointChanges(description="lost"), now=NOW, idempotency=a_record("taken"))
    with pytest.raises(IdempotencyKeyInUse):
        repository.replace_secrets(endpoint.rotated(NOW), idempotency=a_record("taken"))
    stored = repository.get(endpoint.webhook_id)
    assert (stored.description, stored.secret) == ("kept", endpoint.secret)


def test_a_keyed_change_of_a_deleted_endpoint_is_not_found_and_keeps_its_key_free(aws: Any) -> None:
    repository = notifications_wiring.endpoint_repository()
    endpoint = an_endpoint()
    repository.add(endpoint)
    repository.delete(endpoint)
    with pytest.raises(WebhookNotFound):
        repository.update(endpoint, EndpointChanges(enabled=False), now=NOW, idempotency=a_record("free"))
    with pytest.raises(WebhookNotFound):
        repository.replace_secrets(endpoint.rotated(NOW), idempotency=a_record("free"))
    assert tasks_wiring.task_repository().find_response("alice", "free", now=NOW) is None
