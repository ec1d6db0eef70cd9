"""In-memory fakes of the notifications' ports, for unit tests of the delivery rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from notifications_app.application.ports import DeliveryPage, DeliveryTicket, EndpointChanges, EndpointPage
from notifications_app.domain.delivery import Delivery
from notifications_app.domain.endpoint import WebhookEndpoint
from notifications_app.domain.errors import DeliveryNotFound, WebhookNotFound
from tasks_app.application.idempotency import IdempotencyKeyInUse, IdempotencyRecord


class FakeEndpoints:
    """`EndpointRepository` in a dict; idempotency records in another, keyed by scope and key
    (`IdempotencyKeyInUse` for a key already there, expiry aside)."""

    def __init__(self, *endpoints: WebhookEndpoint) -> None:
        self.items = {endpoint.webhook_id: endpoint for endpoint in endpoints}
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}

    def _claim(self, record: IdempotencyRecord | None) -> None:
        if record is None:
            return
        if (record.scope, record.key) in self.records:
            raise IdempotencyKeyInUse(record.key)
        self.records[(record.scope, record.key)] = record

    def add(self, endpoint: WebhookEndpoint, *, idempotency: IdempotencyRecord | None = None) -> None:
        self._claim(idempotency)
        self.items[endpoint.webhook_id] = endpoint

    def get(self, webhook_id: str) -> WebhookEndpoint:
        if webhook_id not in self.items:
            raise WebhookNotFound(webhook_id)
        return self.items[webhook_id]

    def update(
        self,
        endpoint: WebhookEndpoint,
        changes: EndpointChanges,
        *,
        now: datetime,
        idempotency: IdempotencyRecord | None = None,
    ) -> WebhookEndpoint:
        webhook_id = endpoint.webhook_id
        stored = self.get(webhook_id)
        self._claim(idempotency)
        given = {name: value for name, value in dataclasses.asdict(changes).items() if value is not None}
        self.items[webhook_id] = dataclasses.replace(stored, **given, updated_at=now)
        return self.items[webhook_id]

    def replace_secrets(self, endpoint: WebhookEndpoint, *, idempotency: IdempotencyRecord | None = None) -> None:
        self.get(endpoint.webhook_id)
        self._claim(idempotency)
        self.items[endpoint.webhook_id] = endpoint

    def delete(self, endpoint: WebhookEndpoint) -> None:
        del self.items[endpoint.webhook_id]

    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> EndpointPage:
        return EndpointPage([e for e in self.items.values() if e.user_id == user_id][:limit], None)

    def subscribed(self, user_id: str, event_type: str) -> list[WebhookEndpoint]:
        return [e for e in self.items.values() if e.user_id == user_id and e.enabled and e.subscribes_to(event_type)]

    def count_for_user(self, user_id: str) -> int:
        return sum(1 for e in self.items.values() if e.user_id == user_id)

    def record_outcome(self, endpoint: WebhookEndpoint, *, succeeded: bool, disable_after: int) -> None:
        webhook_id = endpoint.webhook_id
        endpoint = self.get(webhook_id)
        failures = 0 if succeeded else endpoint.consecutive_failures + 1
        disabled = failures >= disable_after
        self.items[webhook_id] = dataclasses.replace(
            endpoint,
            consecutive_failures=failures,
            enabled=endpoint.enabled and not disabled,
            disabled_reason="disabled" if disabled else endpoint.disabled_reason,
        )


class FakeDeliveries:
    """`DeliveryRepository` in a dict, with the same conditions as the table's."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Delivery] = {}

    def add_if_absent(self, delivery: Delivery) -> bool:
        key = (delivery.webhook_id, delivery.delivery_id)
        if key in self.items:
            return False
        self.items[key] = delivery
        return True

    def get(self, webhook_id: str, delivery_id: str) -> Delivery:
        if (webhook_id, delivery_id) not in self.items:
            raise DeliveryNotFound(delivery_id)
        return self.items[(webhook_id, delivery_id)]

    def record_attempt(self, delivery: Delivery, *, attempts_before: int) -> bool:
        key = (delivery.webhook_id, delivery.delivery_id)
        if key not in self.items or self.items[key].attempts != attempts_before:
            return False
        self.items[key] = delivery
        return True

    def list_for_endpoint(self, webhook_id: str, *, limit: int, cursor: str | None) -> DeliveryPage:
        mine = sorted((d for (w, _), d in self.items.items() if w == webhook_id), key=lambda d: d.delivery_id)
        return DeliveryPage(list(reversed(mine))[:limit], None)


@dataclass
class FakeQueue:
    """`DeliveryQueue` as a list of (ticket, delay in seconds)."""

    sent: list[tuple[DeliveryTicket, int]] = field(default_factory=list)

    def send(self, ticket: DeliveryTicket, *, delay_seconds: int) -> None:
        self.sent.append((ticket, delay_seconds))

    def take(self) -> tuple[DeliveryTicket, int]:
        return self.sent.pop(0)


@dataclass(frozen=True)
class Sent:
    """`SentRequest`."""

    status_code: int | None
    body: bytes = b""
    latency_seconds: float = 0.01
    error: str | None = None


@dataclass
class FakeSender:
    """`WebhookSender` answering the given statuses in turn (None: no answer), then 200."""

    statuses: list[int | None] = field(default_factory=list)
    posts: list[tuple[str, bytes, Mapping[str, str]]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Sent:
        self.posts.append((url, body, dict(headers)))
        status = self.statuses.pop(0) if self.statuses else 200
        return Sent(status, error="connection refused" if status is None else None)
