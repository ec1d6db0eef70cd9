"""The Lambda SQS event source that Zappa creates, and what it leaves out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ops.provisioning.changes import Change, act

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient


def ensure_batch_failure_reporting(client: LambdaClient, queue_arn: str, *, dry_run: bool) -> list[Change]:
    """Zappa creates the SQS event source without `ReportBatchItemFailures`. Without it Lambda
    ignores the failed message ids the consumer returns, and retries or drops whole batches."""
    mappings = client.list_event_source_mappings(EventSourceArn=queue_arn).get("EventSourceMappings", [])
    if not mappings:
        return [Change("event source", queue_arn.rsplit(":", 1)[-1], "absent", "deploy, then provision again")]
    changes = []
    for mapping in mappings:
        name = mapping.get("FunctionArn", "?").rsplit(":", 1)[-1]
        if "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []):
            changes.append(Change("event source", name, "unchanged", "ReportBatchItemFailures"))
            continue
        if not dry_run:
            client.update_event_source_mapping(UUID=mapping["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"])
        changes.append(Change("event source", name, act("updated", dry_run), "ReportBatchItemFailures"))
    return changes
