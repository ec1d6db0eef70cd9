"""The `DeliveryQueue` port on SQS: each attempt of a delivery is a message on the webhooks queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifications_app.application.deliveries import SQS_MAX_DELAY_SECONDS, ticket_body
from notifications_app.application.ports import DeliveryTicket
from tasks_app import correlation
from tasks_app.adapters.outages import reports_outages

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


@reports_outages("SQS")
class SqsDeliveryQueue:
    """Sends tickets to one queue, delayed by SQS (`DelaySeconds`, at most 900)."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, ticket: DeliveryTicket, *, delay_seconds: int) -> None:
        # The request that caused the event (or asked for a redelivery) travels with every
        # attempt, as it does with the event (SPEC §9), so the sender's log lines carry it.
        request_id = correlation.request_id()
        attributes: dict[str, MessageAttributeValueTypeDef] = (
            {"request_id": {"DataType": "String", "StringValue": request_id}} if request_id else {}
        )
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=ticket_body(ticket),
            DelaySeconds=max(0, min(SQS_MAX_DELAY_SECONDS, delay_seconds)),
            MessageAttributes=attributes,
        )
