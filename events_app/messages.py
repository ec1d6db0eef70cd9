"""Events as consumers receive them: SPEC §4 messages, checked before anything acts on them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tasks_app.domain.events import TaskCompleted, TaskCreated, TaskStatusChanged

# The text fields each event type must carry to be applied: the domain's event classes say
# which types exist and what they hold; a message from anywhere else is checked against them.
_REQUIRED_DATA = {
    TaskCreated.__name__: ("user_id", "task_title"),
    TaskStatusChanged.__name__: ("user_id", "old_status", "new_status"),
    TaskCompleted.__name__: ("user_id", "task_title"),
}
KNOWN_EVENT_TYPES = frozenset(_REQUIRED_DATA)


class InvalidEventMessage(ValueError):
    """A message that is not an event this consumer understands: retrying will not help."""


@dataclass(frozen=True)
class ReceivedEvent:
    """One domain event, parsed from its message."""

    event_id: str
    event_type: str
    aggregate_id: str
    timestamp: datetime
    sequence: int
    data: dict[str, Any]
    message: dict[str, Any]  # as received, for the history to show

    @property
    def day(self) -> date:
        """The UTC day the event happened on, which is the day it counts for in statistics."""
        return self.timestamp.date()

    def text(self, field: str) -> str:
        return str(self.data[field])


def parse_message(body: str | bytes | Mapping[str, Any]) -> ReceivedEvent:
    """The event in a queue message body; raises `InvalidEventMessage` for anything else."""
    try:
        message = json.loads(body) if isinstance(body, (str, bytes)) else dict(body)
    except ValueError as error:
        raise InvalidEventMessage(f"The body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise InvalidEventMessage("The body is not a JSON object.")
    event_type = _text(message, "event_type")
    if event_type not in KNOWN_EVENT_TYPES:
        raise InvalidEventMessage(f"Unknown event type {event_type!r}.")
    data = message.get("data")
    if not isinstance(data, dict):
        raise InvalidEventMessage("`data` is not an object.")
    for field in _REQUIRED_DATA[event_type]:
        _text(data, field)
    sequence = data.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise InvalidEventMessage("`data.sequence` is not a positive whole number.")
    timestamp = _text(message, "timestamp")
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        raise InvalidEventMessage(f"`timestamp` {timestamp!r} is not ISO 8601.") from None
    if moment.utcoffset() is None:
        raise InvalidEventMessage("`timestamp` has no time zone.")
    return ReceivedEvent(
        event_id=_text(message, "event_id"),
        event_type=event_type,
        aggregate_id=_text(message, "aggregate_id"),
        timestamp=moment,
        sequence=sequence,
        data=data,
        message=message,
    )


def _text(container: Mapping[str, Any], field: str) -> str:
    value = container.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidEventMessage(f"`{field}` is missing or not text.")
    return value
