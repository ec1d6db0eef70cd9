"""What happens when an event arrives: the same for the Celery worker and the Lambda consumer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from events_app.events import ReceivedEvent, parse_message
from events_app.ports import HistoryStore, StatsStore

logger = logging.getLogger(__name__)


def handle_message(body: str | bytes | Mapping[str, Any], *, history: HistoryStore, stats: StatsStore) -> ReceivedEvent:
    """Parse a queue message and apply its event; raises `InvalidEventMessage` for a poison message.

    Every step is idempotent, so a redelivered message, or one delivered again after a
    failure halfway through, changes nothing that was already done.
    """
    event = parse_message(body)
    handle_event(event, history=history, stats=stats)
    return event


def handle_event(event: ReceivedEvent, *, history: HistoryStore, stats: StatsStore) -> None:
    recorded = history.record(event)
    counted = stats.apply(event)
    logger.info(
        "Applied %s",
        event.event_type,
        extra={"event_id": event.event_id, "task_id": event.aggregate_id, "new": recorded or counted},
    )
