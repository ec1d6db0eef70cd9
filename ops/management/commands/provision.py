"""`provision`: create or update what the API needs: locally from the settings, or for a Zappa stage."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from ops.management.base import OpsCommand
from ops.provisioning.changes import Change
from ops.provisioning.resources import configured_resources, provision
from ops.provisioning.ses import ensure_local_ses
from ops.provisioning.stage import provision_stage
from ops.provisioning.zappa_stage import load_stage
from tasks_app import bootstrap
from tasks_app.adapters.aws import AwsTarget
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "Create or update the DynamoDB table, SNS topic, SQS queue, dead-letter queue and "
        "subscription named by the settings, at the configured AWS endpoint (at a local AWS, also SES's sender "
        "identity, EMAIL_FROM, and configuration set). With --stage, do it "
        "for that stage of zappa_settings.json in AWS, and add what Zappa does not create: the "
        "stage's least-privilege role, point-in-time recovery, every trigger of the function on its SnapStart "
        "alias (the events queue, the table's stream with its failure queue, the schedules of the "
        "outbox sweeper and of the reminder sweep), "
        "SES's sender identity and configuration set when the stage sets EMAIL_FROM, "
        "the API's usage plan and key, API Gateway's own error answers in the SPEC envelope "
        "(then a deployment of the stage), the CloudWatch alarms and the stage's dashboard. It refuses settings "
        "that still hold placeholders or name another account. Safe to run again: it changes only what "
        "differs and prints what it did."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")
        parser.add_argument("--stage", help="A stage of zappa_settings.json (dev, staging, production).")
        parser.add_argument(
            "--settings-file",
            type=Path,
            default=Path(settings.BASE_DIR) / "zappa_settings.json",
            help="The Zappa settings to read the stage from (default: zappa_settings.json at the project root).",
        )
        parser.add_argument(
            "--endpoint-url",
            help="With --stage: provision at this AWS endpoint (a local AWS) instead of AWS itself.",
        )
        parser.add_argument(
            "--alarm-topic-arn",
            default=os.environ.get("ALARM_TOPIC_ARN") or None,
            help="With --stage: an SNS topic the alarms notify (default: $ALARM_TOPIC_ARN; none if unset).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        if options["stage"] is None:
            target = bootstrap.aws_target()
            self.stdout.write(f"Provisioning at {target.endpoint_url or f'AWS {target.region}'}:")
            changes = provision(target, configured_resources(), dry_run=dry_run)
            if target.endpoint_url:  # a local AWS: the sender the settings name (deployed: --stage's EMAIL_FROM)
                changes += ensure_local_ses(target, dry_run=dry_run)
            self._report(changes, dry_run=dry_run)
            return
        stage = load_stage(options["settings_file"], options["stage"])
        endpoint_url: str | None = options["endpoint_url"]
        if endpoint_url is None and settings.AWS_ENDPOINT_URL:
            raise CommandError(
                f"These settings point at a local AWS ({settings.AWS_ENDPOINT_URL}) and give boto3 its fake "
                f"credentials. To provision stage {stage.name} in AWS, run with AWS_ENDPOINT_URL= (empty); "
                "to provision it at a local AWS, pass --endpoint-url."
            )
        target = AwsTarget(region=stage.region, endpoint_url=endpoint_url)
        self.stdout.write(f"Provisioning stage {stage.name} at {endpoint_url or f'AWS {stage.region}'}:")
        topic: str | None = options["alarm_topic_arn"]
        if topic is not None:
            _check_alarm_topic(target, topic)
        changes = provision_stage(target, stage, alarm_actions=[topic] if topic else [], dry_run=dry_run)
        self._report(changes, dry_run=dry_run)
        if topic is None:
            self.stdout.write(
                self.style.WARNING(
                    "No alarm topic (--alarm-topic-arn or ALARM_TOPIC_ARN): alarms made by this run notify nobody, "
                    "and existing ones keep the actions they have. Give the SNS topic your on-call subscribes to."
                )
            )
        if any(change.action == "absent" for change in changes):
            self.stdout.write(
                f"Some resources need the deployed stage: run `python manage.py provision --stage {stage.name}` "
                f"again after `zappa deploy {stage.name}`."
            )

    def _report(self, changes: list[Change], *, dry_run: bool) -> None:
        width = max([28, *(len(change.name) for change in changes)])
        for change in changes:
            self.stdout.write(f"  {change.line(width)}")
        changed = sum(change.action.removeprefix("would be ") in {"created", "updated"} for change in changes)
        if dry_run:
            self.stdout.write(f"Dry run: {counted(changed, 'change')} planned, none made.")
        elif changed:
            self.stdout.write(f"Done: {counted(changed, 'change')} made.")
        else:
            self.stdout.write("Nothing to change: everything was already in place.")


def _check_alarm_topic(target: AwsTarget, topic: str) -> None:
    """Refuse (CommandError) an alarm topic that does not exist where the stage's alarms are: an
    alarm pointing at it would page nobody, and CloudWatch accepts any ARN without a word."""
    from botocore.exceptions import ClientError

    try:
        target.client("sns").get_topic_attributes(TopicArn=topic)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"NotFound", "InvalidParameter"}:
            raise CommandError(
                f"The alarm topic {topic} does not exist in {target.region}: create it (aws sns create-topic) and "
                "subscribe your on-call to it, or give another with --alarm-topic-arn."
            ) from None
        raise CommandError(f"Could not check the alarm topic {topic}: {error}") from None
