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


def reported_events(records: Iterable[Mapping[str, Any]]) -> list[ReportedEvent]:
    """The outbox entries inserted by `records`, in the records' order; every other record is
    skipped. An outbox image that is not a valid entry is logged and skipped: retrying its record
    could not fix it, and the item stays in the outbox for the sweeper and an operator."""
    reported = []
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        change = record.get("dynamodb") or {}
        image = change.get("NewImage") or {}
        if image.get("Type", {}).get("S") != OUTBOX_ITEM_TYPE:
            continue
        try:
            entry = OutboxItem.from_raw_data(dict(image)).to_entry()
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.exception("An outbox record of the stream is not an event", extra={"keys": change.get("Keys")})
            continue
        reported.append(ReportedEvent(sequence_number=str(change.get("SequenceNumber", "")), entry=entry))
    return reported
