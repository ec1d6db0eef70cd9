"""`queue_status`: how many messages wait on the events and webhooks queues and their dead-letter queues."""

from __future__ import annotations

from typing import Any

from ops import queues
from ops.management.base import OpsCommand
from tasks_app import bootstrap


class Command(OpsCommand):
    help = (
        "Show the depth of the events and webhooks queues and of their dead-letter queues (waiting, in "
        "flight, delayed: on the webhooks queue, delayed messages are deliveries' retries waiting their turn)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sqs = bootstrap.aws_target().client("sqs")
        self.stdout.write(f"{'queue':<32} {'waiting':>8} {'in flight':>10} {'delayed':>8}")
        pairs = [queues.queue_pair(name) for name in queues.QUEUE_NAMES]
        for url in (address for pair in pairs for address in (pair.url, pair.dlq_url)):
            depth = queues.depth(sqs, url)
            self.stdout.write(f"{depth.name:<32} {depth.waiting:>8} {depth.in_flight:>10} {depth.delayed:>8}")
