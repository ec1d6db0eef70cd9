"""`dlq_list`: the messages that failed too often and wait in a dead-letter queue (events or webhooks)."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from ops import queues
from ops.management.base import OpsCommand
from tasks_app import bootstrap
from tasks_app.management.base import counted

# SQS has no peek: reading a message is receiving it, and that is counted (ops.queues.dead_letters).
COUNTING_NOTE = (
    "Listing receives each message once, which SQS counts: the receive counts shown include "
    "the worker's receives, every earlier listing's, and this one."
)


class Command(OpsCommand):
    help = (
        "List the messages in the events (or, with --queue webhooks, the webhooks) dead-letter queue "
        "without removing them: id, receive count, "
        "the id of the request that caused it (when known) and the event. SQS cannot read a message "
        "without counting a receive, so each listing adds one to every count it shows (harmless here: "
        "the dead-letter queue sends nothing on). "
        "`dlq_redrive` puts them back on their queue."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--most", type=int, default=100, help="List at most this many.")
        parser.add_argument("--queue", choices=queues.QUEUE_NAMES, default="events", help="Whose dead letters.")
        parser.add_argument(
            "--json",
            action="store_true",
            help="One JSON object per message; its receive_count includes this listing's receive.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sqs = bootstrap.aws_target().client("sqs")
        letters = queues.dead_letters(sqs, queues.queue_pair(options["queue"]).dlq_url, most=options["most"])
        for letter in letters:
            if options["json"]:
                self.stdout.write(
                    json.dumps({**letter.__dict__, "first_received_at": letter.first_received_at}, ensure_ascii=False)
                )
            else:
                # The request id leads to everything its request caused: `request_trail`, or zappa tail's filter.
                request = f"request {letter.request_id}  " if letter.request_id else ""
                self.stdout.write(
                    f"{letter.message_id}  received {letter.receive_count}x since {letter.first_received_at or '?'}  "
                    f"{request}{letter.body[:200]}"
                )
        if not options["json"]:
            self.stdout.write(f"{counted(len(letters), 'dead letter')}.")
            if letters:
                self.stdout.write(COUNTING_NOTE)
