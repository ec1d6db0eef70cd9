"""The events topic, and the queue's raw-delivery subscription to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ops.errors import OperationsError
from ops.provisioning.changes import Change, act

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient

    from ops.provisioning.resources import Resources


def ensure_topic(client: SNSClient, resources: Resources, *, dry_run: bool) -> Change:
    try:
        client.get_topic_attributes(TopicArn=resources.topic_arn)
        return Change("topic", resources.topic_name, "unchanged")
    except client.exceptions.NotFoundException:
        pass
    if not dry_run:
        arn = client.create_topic(Name=resources.topic_name)["TopicArn"]
        if arn != resources.topic_arn:
            raise OperationsError(
                f"TOPIC_ARN is {resources.topic_arn} but these credentials created {arn}: "
                "check the region and account in TOPIC_ARN."
            )
    return Change("topic", resources.topic_name, act("created", dry_run))


def ensure_subscription(client: SNSClient, topic_arn: str, queue_arn: str, *, dry_run: bool) -> Change:
    name = f"{topic_arn.rsplit(':', 1)[-1]} -> {queue_arn.rsplit(':', 1)[-1]}"
    subscription_arn = _find_subscription(client, topic_arn, queue_arn)
    if subscription_arn is None:
        if not dry_run:
            # Raw delivery: the queue receives the event JSON itself, not SNS's wrapper around it.
            client.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
            )
        return Change("subscription", name, act("created", dry_run), "raw message delivery")
    attributes = client.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    if attributes.get("RawMessageDelivery") == "true":
        return Change("subscription", name, "unchanged")
    if not dry_run:
        client.set_subscription_attributes(
            SubscriptionArn=subscription_arn, AttributeName="RawMessageDelivery", AttributeValue="true"
        )
    return Change("subscription", name, act("updated", dry_run), "raw message delivery")


def _find_subscription(client: SNSClient, topic_arn: str, queue_arn: str) -> str | None:
    try:
        for page in client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
            for subscription in page["Subscriptions"]:
                if subscription["Protocol"] == "sqs" and subscription["Endpoint"] == queue_arn:
                    return subscription["SubscriptionArn"]
    except client.exceptions.NotFoundException:  # a dry run before the topic exists
        pass
    return None
