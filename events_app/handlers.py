"""What happens when an event arrives: the same for the Celery worker and the Lambda consumer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from events_app.messages import ReceivedEvent, parse_message, peek_event_id
from events_app.ports import ReadModels
from tasks_app import correlation

logger = logging.getLogger(__name__)


def handling(body: str | bytes | Mapping[str, Any], attributes: Mapping[str, str]) -> AbstractContextManager[None]:
    """Within the block, every log line (the consumer's, the SDK's) carries the message's event
    id and the id of the request that caused it (SPEC §9), from its body and its `attributes`
    (`messages.message_attributes`); null request id for an event stored before they were kept.
    The consumers' entry points wrap each message in it, errors and their handling included."""
    return correlation.bound(
        request_id=attributes.get("request_id"),
        event_id=peek_event_id(body),
        trace_header=attributes.get("trace_header"),
    )


def handle_message(
    body: str | bytes | Mapping[str, Any], *, read_models: ReadModels, attributes: Mapping[str, str] | None = None
) -> ReceivedEvent:
    """Parse a queue message (SPEC §4) and its `attributes` (SPEC §9) and apply its event;
    returns the event.

    Raises `InvalidEventMessage` for a poison message (retrying cannot help: reject it), and lets
    storage errors through (retrying can: the queue delivers the message again). Applying is
    idempotent and independent of order, so a redelivered or late message is safe.
    """
    event = parse_message(body, attributes)
    applied = read_models.apply(event)
    logger.info(
        "Applied %s" if applied else "Already applied %s",
        event.event_type,
        extra={"event_id": event.event_id, "task_id": event.aggregate_id, "sequence": event.sequence},
    )
    return event
