"""The `EventPublisher` port on SNS: one message per event, in the SPEC §4 format."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tasks_app.application.ports import PublishFailed
from tasks_app.domain.events import DomainEvent

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

BATCH_SIZE = 10  # the most PublishBatch accepts


class SnsEventPublisher:
    """Publishes to one topic with PublishBatch, ten events a call, keeping their order."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, events: Sequence[DomainEvent]) -> None:
        for start in range(0, len(events), BATCH_SIZE):
            self._publish_batch(events[start : start + BATCH_SIZE])

    def _publish_batch(self, events: Sequence[DomainEvent]) -> None:
        entries = [sns_entry(str(index), event) for index, event in enumerate(events)]
        try:
            response = self._client.publish_batch(TopicArn=self._topic_arn, PublishBatchRequestEntries=entries)
        except (BotoCoreError, ClientError) as error:
            raise PublishFailed(f"SNS did not accept the events: {error}") from error
        if response.get("Failed"):
            reasons = "; ".join(f"{f['Code']}: {f.get('Message', '')}" for f in response["Failed"])
            raise PublishFailed(f"SNS rejected {len(response['Failed'])} of {len(entries)} events ({reasons})")


def sns_entry(entry_id: str, event: DomainEvent) -> PublishBatchRequestEntryTypeDef:
    """The message, subject and filterable `event_type` attribute the SPEC promises subscribers."""
    return {
        "Id": entry_id,
        "Message": json.dumps(event.to_message(), ensure_ascii=False),
        "Subject": f"Domain Event: {event.event_type}",
        "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event.event_type}},
    }
