"""`queue_status`: how many events wait on the events queue and on its dead-letter queue."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ops import queues
from ops.management.base import OpsCommand
from tasks_app import bootstrap


class Command(OpsCommand):
    help = "Show the depth of the events queue and of its dead-letter queue (waiting, in flight, delayed)."

    def handle(self, *args: Any, **options: Any) -> None:
        sqs = bootstrap.aws_target().client("sqs")
        self.stdout.write(f"{'queue':<32} {'waiting':>8} {'in flight':>10} {'delayed':>8}")
        for url in (settings.EVENTS_QUEUE_URL, settings.EVENTS_DLQ_URL):
            depth = queues.depth(sqs, url)
            self.stdout.write(f"{depth.name:<32} {depth.waiting:>8} {depth.in_flight:>10} {depth.delayed:>8}")
