"""Deliveries, driven by the webhooks queue (issue 14, item 2): an event fans out to the owner's
subscribed endpoints, and each delivery's attempts wait on the queue until they are due.

The queue carries two kinds of message: the topic's events (SPEC §4 JSON, raw delivery), and
`DeliveryTicket`s, one per attempt. State lives in the delivery item, so a restart, a redeploy
or a redelivered message loses nothing and counts nothing twice:
- an event makes at most one delivery per endpoint (its id comes from the event);
- an attempt is recorded only if no other was recorded since it read the delivery (a
  duplicate ticket may POST once more; receivers deduplicate on `webhook-id`);
- a worker killed mid-attempt leaves the ticket unacknowledged: SQS delivers it again.
SQS delays a message 15 minutes at most, so a ticket not yet due goes back with the remaining
wait (at most 15 minutes again) until it is.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from notifications_app.application.ports import (
    DeliveryQueue,
    DeliveryRepository,
    DeliveryTicket,
    EndpointRepository,
    WebhookSender,
)
from notifications_app.application.signing import delivery_headers
from notifications_app.domain.delivery import Delivery, DeliveryState, RetrySchedule, delivery_id_of
from notifications_app.domain.endpoint import FAILURES_BEFORE_DISABLING, PING_EVENT_TYPE, WebhookEndpoint
from notifications_app.domain.errors import WebhookNotFound
from tasks_app.domain.task import isoformat_utc

logger = logging.getLogger(__name__)

SQS_MAX_DELAY_SECONDS = 900  # SQS's DelaySeconds maximum (15 minutes)
DUE_SLACK = timedelta(seconds=1)  # a ticket this close to due is due: SQS delays are not exact


class InvalidWebhookMessage(ValueError):
    """A message on the webhooks queue that is neither an event nor a ticket: never retried."""


def ticket_body(ticket: DeliveryTicket) -> str:
    """The queue message of `ticket`."""
    return json.dumps(
        {
            "webhook_delivery": {
                "webhook_id": ticket.webhook_id,
                "delivery_id": ticket.delivery_id,
                "attempt": ticket.attempt,
            }
        }
    )


def parse_queue_message(body: str | bytes | Mapping[str, Any]) -> DeliveryTicket | Mapping[str, Any]:
    """A ticket, or the event message (SPEC §4) as a dict; `InvalidWebhookMessage` otherwise.
    `body` is the message's text, or its JSON already decoded (as kombu may hand it over)."""
    try:
        message = dict(body) if isinstance(body, Mapping) else json.loads(body)
        if "webhook_delivery" in message:
            given = message["webhook_delivery"]
            return DeliveryTicket(str(given["webhook_id"]), str(given["delivery_id"]), int(given["attempt"]))
        if not all(isinstance(message.get(name), str) for name in ("event_type", "event_id", "timestamp")):
            raise InvalidWebhookMessage(f"Not an event message: {str(body)[:200]!r}")
        if not isinstance(message.get("data", {}).get("user_id"), str):
            raise InvalidWebhookMessage(f"An event without data.user_id: {str(body)[:200]!r}")
        return dict(message)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        if isinstance(error, InvalidWebhookMessage):
            raise
        raise InvalidWebhookMessage(f"Not a webhooks queue message ({error}): {str(body)[:200]!r}") from None


def delay_seconds(wait: timedelta) -> int:
    """`wait` as an SQS DelaySeconds: whole seconds, 0 to 900."""
    return max(0, min(SQS_MAX_DELAY_SECONDS, int(wait.total_seconds() + 0.999)))


def fan_out_event(
    *,
    message: Mapping[str, Any],
    endpoints: EndpointRepository,
    deliveries: DeliveryRepository,
    queue: DeliveryQueue,
    now: datetime,
    schedule: RetrySchedule,
) -> int:
    """Make a delivery of the event to each of its owner's enabled endpoints subscribed to its
    type (one Query), and queue each one's first attempt; returns how many were queued."""
    text = json.dumps(dict(message), ensure_ascii=False, separators=(",", ":"))
    queued = 0
    for endpoint in endpoints.subscribed(message["data"]["user_id"], message["event_type"]):
        delivery = Delivery(
            webhook_id=endpoint.webhook_id,
            delivery_id=delivery_id_of(message["event_id"], message["timestamp"]),
            event_id=message["event_id"],
            event_type=message["event_type"],
            message=text,
            created_at=now,
            max_attempts=schedule.attempts,
            next_attempt_at=now,
        )
        if not deliveries.add_if_absent(delivery):
            # A redelivered event: queue the first attempt again only if none was made (the
            # first receipt may have stopped between the two); the attempt's check stops doubles.
            existing = deliveries.get(endpoint.webhook_id, delivery.delivery_id)
            if existing.attempts > 0 or existing.state is not DeliveryState.PENDING:
                continue
        queue.send(DeliveryTicket(endpoint.webhook_id, delivery.delivery_id, 1), delay_seconds=0)
        queued += 1
    return queued


