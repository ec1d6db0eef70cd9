"""The Celery worker's consumer of the webhooks queue: the topic's events to mail and fan out, and
the attempts of deliveries (`notifications_app.handlers`), beside the events queue's consumer.

As for the events queue, a failure never leaves the callback: the message is rejected, SQS
delivers it again after the visibility timeout, and moves it to `<table>-webhooks-dlq` after
three receives.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from kombu.entity import Queue
from kombu.message import Message
from kombu.messaging import Consumer

from notifications_app.application.deliveries import InvalidWebhookMessage
from notifications_app.handlers import handle_webhooks_message, handling, request_id_of

logger = logging.getLogger(__name__)


class WebhookConsumer(bootsteps.ConsumerStep):
    """Handles each message of the webhooks queue; acks only what was handled."""

    def get_consumers(self, channel: Any) -> list[Consumer]:
        from django.conf import settings

        queue = Queue(settings.WEBHOOKS_QUEUE_NAME, no_declare=True)
        return [Consumer(channel, queues=[queue], callbacks=[self.on_message], accept=None, no_ack=False)]

    def on_message(self, body: Any, message: Message) -> None:
        from notifications_app import bootstrap

        # The SQS message as kombu received it (settings ask it for the attributes SPEC §9 sends).
        request_id = request_id_of(message.delivery_info.get("sqs_message", {}).get("MessageAttributes"))
        with handling(body, request_id):
            try:
                handle_webhooks_message(body, wiring=bootstrap.delivery_wiring())
            except InvalidWebhookMessage as error:
                logger.error("Poison message on the webhooks queue, rejected: %s", error)
                _settle(message, ack=False)
            except Exception:
                logger.exception("Could not handle a webhooks message; it will be delivered again")
                _settle(message, ack=False)
            else:
                _settle(message, ack=True)


def _settle(message: Message, *, ack: bool) -> None:
    """Ack or reject without letting an error escape: an unacked message comes back anyway."""
    try:
        if ack:
            message.ack()
        else:
            message.reject()
    except Exception:
        logger.exception("Could not %s a message; SQS will deliver it again", "ack" if ack else "reject")
