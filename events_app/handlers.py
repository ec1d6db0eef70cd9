"""What happens when an event arrives: the same for the Celery worker and the Lambda consumer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from events_app.messages import ReceivedEvent, parse_message
from events_app.ports import ReadModels

logger = logging.getLogger(__name__)


def handle_message(body: str | bytes | Mapping[str, Any], *, read_models: ReadModels) -> ReceivedEvent:
    """Parse a queue message (SPEC §4) and apply its event; returns the event.

    Raises `InvalidEventMessage` for a poison message (retrying cannot help: reject it), and lets
    storage errors through (retrying can: the queue delivers the message again). Applying is
    idempotent and independent of order, so a redelivered or late message is safe.
    """
    event = parse_message(body)
    applied = read_models.apply(event)
    logger.info(
        "Applied %s" if applied else "Already applied %s",
        event.event_type,
        extra={"event_id": event.event_id, "task_id": event.aggregate_id, "sequence": event.sequence},
    )
    return event
