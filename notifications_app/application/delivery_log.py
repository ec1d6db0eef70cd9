"""Use cases of an endpoint's deliveries: the log, a redelivery, a test ping (issue 14). Each
new attempt goes through the webhooks queue, like any other, never from the request."""

from __future__ import annotations

from datetime import datetime

from notifications_app.application.deliveries import ping_delivery
from notifications_app.application.endpoints import PAGE_SIZE_MAX, require_own, webhook_get
from notifications_app.application.ports import (
    DeliveryPage,
    DeliveryQueue,
    DeliveryRepository,
    DeliveryTicket,
    EndpointRepository,
)
from notifications_app.domain.delivery import Delivery
from notifications_app.domain.endpoint import WebhookEndpoint
from tasks_app.application.access import Caller
from tasks_app.domain.errors import InvalidValue


def delivery_list(
    *,
    webhook_id: str,
    limit: int,
    cursor: str | None,
    caller: Caller | None,
    endpoints: EndpointRepository,
    deliveries: DeliveryRepository,
) -> DeliveryPage:
    """A page of the endpoint's deliveries, newest first, if the caller may read the endpoint."""
    webhook_get(webhook_id=webhook_id, caller=caller, repository=endpoints)
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidValue("limit", f"Must be between 1 and {PAGE_SIZE_MAX}.")
    return deliveries.list_for_endpoint(webhook_id, limit=limit, cursor=cursor or None)


def delivery_redeliver(
    *,
    webhook_id: str,
    delivery_id: str,
    caller: Caller | None,
    endpoints: EndpointRepository,
    deliveries: DeliveryRepository,
    queue: DeliveryQueue,
    now: datetime,
) -> Delivery:
    """Queue the delivery's next attempt now, whatever its state (a pending one keeps its
    schedule: `Delivery.redelivered`); the owner only.
    `DeliveryNotFound` for an unknown delivery; a concurrent attempt makes this one a no-op."""
    _owned(webhook_id, caller, endpoints)
    delivery = deliveries.get(webhook_id, delivery_id)
    again = delivery.redelivered(now)
    if deliveries.record_attempt(again, attempts_before=delivery.attempts):
        queue.send(DeliveryTicket(webhook_id, delivery_id, again.attempts + 1), delay_seconds=0)
    return again


def webhook_ping(
    *,
    webhook_id: str,
    caller: Caller | None,
    endpoints: EndpointRepository,
    deliveries: DeliveryRepository,
    queue: DeliveryQueue,
    now: datetime,
) -> Delivery:
    """Queue a `ping` delivery to the endpoint (one attempt, even while it is disabled); the owner only."""
    endpoint = _owned(webhook_id, caller, endpoints)
    delivery = ping_delivery(endpoint=endpoint, now=now)
    deliveries.add_if_absent(delivery)
    queue.send(DeliveryTicket(webhook_id, delivery.delivery_id, 1), delay_seconds=0)
    return delivery


def _owned(webhook_id: str, caller: Caller | None, endpoints: EndpointRepository) -> WebhookEndpoint:
    """The endpoint, if the caller may change it: its owner (or anyone with authentication off)."""
    endpoint = endpoints.get(webhook_id)
    require_own(caller, endpoint, may_read_others=False)
    return endpoint
