"""Fixtures shared by the tests that reach AWS: one local AWS per run, fresh resources per test,
and the Task API as a client sees it."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.environment import LOCAL_ACCOUNT, JwtConfig
from events_app import bootstrap as events_wiring
from events_app.handlers import handle_message
from notifications_app import bootstrap as notifications_wiring
from ops.local.embedded_aws import EmbeddedAws
from ops.local.stream_relay import StreamFollower
from ops.local.user_pool import CLIENT_ID, ISSUER, TokenIssuer
from ops.provisioning.resources import Resources, configured_resources, provision
from ops.provisioning.ses import ensure_local_ses
from tasks_app import bootstrap
from tasks_app.adapters.aws import AwsTarget


@pytest.fixture(scope="session")
def local_aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as server:
        yield server


@dataclass
class AwsStack:
    """The local AWS with the API's resources provisioned, and ways to look inside it."""

    server: EmbeddedAws
    target: AwsTarget
    resources: Resources
    stream: StreamFollower

    def relay(self) -> int:
        """Do what the stream relay does with the table's stream records since the last call;
        returns how many records it read. Records it fails to publish are left to the sweeper,
        as Lambda leaves them after its retries, so a test's SNS outage stays simple."""
        read = 0
        while True:
            batch, _ = self.stream.poll(lambda records: (bootstrap.relay_stream_records(records), [])[1])
            if not batch:
                return read
            read += batch

    def queue_url(self, name: str | None = None) -> str:
        return f"{self.server.url}/{LOCAL_ACCOUNT}/{name or self.resources.queue_name}"

    def drain(self, queue_url: str | None = None, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """Relay what the stream reports, then receive and delete every message now on the queue;
        bodies parsed from JSON."""
        self.relay()
        sqs = self.target.client("sqs")
        url = queue_url or self.queue_url()
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append({**json.loads(message["Body"]), "_attributes": message.get("MessageAttributes", {})})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            wait_seconds = 0

    def process_events(self) -> int:
        """Do what the worker does with every event on the queue now; returns how many."""
        messages = self.drain()
        for message in messages:
            message.pop("_attributes")
            handle_message(json.dumps(message), read_models=events_wiring.read_models())
        return len(messages)


@pytest.fixture
def aws(local_aws: EmbeddedAws, settings: Any) -> Iterator[AwsStack]:
    local_aws.reset()
    settings.AWS_ENDPOINT_URL = local_aws.url
    settings.EVENTS_QUEUE_URL = f"{local_aws.url}/{LOCAL_ACCOUNT}/tasks-test-events"
    settings.EVENTS_DLQ_URL = f"{settings.EVENTS_QUEUE_URL}-dlq"
    settings.WEBHOOKS_QUEUE_URL = f"{local_aws.url}/{LOCAL_ACCOUNT}/tasks-test-webhooks"
    settings.WEBHOOKS_DLQ_URL = f"{settings.WEBHOOKS_QUEUE_URL}-dlq"
    bootstrap.reset()
    events_wiring.reset()
    notifications_wiring.reset()
    target, resources = bootstrap.aws_target(), configured_resources()
    provision(target, resources)
    ensure_local_ses(target)  # the sender, as `make run` verifies it
    stack = AwsStack(
        local_aws,
        target,
        resources,
        StreamFollower(target.client("dynamodb"), target.client("dynamodbstreams"), resources.table_name),
    )
    stack.stream.start()
    yield stack
    bootstrap.reset()
    events_wiring.reset()
    notifications_wiring.reset()


class TaskApi:
    """The Task API as a client sees it; each call returns the parsed response."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    def create(self, user_id: str = "alice", title: str = "A task", **fields: Any) -> Any:
        return self.client.post("/tasks", {"user_id": user_id, "title": title, **fields}, format="json")

    def created(self, user_id: str = "alice", title: str = "A task", **fields: Any) -> dict[str, Any]:
        response = self.create(user_id, title, **fields)
        assert response.status_code == 201, response.content
        return dict(response.json()["data"])

    def get(self, task_id: str) -> Any:
        return self.client.get(f"/tasks/{task_id}")

    def list(self, **params: Any) -> Any:
        return self.client.get("/tasks", params)

    def complete(self, task_id: str) -> Any:
        return self.client.post(f"/tasks/{task_id}/complete")

    def signed_in(self, token: str) -> TaskApi:
        """The same API on a client of its own that sends this bearer token (see the `issuer` fixture)."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return TaskApi(client)

    def patch(self, task_id: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.patch(f"/tasks/{task_id}", body, format="json", headers=headers or {})

    def act(self, task_id: str, action: str, headers: dict[str, str] | None = None) -> Any:
        """POST /tasks/{id}/<action>: start, complete, cancel, reopen or restore."""
        return self.client.post(f"/tasks/{task_id}/{action}", headers=headers or {})

    def delete(self, task_id: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.delete(f"/tasks/{task_id}", headers=headers or {})

    def trash(self, **params: Any) -> Any:
        return self.client.get("/tasks/trash", params)

    def history(self, task_id: str) -> builtins.list[str]:
        """The event types of the task's history (call `aws.process_events()` first)."""
        response = self.client.get(f"/tasks/{task_id}/events")
        assert response.status_code == 200, response.content
        return [event["event_type"] for event in response.json()["data"]]

    def listed_ids(self, **params: Any) -> builtins.list[str]:
        """The ids of every page of a listing, following `next_cursor` (at most 50 pages)."""
        ids: builtins.list[str] = []
        cursor = None
        for _ in range(50):
            response = self.list(**params, **({"cursor": cursor} if cursor else {}))
            assert response.status_code == 200, response.content
            ids += [task["task_id"] for task in response.json()["data"]]
            if (cursor := response.json()["pagination"]["next_cursor"]) is None:
                return ids
        raise AssertionError(f"The listing {params} still had a next_cursor after 50 pages: cursors must end.")


@pytest.fixture
def api(aws: Any) -> TaskApi:
    return TaskApi(APIClient())


@pytest.fixture
def issuer(aws: Any, settings: Any) -> Iterator[TokenIssuer]:
    """Authentication on, trusting this issuer's pool."""
    token_issuer = TokenIssuer()
    settings.AUTH_MODE = "jwt"
    settings.JWT = JwtConfig(
        issuer=ISSUER, audience=CLIENT_ID, token_use="access", jwks_url=token_issuer.jwks_url, leeway_seconds=10
    )
    bootstrap.reset()
    events_wiring.reset()
    yield token_issuer
    token_issuer.stop()
    bootstrap.reset()
    events_wiring.reset()


# A minute's start (divisible by 60), in 2027: a window ends only where a test says so.
RATE_WINDOW_START = 1_800_000_000.0


@pytest.fixture
def frozen_rate_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """The rate limits' clock stopped 15 s into the minute at RATE_WINDOW_START (nothing else's):
    per-minute limits without a window ending mid-test. Returns the frozen time."""
    from tasks_app.api import throttling

    frozen = RATE_WINDOW_START + 15
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: frozen))
    return frozen
