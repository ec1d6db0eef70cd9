"""The `Outbox` port on DynamoDB: outbox items, one query per shard, deleted in batches."""

from __future__ import annotations

from collections.abc import Sequence

from tasks_app.adapters.dynamodb.models import OutboxItem
from tasks_app.adapters.outages import reports_outages
from tasks_app.application.ports import OutboxEntry
from tasks_app.domain.values import TaskId


@reports_outages("DynamoDB")
class DynamoOutbox:
    """Reads pending events by shard (all of a task's are in one, in order) and forgets published ones."""

    def pending(self, *, task_id: TaskId | None = None, limit: int) -> list[OutboxEntry]:
        if task_id is not None:
            items = OutboxItem.query(
                OutboxItem.shard_key(task_id),
                range_key_condition=OutboxItem.sk.startswith(OutboxItem.task_prefix(task_id)),
                consistent_read=True,
                limit=limit,
            )
            return [item.to_entry() for item in items]
        entries: list[OutboxEntry] = []
        for shard in OutboxItem.all_shard_keys():  # each shard its own limit: none is starved
            entries.extend(item.to_entry() for item in OutboxItem.query(shard, consistent_read=True, limit=limit))
        return entries

    def still_stored(self, events: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """One consistent BatchGetItem (PynamoDB splits it per 100 keys), keys only."""
        if not events:
            return set()
        keys = [(OutboxItem.shard_key(task), OutboxItem.item_key(task, sequence)) for task, sequence in events]
        found = OutboxItem.batch_get(
            keys, consistent_read=True, attributes_to_get=["PK", "SK", "AggregateId", "Sequence"]
        )
        return {(item.aggregate_id, int(item.sequence)) for item in found}

    def remove(self, entries: Sequence[OutboxEntry]) -> None:
        with OutboxItem.batch_write() as batch:
            for entry in entries:
                batch.delete(OutboxItem.from_entry(entry))