def ping_delivery(*, endpoint: WebhookEndpoint, now: datetime) -> Delivery:
    """A `ping` delivery to `endpoint` (`POST /webhooks/{id}/test`): one attempt, at once."""
    event_id = str(uuid.uuid4())
    timestamp = isoformat_utc(now)
    message = {
        "event_type": PING_EVENT_TYPE,
        "event_id": event_id,
        "aggregate_id": endpoint.webhook_id,
        "timestamp": timestamp,
        "data": {"webhook_id": endpoint.webhook_id, "user_id": endpoint.user_id},
    }
    return Delivery(
        webhook_id=endpoint.webhook_id,
        delivery_id=delivery_id_of(event_id, timestamp),
        event_id=event_id,
        event_type=PING_EVENT_TYPE,
        message=json.dumps(message, separators=(",", ":")),
        created_at=now,
        max_attempts=1,
        next_attempt_at=now,
    )


def attempt_delivery(
    *,
    ticket: DeliveryTicket,
    endpoints: EndpointRepository,
    deliveries: DeliveryRepository,
    queue: DeliveryQueue,
    sender: WebhookSender,
    now: datetime,
    schedule: RetrySchedule,
) -> Delivery | None:
    """Make the attempt `ticket` stands for, if it is still due; returns the delivery as
    recorded, or None when the ticket was stale, early (queued again) or lost a race."""
    delivery = deliveries.get(ticket.webhook_id, ticket.delivery_id)
    if delivery.state is not DeliveryState.PENDING or delivery.attempts + 1 != ticket.attempt:
        return None  # settled, or this attempt was already made: a duplicate ticket
    if delivery.next_attempt_at is not None and delivery.next_attempt_at - now > DUE_SLACK:
        queue.send(ticket, delay_seconds=delay_seconds(delivery.next_attempt_at - now))
        return None
    try:
        endpoint = endpoints.get(ticket.webhook_id)
    except WebhookNotFound:
        endpoint = None
    if endpoint is None or not (endpoint.enabled or delivery.event_type == PING_EVENT_TYPE):
        reason = "The webhook was deleted." if endpoint is None else "The webhook is disabled."
        deliveries.record_attempt(delivery.gave_up(reason, now), attempts_before=delivery.attempts)
        return None
    headers = delivery_headers(
        message_id=delivery.event_id, body=delivery.message, secrets=endpoint.signing_secrets(now), now=now
    )
    result = sender.post(endpoint.url, delivery.message.encode(), headers)
    attempted = delivery.after_attempt(
        status_code=result.status_code,
        latency_seconds=result.latency_seconds,
        error=result.error,
        now=now,
        schedule=schedule,
    )
    if not deliveries.record_attempt(attempted, attempts_before=delivery.attempts):
        return None  # another receipt of this ticket recorded the attempt first
    logger.info(
        "Webhook delivery attempt",
        extra={
            "webhook_id": endpoint.webhook_id,
            "event_id": delivery.event_id,
            "attempt": attempted.attempts,
            "status_code": result.status_code,
            "state": attempted.state.value,
        },
    )
    _after(attempted, endpoint, endpoints=endpoints, queue=queue, now=now)
    return attempted


def _after(
    delivery: Delivery, endpoint: WebhookEndpoint, *, endpoints: EndpointRepository, queue: DeliveryQueue, now: datetime
) -> None:
    """Queue the next attempt, or count the settled delivery in the endpoint's failure streak."""
    if delivery.state is DeliveryState.PENDING and delivery.next_attempt_at is not None:
        ticket = DeliveryTicket(delivery.webhook_id, delivery.delivery_id, delivery.attempts + 1)
        queue.send(ticket, delay_seconds=delay_seconds(delivery.next_attempt_at - now))
        return
    if delivery.event_type == PING_EVENT_TYPE:
        return  # a test says nothing about the endpoint's real deliveries
    succeeded = delivery.state is DeliveryState.SUCCEEDED
    if succeeded and endpoint.consecutive_failures == 0:
        return  # nothing to reset: spare the write
    endpoints.record_outcome(endpoint, succeeded=succeeded, disable_after=FAILURES_BEFORE_DISABLING)
