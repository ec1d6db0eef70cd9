"""The table's DynamoDB stream, as the relay reads it: the outbox inserts among its records.

A record is what Lambda's DynamoDB event source delivers in `event["Records"]` and what the
Streams API's `GetRecords` returns: `eventName`, and under `dynamodb` the `SequenceNumber` and,
with the stream's NEW_IMAGE view, the item as written (`NewImage`, typed attribute values). The
table's stream also carries every task, rate-counter, idempotency and read-model write; only an
outbox item's INSERT holds an event to publish (its REMOVE is the relay forgetting it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tasks_app.adapters.dynamodb.models import OutboxItem
from tasks_app.application.ports import OutboxEntry

logger = logging.getLogger(__name__)

OUTBOX_ITEM_TYPE = "OutboxEvent"  # OutboxItem's `Type`: what the event source's filter matches


@dataclass(frozen=True)
class ReportedEvent:
    """An outbox entry as the stream reported it, with the record's `SequenceNumber` (a decimal
    string, increasing within a shard), which a Lambda reports back for a record it failed."""

    sequence_number: str
    entry: OutboxEntry


def reported_events(records: Iterable[Any]) -> list[ReportedEvent]:
    """The outbox entries inserted by `records`, in the records' order, each event once; every
    other record is skipped. A record that is not the shape DynamoDB sends, or an outbox image
    that is not a valid entry, is logged and skipped: retrying its record could not fix it, and
    an outbox item stays in the outbox for the sweeper and an operator. Raises nothing."""
    reported: list[ReportedEvent] = []
    seen: set[str] = set()
    for record in records:
        try:
            event = _reported_event(record)
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.exception("A stream record is not an outbox event", extra={"record": str(record)[:500]})
            continue
        if event is not None and event.entry.event_id not in seen:  # a batch may repeat a record
            seen.add(event.entry.event_id)
            reported.append(event)
    return reported


def _reported_event(record: Mapping[str, Any]) -> ReportedEvent | None:
    if record.get("eventName") != "INSERT":
        return None
    change = record["dynamodb"]
    image = change.get("NewImage") or {}
    if image.get("Type", {}).get("S") != OUTBOX_ITEM_TYPE:
        return None
    entry = OutboxItem.from_raw_data(dict(image)).to_entry()
    return ReportedEvent(sequence_number=str(change["SequenceNumber"]), entry=entry)
