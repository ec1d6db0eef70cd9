"""Creates or updates the table, topic, queues (events, webhooks) and subscriptions; running it twice changes nothing.

Each `ensure_*` step (one module per AWS service) compares what exists with what should, acts
only on the difference, and reports it as a `Change`, so `provision` can print what it did (or,
with `dry_run`, would do).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from ops.provisioning.changes import Change
from ops.provisioning.dynamodb import ensure_table
from ops.provisioning.sns import ensure_subscription, ensure_topic
from ops.provisioning.sqs import dlq_attributes, ensure_queue, queue_attributes
from tasks_app.adapters.aws import AwsTarget


@dataclass(frozen=True)
class Resources:
    """Names of everything the API needs, as the settings give them."""

    table_name: str
    topic_arn: str
    queue_url: str
    visibility_timeout: int
    point_in_time_recovery: bool

    @property
    def topic_name(self) -> str:
        return self.topic_arn.rsplit(":", 1)[-1]

    @property
    def queue_name(self) -> str:
        return self.queue_url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.queue_name}-dlq"

    @property
    def webhooks_queue_name(self) -> str:
        """The webhooks queue (issue 14): the topic's events to fan out, and deliveries' attempts."""
        return f"{self.table_name}-webhooks"

    @property
    def webhooks_dead_letter_queue_name(self) -> str:
        return f"{self.webhooks_queue_name}-dlq"

    def queue_arn(self, queue_name: str) -> str:
        """A queue's ARN in the topic's partition, region and account (known before it exists)."""
        partition, region, account = self.topic_arn.split(":")[1:2] + self.topic_arn.split(":")[3:5]
        return f"arn:{partition}:sqs:{region}:{account}:{queue_name}"


def provision(target: AwsTarget, resources: Resources, *, dry_run: bool = False) -> list[Change]:
    """Create or update every resource of `resources`; returns one `Change` per resource.

    With `dry_run` nothing is changed and each change says what would be. Raises botocore's
    `ClientError` when AWS refuses a call, `OperationsError` when a setting cannot work.
    """
    sqs = target.client("sqs")
    changes = ensure_table(target.client("dynamodb"), resources, dry_run=dry_run)
    dlq_change, dlq_arn = ensure_queue(sqs, resources.dead_letter_queue_name, dlq_attributes(), dry_run=dry_run)
    queue_change, queue_arn = ensure_queue(
        sqs, resources.queue_name, queue_attributes(resources, dlq_arn), dry_run=dry_run
    )
    webhooks_dlq_change, webhooks_dlq_arn = ensure_queue(
        sqs, resources.webhooks_dead_letter_queue_name, dlq_attributes(), dry_run=dry_run
    )
    webhooks_change, webhooks_arn = ensure_queue(
        sqs, resources.webhooks_queue_name, queue_attributes(resources, webhooks_dlq_arn), dry_run=dry_run
    )
    topic_change = ensure_topic(target.client("sns"), resources, dry_run=dry_run)
    subscription_change = ensure_subscription(target.client("sns"), resources.topic_arn, queue_arn, dry_run=dry_run)
    webhooks_subscription = ensure_subscription(
        target.client("sns"), resources.topic_arn, webhooks_arn, dry_run=dry_run
    )
    return [
        *changes,
        dlq_change,
        queue_change,
        webhooks_dlq_change,
        webhooks_change,
        topic_change,
        subscription_change,
        webhooks_subscription,
    ]


def configured_resources() -> Resources:
    """The resources the Django settings name (SPEC §5): local ones in development, the stage's when deployed."""
    return Resources(
        table_name=settings.TABLE_NAME,
        topic_arn=settings.TOPIC_ARN,
        queue_url=settings.EVENTS_QUEUE_URL,
        visibility_timeout=settings.EVENTS_VISIBILITY_TIMEOUT,
        point_in_time_recovery=settings.ENVIRONMENT != "development",
    )
