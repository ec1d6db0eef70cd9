"""`outbox_list`: the events stored with their tasks and not yet published."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from tasks_app import bootstrap
from tasks_app.management.base import AwsCommand, counted


class Command(AwsCommand):
    help = (
        "List the events waiting in the outbox: each task's in order, with how long they have "
        "waited and the id of the request that caused them (when known). The stream relay publishes "
        "events within a second of the write; what waits here longer was missed (SNS down, the relay "
        "stopped) and is published by the sweeper, or at once "
        "by `relay_outbox`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--most", type=int, default=100, help="Read at most this many from each shard.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = bootstrap.utc_now()
        entries = bootstrap.outbox().pending(limit=options["most"])
        for entry in entries:
            waited = f"{(now - entry.stored_at).total_seconds():8.1f} s" if entry.stored_at else "       ? s"
            request = f"  request {entry.request_id}" if entry.request_id else ""  # SPEC §9: what caused it
            self.stdout.write(
                f"{waited}  {entry.task_id}  #{entry.sequence:<3} {entry.event_type:<18} {entry.event_id}{request}"
            )
        self.stdout.write(f"{counted(len(entries), 'event')} waiting.")
