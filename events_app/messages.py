"""Events as consumers receive them: SPEC §4 messages, checked before anything acts on them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tasks_app.domain.events import (
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskDueSoon,
    TaskOverdue,
    TaskRestored,
    TaskStatusChanged,
    TaskUpdated,
)
from tasks_app.domain.values import TaskStatus

# The text fields each event type must carry to be applied (SPEC §1): the domain's event classes
# say which types exist and what they hold; a message from anywhere else is checked against them.
# `TaskCreated`'s `priority`, `due_at` and `tags` are not required: nothing here acts on them,
# and creations recorded before they existed (still in an outbox or a DLQ) carry none.
_REQUIRED_TEXT = {
    TaskCreated.__name__: ("user_id", "task_title"),
    TaskUpdated.__name__: ("user_id",),
    TaskStatusChanged.__name__: ("user_id", "old_status", "new_status"),
    TaskCompleted.__name__: ("user_id", "task_title"),
    TaskDeleted.__name__: ("user_id", "task_title"),
    TaskRestored.__name__: ("user_id", "task_title"),
    # The due-date reminders (issue 14): history only, they move no statistic.
    TaskDueSoon.__name__: ("user_id", "task_title", "due_at"),
    TaskOverdue.__name__: ("user_id", "task_title", "due_at"),
}
KNOWN_EVENT_TYPES = frozenset(_REQUIRED_TEXT)
_STATUSES = frozenset(status.value for status in TaskStatus)


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
    # The request that caused the event and its X-Ray trace header (SPEC §9), from the message's
    # attributes; None for an event stored before they were kept, or a message sent by hand.
    request_id: str | None = None
    trace_header: str | None = None

    @property
    def day(self) -> date:
        """The UTC day the event happened on, which is the day it counts for in statistics."""
        return self.timestamp.astimezone(UTC).date()

    def text(self, field: str) -> str:
        """A text field of `data`; `parse_message` has checked the ones its event type requires."""
        return str(self.data[field])


def message_attributes(raw: Mapping[str, Any] | None) -> dict[str, str]:
    """The text message attributes of a queue message, by name: from SQS's `ReceiveMessage`
    (`MessageAttributes`, `{"StringValue": …}`, what kombu hands the worker) or from Lambda's SQS
    event (`messageAttributes`, `{"stringValue": …}`). Others (binary, malformed) are left out;
    raises nothing."""
    found: dict[str, str] = {}
    for name, value in (raw or {}).items():
        if isinstance(value, Mapping):
            text = value.get("StringValue", value.get("stringValue"))
            if isinstance(text, str) and text:
                found[str(name)] = text
    return found


def peek_event_id(body: str | bytes | Mapping[str, Any]) -> str | None:
    """The `event_id` a message body names, even one that is not an event this consumer can
    apply (so that the lines about a poison message name it too); None if it names none. Raises
    nothing."""
    try:
        message = json.loads(body) if isinstance(body, (str, bytes)) else body
    except ValueError:
        return None
    event_id = message.get("event_id") if isinstance(message, Mapping) else None
    return event_id if isinstance(event_id, str) and event_id else None


def parse_message(body: str | bytes | Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> ReceivedEvent:
    """The event in a queue message body (SPEC §4), with the `request_id` and `trace_header` of
    its `attributes` (`message_attributes`, SPEC §9) when it has them. Raises
    `InvalidEventMessage` for anything else: not a JSON object, an unknown event type, a required
    field missing or malformed, a status that SPEC §1 does not have, a `sequence` that is not a
    positive whole number."""
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
    for field in _REQUIRED_TEXT[event_type]:
        _text(data, field)
    _check_specific_fields(event_type, data)
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
        request_id=(attributes or {}).get("request_id"),
        trace_header=(attributes or {}).get("trace_header"),
    )


def _check_specific_fields(event_type: str, data: Mapping[str, Any]) -> None:
    """The checks beyond "is text": statuses the statistics count by, an update's changes."""
    if event_type == TaskStatusChanged.__name__:
        for field in ("old_status", "new_status"):
            if data[field] not in _STATUSES:
                raise InvalidEventMessage(f"`data.{field}` {data[field]!r} is not a status of SPEC §1.")
    if event_type == TaskUpdated.__name__:
        changes = data.get("changes")
        # An update records only fields that changed, so it has at least one (SPEC §1).
        if not isinstance(changes, dict) or not changes:
            raise InvalidEventMessage("`data.changes` is missing or not a non-empty object.")
        for field, change in changes.items():
            if not isinstance(change, dict) or set(change) != {"old", "new"}:
                raise InvalidEventMessage(f"`data.changes.{field}` is not an object of `old` and `new`.")


def _text(container: Mapping[str, Any], field: str) -> str:
    value = container.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidEventMessage(f"`{field}` is missing or not text.")
    return value
