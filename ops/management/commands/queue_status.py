"""`queue_status`: how many messages wait on the events and webhooks queues and their dead-letter queues."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from django.conf import settings

from ops import queues
from ops.management.base import OpsCommand
from ops.provisioning.changes import error_code
from ops.provisioning.sqs import stream_failures_queue_name
from tasks_app import bootstrap

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class Command(OpsCommand):
    help = (
        "Show the depth of the events and webhooks queues and of their dead-letter queues (waiting, in "
        "flight, delayed: on the webhooks queue, delayed messages are deliveries' retries waiting their turn). "
        "A deployed stage also has the stream relay's failure queue: what it holds, the outbox sweeper publishes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sqs = bootstrap.aws_target().client("sqs")
        self.stdout.write(f"{'queue':<32} {'waiting':>8} {'in flight':>10} {'delayed':>8}")
        pairs = [queues.queue_pair(name) for name in queues.QUEUE_NAMES]
        urls = [address for pair in pairs for address in (pair.url, pair.dlq_url)]
        if failures := _stream_failures_queue(sqs):
            urls.append(failures)
        for url in urls:
            depth = queues.depth(sqs, url)
            self.stdout.write(f"{depth.name:<32} {depth.waiting:>8} {depth.in_flight:>10} {depth.delayed:>8}")


def _stream_failures_queue(sqs: SQSClient) -> str | None:
    """The URL of `<table>-stream-failures`, which `provision --stage` makes for a deployed stage's
    stream relay; None where there is none (the local stack relays without Lambda)."""
    try:
        return sqs.get_queue_url(QueueName=stream_failures_queue_name(settings.TABLE_NAME))["QueueUrl"]
    except ClientError as error:
        if error_code(error) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            return None
        raise
