"""Operating the events and webhooks queues and their dead-letter queues: depths, dead letters, redrive."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef, MessageTypeDef

_REDRIVE_HOLD_SECONDS = 30  # how long a dead letter stays hidden while it is being moved or listed
QUEUE_NAMES = ("events", "webhooks")  # the queues the commands' --queue option names


@dataclass(frozen=True)
class QueuePair:
    """A queue and its dead-letter queue, by URL."""

    url: str
    dlq_url: str

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def queue_pair(which: str) -> QueuePair:
    """The events queue (SPEC §4) or the webhooks queue (issue 14), as the settings name them."""
    from django.conf import settings

    if which == "webhooks":
        return QueuePair(settings.WEBHOOKS_QUEUE_URL, settings.WEBHOOKS_DLQ_URL)
    if which == "events":
        return QueuePair(settings.EVENTS_QUEUE_URL, settings.EVENTS_DLQ_URL)
    raise ValueError(f"No queue {which!r}: one of {', '.join(QUEUE_NAMES)}.")


@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting, being processed (in flight) and delayed."""

    name: str
    waiting: int
    in_flight: int
    delayed: int


@dataclass(frozen=True)
class DeadLetter:
    """A message that failed too often, as an operator needs to see it."""

    message_id: str
    receive_count: int
    first_received: str
    body: str
    request_id: str | None = None  # of the request that caused the event (SPEC §9), when it was sent with it

    @property
    def first_received_at(self) -> str:
        """When a consumer first received it, ISO 8601 UTC to the second ('' when SQS did not say);
        SQS gives milliseconds since the epoch."""
        if not self.first_received.isdigit():
            return ""
        return datetime.fromtimestamp(int(self.first_received) / 1000, UTC).isoformat(timespec="seconds")


def depth(sqs: SQSClient, queue_url: str) -> QueueDepth:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]  # type: ignore[arg-type]
    return QueueDepth(
        name=queue_url.rstrip("/").rsplit("/", 1)[-1],
        waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def dead_letters(sqs: SQSClient, dlq_url: str, *, most: int = 100) -> list[DeadLetter]:
    """Look at up to `most` dead letters without taking them; each one's receive count goes up by one.

    SQS cannot read a message without receiving it, and every receive counts (there is no peek,
    and a visibility timeout of 0 counts too): a dead letter's count includes the worker's
    receives, every earlier listing's and this one. Each message is received once: hidden while
    the rest are read, then made visible again at once. Receiving with no visibility timeout
    instead returns the same first ten again and again, counting them each time, and never
    reaches the others.
    """
    seen: dict[str, DeadLetter] = {}
    receipts: list[str] = []
    try:
        while len(seen) < most:
            # No more than are still wanted: a message received is a message counted.
            messages = _receive(sqs, dlq_url, hold_seconds=_REDRIVE_HOLD_SECONDS, at_most=min(10, most - len(seen)))
            if not messages:
                break
            for message in messages:
                receipts.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], _dead_letter(message))
    finally:
        _show_again(sqs, dlq_url, receipts)
    return list(seen.values())[:most]


def redrive(sqs: SQSClient, dlq_url: str, queue_url: str, *, message_ids: Collection[str] | None = None) -> list[str]:
    """Move dead letters back to the queue, all of them or those named; returns the ids moved.

    Each is sent to the queue before it is deleted from the dead-letter queue: a failure in
    between leaves a copy in both (the handlers are idempotent), never in neither.
    """
    moved: list[str] = []
    passed_over: list[tuple[str, str]] = []
    try:
        while True:
            messages = _receive(sqs, dlq_url, hold_seconds=_REDRIVE_HOLD_SECONDS)
            if not messages:
                return moved
            for message in messages:
                if message_ids is not None and message["MessageId"] not in message_ids:
                    passed_over.append((message["MessageId"], message["ReceiptHandle"]))
                    continue
                sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=message["Body"],
                    MessageAttributes=message.get("MessageAttributes", {}),
                )
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                moved.append(message["MessageId"])
            if message_ids is not None and set(message_ids) <= set(moved):
                return moved
    finally:
        _show_again(sqs, dlq_url, [receipt for _, receipt in passed_over])  # the others, visible again at once


def _show_again(sqs: SQSClient, queue_url: str, receipts: list[str]) -> None:
    """Make received messages visible again now, rather than when their hold ends.

    A message SQS cannot release (its receipt expired) simply reappears when its hold ends.
    """
    for start in range(0, len(receipts), 10):  # SQS takes at most ten entries a batch
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(number), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
            for number, receipt in enumerate(receipts[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def _receive(sqs: SQSClient, queue_url: str, *, hold_seconds: int, at_most: int = 10) -> list[MessageTypeDef]:
    return sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=at_most,
        VisibilityTimeout=hold_seconds,
        WaitTimeSeconds=0,
        AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def _dead_letter(message: MessageTypeDef) -> DeadLetter:
    attributes = message.get("Attributes", {})
    return DeadLetter(
        message_id=message["MessageId"],
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        first_received=str(attributes.get("ApproximateFirstReceiveTimestamp", "")),
        body=message["Body"],
        request_id=_text_attribute(message, "request_id"),
    )


def _text_attribute(message: MessageTypeDef, name: str) -> str | None:
    """A String message attribute's value, or None when the message has no such attribute."""
    attribute = message.get("MessageAttributes", {}).get(name)
    return attribute.get("StringValue") if attribute else None
