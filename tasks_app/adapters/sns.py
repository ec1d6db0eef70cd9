"""The `EventPublisher` port on SNS: one message per event, in the SPEC §4 format."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tasks_app import correlation
from tasks_app.application.ports import PUBLISH_BATCH_MAX, OutboxEntry

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef, PublishBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)


class SnsEventPublisher:
    """Publishes to one topic with PublishBatch; reports which entries SNS accepted.

    SNS accepts a publish to a topic that has no subscriber, and delivers it to nobody. A topic
    is only without one for the moment between its creation and its subscription: after a topic
    was deleted, while `provision` makes it again. So once SNS has said the topic does not exist,
    this publisher sends nothing more until the topic has a confirmed subscription again (one
    `ListSubscriptionsByTopic` per batch until then, none otherwise): the events wait in the
    outbox instead of going to nobody.
    """

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._topic_was_missing = False

    def publish(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        if len(entries) > PUBLISH_BATCH_MAX:
            raise ValueError(f"PublishBatch takes at most {PUBLISH_BATCH_MAX} entries, not {len(entries)}.")
        if not entries:
            return []
        if self._topic_was_missing and not self._subscribed():
            logger.warning("The topic has no subscriber yet; the events wait", extra={"event_ids": _ids(entries)})
            return []
        request = [sns_entry(str(index), entry) for index, entry in enumerate(entries)]
        try:
            response = self._client.publish_batch(TopicArn=self._topic_arn, PublishBatchRequestEntries=request)
        except (BotoCoreError, ClientError) as error:
            if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == "NotFound":
                self._topic_was_missing = True
            logger.warning("SNS did not accept a batch of events: %s", error, extra={"event_ids": _ids(entries)})
            return []
        for failure in response.get("Failed", []):
            refused = entries[int(failure["Id"])]
            with correlation.bound(request_id=refused.request_id, event_id=refused.event_id):
                logger.warning("SNS refused an event: %s %s", failure["Code"], failure.get("Message", ""))
        return [entries[int(success["Id"])] for success in response.get("Successful", [])]

    def _subscribed(self) -> bool:
        """Whether the topic has a confirmed subscription now; False when SNS cannot say."""
        try:
            listed = self._client.list_subscriptions_by_topic(TopicArn=self._topic_arn).get("Subscriptions", [])
        except (BotoCoreError, ClientError):
            return False
        if any(s.get("SubscriptionArn", "PendingConfirmation") != "PendingConfirmation" for s in listed):
            self._topic_was_missing = False
        return not self._topic_was_missing


def sns_entry(entry_id: str, entry: OutboxEntry) -> PublishBatchRequestEntryTypeDef:
    """The message, subject and filterable `event_type` attribute the SPEC promises subscribers
    (§4), and the `request_id` and `trace_header` of the request that caused the event (§9),
    each only when known: SNS refuses an empty attribute. With raw delivery SNS hands them to
    the queue as SQS message attributes (3 of the 10 SQS allows)."""
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        "event_type": {"DataType": "String", "StringValue": entry.event_type}
    }
    for name, value in (("request_id", entry.request_id), ("trace_header", entry.trace_header)):
        if value:
            attributes[name] = {"DataType": "String", "StringValue": value}
    return {
        "Id": entry_id,
        "Message": entry.message,
        "Subject": f"Domain Event: {entry.event_type}",
        "MessageAttributes": attributes,
    }


def _ids(entries: Sequence[OutboxEntry]) -> list[str]:
    return [entry.event_id for entry in entries]
