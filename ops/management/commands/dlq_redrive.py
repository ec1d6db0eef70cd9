"""`dlq_redrive`: put dead letters back on the events queue, to be processed again."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from ops import queues
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "Move messages from the events dead-letter queue back to the events queue: all of them "
        "(--all) or the ones named (--message-id, as `dlq_list` prints them). Fix what made them "
        "fail first, or they come back after three more deliveries."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="Every dead letter.")
        which.add_argument("--message-id", action="append", dest="message_ids", help="This one (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        sqs = bootstrap.aws_target().client("sqs")
        wanted = None if options["all"] else set(options["message_ids"])
        moved = queues.redrive(sqs, settings.EVENTS_DLQ_URL, settings.EVENTS_QUEUE_URL, message_ids=wanted)
        for message_id in moved:
            self.stdout.write(f"moved {message_id}")
        self.stdout.write(f"{counted(len(moved), 'dead letter')} moved back to {settings.EVENTS_QUEUE_NAME}.")
        if wanted is not None and (missing := wanted - set(moved)):
            raise CommandError(f"Not in the dead-letter queue: {', '.join(sorted(missing))}")
