"""The Celery worker's entry point: a consumer of the raw event messages on the events queue.

SNS delivers raw JSON, not Celery task messages, so a bootstep consumes the queue directly.
A failure never leaves the callback (kombu's SQS transport would crash the worker): the
message is rejected instead, SQS delivers it again after the visibility timeout, and moves
it to the dead-letter queue after three deliveries.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from kombu.entity import Queue
from kombu.message import Message
from kombu.messaging import Consumer

from events_app.handlers import handle_message, handling
from events_app.messages import InvalidEventMessage, message_attributes
from tasks_app import tracing
from tasks_app.adapters import metrics

logger = logging.getLogger(__name__)


class DomainEventConsumer(bootsteps.ConsumerStep):
    """Applies each event on the events queue to the read models; acks only what was applied."""

    def get_consumers(self, channel: Any) -> list[Consumer]:
        from django.conf import settings

        queue = Queue(settings.EVENTS_QUEUE_NAME, no_declare=True)
        return [Consumer(channel, queues=[queue], callbacks=[self.on_message], accept=None, no_ack=False)]

    def on_message(self, body: Any, message: Message) -> None:
        from events_app import bootstrap

        # The SQS message as kombu received it (settings ask it for the attributes SPEC §9 sends).
        attributes = message_attributes(message.delivery_info.get("sqs_message", {}).get("MessageAttributes"))
        with handling(body, attributes):
            try:
                # The segment continues the trace of the request that caused the event.
                with tracing.continued_trace(attributes.get("trace_header"), name=tracing.CONSUMER_SEGMENT):
                    event = handle_message(body, read_models=bootstrap.read_models(), attributes=attributes)
            except InvalidEventMessage as error:
                logger.error("Poison message, rejected: %s", error, extra={"body": str(body)[:1000]})
                metrics.record_consumer_failure()
                _settle(message, ack=False)
            except Exception:
                logger.exception(
                    "Could not apply an event; it will be delivered again", extra={"body": str(body)[:1000]}
                )
                metrics.record_consumer_failure()
                _settle(message, ack=False)
            else:
                metrics.record_event_consumed(event.timestamp)
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
