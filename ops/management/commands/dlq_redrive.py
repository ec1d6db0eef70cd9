"""`dlq_redrive`: put dead letters back on their queue (events or webhooks), to be processed again."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from ops import queues
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted


class Command(OpsCommand):
    help = (
        "Move messages from the events (or, with --queue webhooks, the webhooks) dead-letter queue back "
        "to its queue: all of them "
        "(--all) or the ones named (--message-id, as `dlq_list` prints them). Fix what made them "
        "fail first, or they come back after three more deliveries."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="Every dead letter.")
        which.add_argument("--message-id", action="append", dest="message_ids", help="This one (repeatable).")
        parser.add_argument("--queue", choices=queues.QUEUE_NAMES, default="events", help="Whose dead letters.")

    def handle(self, *args: Any, **options: Any) -> None:
        sqs = bootstrap.aws_target().client("sqs")
        wanted = None if options["all"] else set(options["message_ids"])
        pair = queues.queue_pair(options["queue"])
        moved = queues.redrive(sqs, pair.dlq_url, pair.url, message_ids=wanted)
        for message_id in moved:
            self.stdout.write(f"moved {message_id}")
        self.stdout.write(f"{counted(len(moved), 'dead letter')} moved back to {pair.name}.")
        if wanted is not None and (missing := wanted - set(moved)):
            raise CommandError(f"Not in the dead-letter queue: {', '.join(sorted(missing))}")
