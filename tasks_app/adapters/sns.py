"""The `EventPublisher` port on SNS: one message per event, in the SPEC §4 format."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tasks_app.application.ports import PUBLISH_BATCH_MAX, OutboxEntry

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)


class SnsEventPublisher:
    """Publishes to one topic with PublishBatch; reports which entries SNS accepted."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        if len(entries) > PUBLISH_BATCH_MAX:
            raise ValueError(f"PublishBatch takes at most {PUBLISH_BATCH_MAX} entries, not {len(entries)}.")
        if not entries:
            return []
        request = [sns_entry(str(index), entry) for index, entry in enumerate(entries)]
        try:
            response = self._client.publish_batch(TopicArn=self._topic_arn, PublishBatchRequestEntries=request)
        except (BotoCoreError, ClientError) as error:
            logger.warning("SNS did not accept a batch of events: %s", error, extra={"event_ids": _ids(entries)})
            return []
        for failure in response.get("Failed", []):
            logger.warning(
                "SNS refused an event: %s %s",
                failure["Code"],
                failure.get("Message", ""),
                extra={"event_id": entries[int(failure["Id"])].event_id},
            )
        return [entries[int(success["Id"])] for success in response.get("Successful", [])]


def sns_entry(entry_id: str, entry: OutboxEntry) -> PublishBatchRequestEntryTypeDef:
    """The message, subject and filterable `event_type` attribute the SPEC promises subscribers."""
    return {
        "Id": entry_id,
        "Message": entry.message,
        "Subject": f"Domain Event: {entry.event_type}",
        "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": entry.event_type}},
    }


def _ids(entries: Sequence[OutboxEntry]) -> list[str]:
    return [entry.event_id for entry in entries]
