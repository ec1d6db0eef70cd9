"""`provision`: create or update the table, topic, queues and subscription the API needs."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings

from tasks_app import bootstrap
from tasks_app.infrastructure.provisioning import Resources, provision
from tasks_app.management.base import AwsCommand


def configured_resources() -> Resources:
    return Resources(
        table_name=settings.TABLE_NAME,
        topic_arn=settings.TOPIC_ARN,
        queue_url=settings.EVENTS_QUEUE_URL,
        visibility_timeout=settings.EVENTS_VISIBILITY_TIMEOUT,
        point_in_time_recovery=settings.ENVIRONMENT != "development",
        lambda_consumers=settings.ENVIRONMENT != "development",
    )


class Command(AwsCommand):
    help = (
        "Create or update the DynamoDB table, SNS topic, SQS queue, dead-letter queue and "
        "subscription named by the settings, at the configured AWS endpoint. Safe to run again: "
        "it changes only what differs and prints what it did."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        target = bootstrap.aws_target()
        self.stdout.write(f"Provisioning at {target.endpoint_url or f'AWS {target.region}'}:")
        for change in provision(target, configured_resources(), dry_run=options["dry_run"]):
            self.stdout.write(f"  {change}")
