"""The webhooks queue's message handler, shared by the Celery worker (locally) and the Lambda
SQS trigger (deployed): webhook deliveries, and the events' emails. No Celery, Django or AWS SDK
here: `DeliveryWiring` brings the ports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifications_app.application.deliveries import (
    InvalidWebhookMessage,
    attempt_delivery,
    fan_out_event,
    parse_queue_message,
)
from notifications_app.application.email import email_event
from notifications_app.application.ports import (
    DeliveryQueue,
    DeliveryRepository,
    DeliveryTicket,
    EmailSettingsRepository,
    EndpointRepository,
    MailComposer,
    MailLog,
    MailSender,
    WebhookSender,
)
from notifications_app.domain.delivery import RetrySchedule
from tasks_app import correlation


@dataclass(frozen=True)
class MailWiring:
    """The ports an event's email needs."""

    settings: EmailSettingsRepository
    log: MailLog
    composer: MailComposer
    sender: MailSender


@dataclass(frozen=True)
class DeliveryWiring:
    """The ports a delivery needs, the clock, the retry schedule (tests shorten it), and the
    email's ports (None: events are not mailed)."""

    endpoints: EndpointRepository
    deliveries: DeliveryRepository
    queue: DeliveryQueue
    sender: WebhookSender
    clock: Callable[[], datetime]
    schedule: RetrySchedule = RetrySchedule()  # noqa: RUF009 - frozen, so one shared default is safe
    mail: MailWiring | None = None


def request_id_of(attributes: Mapping[str, Any] | None) -> str | None:
    """The `request_id` String attribute of an SQS message, as kombu (`StringValue`) or Lambda
    (`stringValue`) spell its attributes; None when it has none (SPEC §9)."""
    attribute = (attributes or {}).get("request_id") or {}
    value = attribute.get("StringValue") or attribute.get("stringValue")
    return str(value) if value else None


def handling(body: str | bytes | Mapping[str, Any], request_id: str | None) -> AbstractContextManager[None]:
    """Within the block, every log line carries the id of the request that caused the event
    (SPEC §9: it travels into the webhook sender's lines) and, for an event, its id."""
    event_id = None
    try:
        message = parse_queue_message(body)
        event_id = message.delivery_id.split("-", 1)[-1] if isinstance(message, DeliveryTicket) else message["event_id"]
    except InvalidWebhookMessage:
        pass
    return correlation.bound(request_id=request_id, event_id=event_id)


def handle_webhooks_message(body: str | bytes | Mapping[str, Any], *, wiring: DeliveryWiring) -> None:
    """Handle one message of the webhooks queue: fan an event out to webhooks and mail it to its
    owner, or make a ticket's attempt.

    Raises `InvalidWebhookMessage` for a message that is neither (a poison message: the caller
    rejects it), and `DependencyUnavailable` in an outage (the queue delivers it again: the
    fan-out makes no delivery twice, and an event is mailed at most once, `email_event`).
    """
    message = parse_queue_message(body)
    if isinstance(message, DeliveryTicket):
        attempt_delivery(
            ticket=message,
            endpoints=wiring.endpoints,
            deliveries=wiring.deliveries,
            queue=wiring.queue,
            sender=wiring.sender,
            now=wiring.clock(),
            schedule=wiring.schedule,
        )
        return
    # The fan-out first: an outage of the mail service must not hold up the webhooks. When mailing
    # fails, the queue delivers the event again; the fan-out then makes no second delivery and
    # queues an attempt again only for a delivery none was made of (the attempt's own check
    # stops doubles), and the mail log sends the mail once.
    fan_out_event(
        message=message,
        endpoints=wiring.endpoints,
        deliveries=wiring.deliveries,
        queue=wiring.queue,
        now=wiring.clock(),
        schedule=wiring.schedule,
    )
    if wiring.mail is not None:
        email_event(
            message=message,
            repository=wiring.mail.settings,
            log=wiring.mail.log,
            composer=wiring.mail.composer,
            sender=wiring.mail.sender,
        )
