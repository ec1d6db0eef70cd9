"""What happens when an event arrives: the same for the Celery worker and the Lambda consumer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from events_app.messages import ReceivedEvent, parse_message
from events_app.ports import ReadModels

logger = logging.getLogger(__name__)


def handle_message(body: str | bytes | Mapping[str, Any], *, read_models: ReadModels) -> ReceivedEvent:
    """Parse a queue message and apply its event; raises `InvalidEventMessage` for a poison message.

    Applying is idempotent, so a redelivered message changes nothing.
    """
    event = parse_message(body)
    applied = read_models.apply(event)
    logger.info(
        "Applied %s" if applied else "Already applied %s",
        event.event_type,
        extra={"event_id": event.event_id, "task_id": event.aggregate_id, "sequence": event.sequence},
    )
    return event
